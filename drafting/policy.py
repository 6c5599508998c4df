"""The auto-resolution decision (pure): every condition of DESIGN §7 must hold to auto-resolve."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Action = Literal["auto_resolve", "draft", "no_draft"]
CapMode = Literal["off", "suggest_only"]


@dataclass(frozen=True)
class TenantPolicy:
    autopilot_enabled: bool
    threshold: float
    intent_allowlist: frozenset[str] = field(default_factory=frozenset)
    spend_cap_reached: bool = False
    cap_mode: CapMode = "suggest_only"


@dataclass(frozen=True)
class TicketSignals:
    arm: str
    intent: str | None
    confidence: float
    out_of_scope: bool
    grounding_passed: bool
    guardrails: tuple[str, ...] = ()
    context_partial: bool = False


@dataclass(frozen=True)
class Decision:
    action: Action
    reasons: tuple[str, ...]
    """What blocks auto-resolution; empty exactly when the action is ``auto_resolve``."""


def decide(*, policy: TenantPolicy, ticket: TicketSignals) -> Decision:
    """Auto-resolve only when nothing blocks it; control tickets and an 'off' cap get no draft."""
    if ticket.arm != "assisted":
        return Decision("no_draft", ("control_arm" if ticket.arm == "control" else "unknown_arm",))
    reasons: list[str] = []
    if not policy.autopilot_enabled:
        reasons.append("autopilot_disabled")
    if ticket.intent is None or ticket.intent not in policy.intent_allowlist:
        reasons.append("intent_not_allowlisted")
    if ticket.out_of_scope:
        reasons.append("out_of_scope")
    # A NaN confidence fails this comparison too, as it must.
    if not (math.isfinite(ticket.confidence) and ticket.confidence >= policy.threshold):
        reasons.append("low_confidence")
    if not ticket.grounding_passed:
        reasons.append("grounding_failed")
    reasons.extend(f"guardrail:{name}" for name in ticket.guardrails)
    if ticket.context_partial:
        reasons.append("partial_context")
    if policy.spend_cap_reached:
        reasons.append("spend_cap_reached")
        if policy.cap_mode == "off":
            return Decision("no_draft", tuple(reasons))
    return Decision("draft" if reasons else "auto_resolve", tuple(reasons))
