"""Recalibrating the autopilot threshold on the tenant's own outcomes (DESIGN §7).

Training sets the first threshold from labelled tickets. Once drafts have outcomes, those decide. The
evidence is the drafts that only confidence could have kept from auto-resolution (no guardrail, grounded,
in scope, intent allowlisted...): they are the tickets the threshold actually chooses between. Such a draft
succeeded when its auto-resolution stuck, or when the agent sent it as it was or with a touch of their own
(at most ``COSMETIC_EDIT_SHARE`` of the text changed: a greeting, a signature); it failed when the
resolution was cancelled or reversed, the agent discarded it or rewrote more. The threshold is then the
lowest confidence whose exact lower 95% bound of success among drafts at or above it meets the tenant's
target, so autopilot follows what happens on the tenant's tickets, up or down. Too few outcomes say
little: below ``MIN_OUTCOMES`` the threshold stays where training put it.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from billing import service as billing_service
from drafting import repository
from drafting.calibration import ThresholdChoice, choose_threshold, expected_calibration_error
from drafting.repository import DraftEvidence
from drafting.service import tenant_settings
from plugin.core.clock import Clock

MIN_OUTCOMES = 200
COSMETIC_EDIT_SHARE = 0.2
# What may block a draft that the threshold alone decides about: autopilot off, or the spend cap.
THRESHOLD_ONLY_REASONS = frozenset({"low_confidence", "autopilot_disabled", "spend_cap_reached"})


@dataclass(frozen=True)
class Recalibration:
    outcomes: int
    successes: int
    ece: float
    """Calibration error of the drafts' confidence against their outcomes."""
    choice: ThresholdChoice
    applied: bool
    threshold_before: float
    threshold_after: float


def draft_succeeded(evidence: DraftEvidence, stuck: Mapping[str, bool]) -> bool | None:
    """Whether the draft resolved its ticket; None when it is not evidence or nobody knows yet."""
    if not set(json.loads(evidence.reasons)) <= THRESHOLD_ONLY_REASONS:
        return None
    if evidence.action == "auto_resolve":
        return stuck.get(str(evidence.draft_id))
    if evidence.agent_action == "inserted":
        return True
    if evidence.agent_action == "edited":
        changed = evidence.edit_distance if evidence.edit_distance is not None else evidence.text_length
        return changed <= COSMETIC_EDIT_SHARE * max(evidence.text_length, 1)
    if evidence.agent_action == "discarded":
        return False
    return None


def recalibrate_threshold(
    session: Session, *, tenant_id: int, clock: Clock, min_outcomes: int = MIN_OUTCOMES
) -> Recalibration:
    """Choose the tenant's threshold from its drafts' outcomes once there are enough of them."""
    settings = tenant_settings(session, tenant_id=tenant_id, clock=clock)
    stuck = billing_service.resolutions_that_stuck(session, tenant_id=tenant_id)
    confidences: list[float] = []
    successes: list[bool] = []
    for evidence in repository.draft_outcome_evidence(session, tenant_id):
        succeeded = draft_succeeded(evidence, stuck)
        if succeeded is not None:
            confidences.append(evidence.confidence)
            successes.append(succeeded)
    choice = choose_threshold(confidences, successes, target_precision=settings.target_precision)
    before = settings.threshold
    applied = len(confidences) >= min_outcomes
    if applied:
        settings.threshold = choice.threshold
        settings.updated_at = clock.now()
        session.flush()
    return Recalibration(
        outcomes=len(confidences),
        successes=sum(successes),
        ece=expected_calibration_error(confidences, successes),
        choice=choice,
        applied=applied,
        threshold_before=before,
        threshold_after=settings.threshold,
    )
