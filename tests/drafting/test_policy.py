from dataclasses import replace

import pytest

from drafting.policy import Decision, TenantPolicy, TicketSignals, decide

POLICY = TenantPolicy(autopilot_enabled=True, threshold=0.8, intent_allowlist=frozenset({"card_arrival"}))
TICKET = TicketSignals(
    arm="assisted", intent="card_arrival", confidence=0.93, out_of_scope=False, grounding_passed=True
)


def test_all_conditions_met_auto_resolves():
    assert decide(policy=POLICY, ticket=TICKET) == Decision("auto_resolve", ())


def test_control_arm_ticket_never_gets_a_draft_or_auto_resolution():
    decision = decide(policy=POLICY, ticket=replace(TICKET, arm="control"))
    assert decision == Decision("no_draft", ("control_arm",))


def test_unknown_arm_is_not_treated_as_assisted():
    assert decide(policy=POLICY, ticket=replace(TICKET, arm="")).action == "no_draft"


@pytest.mark.parametrize(
    ("policy", "ticket", "reason"),
    [
        (replace(POLICY, autopilot_enabled=False), TICKET, "autopilot_disabled"),
        (POLICY, replace(TICKET, intent="refund_request"), "intent_not_allowlisted"),
        (POLICY, replace(TICKET, intent=None), "intent_not_allowlisted"),
        (POLICY, replace(TICKET, out_of_scope=True), "out_of_scope"),
        (POLICY, replace(TICKET, confidence=0.79), "low_confidence"),
        (POLICY, replace(TICKET, confidence=float("nan")), "low_confidence"),
        (POLICY, replace(TICKET, grounding_passed=False), "grounding_failed"),
        (POLICY, replace(TICKET, context_partial=True), "partial_context"),
        (replace(POLICY, spend_cap_reached=True), TICKET, "spend_cap_reached"),
    ],
)
def test_each_blocking_condition_drafts_instead_with_its_reason(policy, ticket, reason):
    decision = decide(policy=policy, ticket=ticket)
    assert decision == Decision("draft", (reason,))


@pytest.mark.parametrize(
    "guardrail",
    [
        "refund",
        "cancellation",
        "billing_dispute",
        "legal",
        "security",
        "churn_risk",
        "angry",
        "vip",
        "prompt_injection",
        "partial_context",
    ],
)
def test_each_guardrail_hit_blocks_auto_resolution(guardrail):
    decision = decide(policy=POLICY, ticket=replace(TICKET, guardrails=(guardrail,)))
    assert decision == Decision("draft", (f"guardrail:{guardrail}",))


def test_every_blocking_reason_is_listed():
    ticket = replace(TICKET, confidence=0.1, guardrails=("legal", "vip"), out_of_scope=True)
    decision = decide(policy=POLICY, ticket=ticket)
    assert decision.reasons == ("out_of_scope", "low_confidence", "guardrail:legal", "guardrail:vip")


def test_spend_cap_with_mode_off_gives_no_draft():
    decision = decide(policy=replace(POLICY, spend_cap_reached=True, cap_mode="off"), ticket=TICKET)
    assert decision == Decision("no_draft", ("spend_cap_reached",))


def test_threshold_is_inclusive():
    assert decide(policy=POLICY, ticket=replace(TICKET, confidence=0.8)).action == "auto_resolve"
