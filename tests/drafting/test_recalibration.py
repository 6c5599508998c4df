"""The autopilot threshold follows the tenant's own outcomes once there are enough of them."""

import itertools
from datetime import timedelta

import pytest

from billing.models import Resolution
from drafting import repository
from drafting.calibration import NEVER
from drafting.models import Draft, DraftFeedback
from drafting.recalibration import draft_succeeded, recalibrate_threshold
from drafting.repository import DraftEvidence
from drafting.service import tenant_settings
from plugin.core.clock import FixedClock

TENANT, OTHER = 41, 42
TICKET_NUMBERS = itertools.count(1)


def add_draft(
    session,
    clock: FixedClock,
    *,
    confidence: float,
    action: str = "draft",
    tenant: int = TENANT,
    reasons: str = '["low_confidence"]',
) -> Draft:
    draft = Draft(
        tenant_id=tenant,
        ticket_id=f"t{next(TICKET_NUMBERS)}",
        message_id="m1",
        attempt=1,
        requester_id="r1",
        requester_email="r1@example.com",
        text="Your new card arrives within five working days of ordering it.",
        sentences="[]",
        citations="[]",
        intent="card_arrival",
        confidence=confidence,
        action=action,
        reasons="[]" if action == "auto_resolve" else reasons,
        grounded=True,
        ungrounded="[]",
        guardrails="[]",
        context='{"facts": [], "sources": []}',
        context_partial=False,
        drafter="embedded",
        prompt_version="embedded-v1",
        model="embedded",
        latency_ms=1.0,
        created_at=clock.now(),
    )
    repository.save(session, draft)
    return draft


def agent_did(session, clock: FixedClock, draft: Draft, *kinds: str, edit_distance: int = 40) -> None:
    for kind in kinds:
        repository.save(
            session,
            DraftFeedback(
                tenant_id=draft.tenant_id,
                draft_id=draft.id,
                kind=kind,
                edit_distance={"inserted": 0, "edited": edit_distance}.get(kind),
                rating=5 if kind == "rated" else None,
                created_at=clock.now(),
            ),
        )


def resolution(session, clock: FixedClock, draft: Draft, state: str) -> None:
    session.add(
        Resolution(
            tenant_id=draft.tenant_id,
            ticket_id=draft.ticket_id,
            draft_id=str(draft.id),
            state=state,
            resolved_at=clock.now(),
            window_ends_at=clock.now() + timedelta(hours=72),
            created_at=clock.now(),
        )
    )
    session.flush()


def trained_threshold(session, clock: FixedClock, threshold: float = 0.5) -> None:
    settings = tenant_settings(session, tenant_id=TENANT, clock=clock)
    settings.threshold = threshold
    session.flush()


def evidence(action="draft", agent_action=None, edit_distance=None, reasons='["low_confidence"]'):
    return DraftEvidence(
        7, 0.9, action, "[]" if action == "auto_resolve" else reasons, 100, agent_action, edit_distance
    )


def test_what_counts_as_success():
    stuck = {"7": True}
    assert draft_succeeded(evidence("auto_resolve"), stuck) is True
    assert draft_succeeded(evidence("auto_resolve"), {"7": False}) is False
    assert draft_succeeded(evidence("auto_resolve"), {}) is None  # still in its window
    assert draft_succeeded(evidence(agent_action="inserted", edit_distance=0), stuck) is True
    assert draft_succeeded(evidence(agent_action="edited", edit_distance=20), stuck) is True  # a signature
    assert draft_succeeded(evidence(agent_action="edited", edit_distance=21), stuck) is False  # rewritten
    assert draft_succeeded(evidence(agent_action="discarded"), stuck) is False
    assert draft_succeeded(evidence(), stuck) is None
    # Drafts a guardrail or the grounding check kept from autopilot say nothing about the threshold.
    for blocked in ('["guardrail:refund"]', '["low_confidence", "grounding_failed"]', '["out_of_scope"]'):
        assert draft_succeeded(evidence(agent_action="discarded", reasons=blocked), stuck) is None
    assert (
        draft_succeeded(evidence(agent_action="discarded", reasons='["autopilot_disabled"]'), stuck) is False
    )


def test_outcomes_move_the_threshold_to_where_drafts_actually_succeed(session, clock):
    trained_threshold(session, clock, 0.5)
    for step in range(300):
        confidence = round(step / 300, 4)
        draft = add_draft(session, clock, confidence=confidence)
        # Drafts at 0.8 and above were sent as they were; below, agents rewrote them.
        agent_did(session, clock, draft, "inserted" if confidence >= 0.8 else "discarded")
    result = recalibrate_threshold(session, tenant_id=TENANT, clock=clock)
    assert result.applied and result.outcomes == 300 and result.successes == 60
    assert result.threshold_before == 0.5
    assert result.threshold_after == result.choice.threshold == pytest.approx(0.8)
    assert result.choice.precision_lower >= 0.95
    assert tenant_settings(session, tenant_id=TENANT, clock=clock).threshold == pytest.approx(0.8)


def test_resolutions_that_did_not_stick_stop_autopilot(session, clock):
    trained_threshold(session, clock, 0.5)
    for step in range(250):
        draft = add_draft(session, clock, confidence=0.9 + step / 10_000, action="auto_resolve")
        # One in five came back: 80% precision can never meet a 95% target.
        resolution(session, clock, draft, "reversed" if step % 5 == 0 else "billed")
    result = recalibrate_threshold(session, tenant_id=TENANT, clock=clock)
    assert result.applied and result.outcomes == 250
    assert result.choice.status == "no_threshold_meets_target"
    assert result.threshold_after == NEVER


def test_too_few_outcomes_leave_the_trained_threshold(session, clock):
    trained_threshold(session, clock, 0.5)
    for step in range(50):
        agent_did(session, clock, add_draft(session, clock, confidence=step / 50), "discarded")
    result = recalibrate_threshold(session, tenant_id=TENANT, clock=clock)
    assert not result.applied and result.outcomes == 50
    assert result.threshold_after == 0.5


def test_only_settled_known_outcomes_of_this_tenant_count(session, clock):
    trained_threshold(session, clock, 0.5)
    pending = add_draft(session, clock, confidence=0.99, action="auto_resolve")
    resolution(session, clock, pending, "pending")
    add_draft(session, clock, confidence=0.98)  # the agent has not acted on it yet
    rated_only = add_draft(session, clock, confidence=0.97)
    agent_did(session, clock, rated_only, "rated")
    first_counts = add_draft(session, clock, confidence=0.96)
    agent_did(session, clock, first_counts, "rated", "inserted", "discarded")
    refund = add_draft(session, clock, confidence=0.955, reasons='["guardrail:refund"]')
    agent_did(session, clock, refund, "discarded")
    no_draft = add_draft(session, clock, confidence=0.95, action="no_draft")
    agent_did(session, clock, no_draft, "inserted")
    agent_did(session, clock, add_draft(session, clock, confidence=0.94, tenant=OTHER), "inserted")
    result = recalibrate_threshold(session, tenant_id=TENANT, clock=clock, min_outcomes=1)
    # The pending resolution and the unanswered, rated-only, refund and no-draft drafts give no outcome.
    assert (result.outcomes, result.successes) == (1, 1)
