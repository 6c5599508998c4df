"""Drafting use cases: draft the latest customer message, deliver it to an agent, decide on autopilot."""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing import service as billing_service
from billing.service import CapState
from drafting import repository
from drafting.composition import ComposedDraft, DraftingKit, compose_draft
from drafting.context.base import AccountContext, CustomerRef
from drafting.draft_records import context_json, to_view
from drafting.intent import IntentPrediction
from drafting.models import Draft, DraftingSettings
from drafting.policy import Decision, TenantPolicy, TicketSignals, decide
from drafting.schemas import CustomerMessage, DraftOutcome, DraftView, WrittenReply
from metrics import service as metrics_service
from metrics.events import Actor, EventName, TicketEvent
from plugin.core.clock import Clock
from plugin.core.errors import NotFound


def tenant_settings(session: Session, *, tenant_id: int, clock: Clock) -> DraftingSettings:
    """The tenant's autopilot settings, created with safe defaults (autopilot off) on first use."""
    found = repository.settings(session, tenant_id)
    if found is None:
        found = DraftingSettings(
            tenant_id=tenant_id,
            autopilot_enabled=False,
            intent_allowlist="[]",
            target_precision=0.95,
            threshold=1.01,
            updated_at=clock.now(),
        )
        repository.save(session, found)
    return found


def update_settings(
    session: Session,
    *,
    tenant_id: int,
    clock: Clock,
    autopilot_enabled: bool | None = None,
    intent_allowlist: Sequence[str] | None = None,
    target_precision: float | None = None,
) -> DraftingSettings:
    """Change the tenant's autopilot policy."""
    row = tenant_settings(session, tenant_id=tenant_id, clock=clock)
    if autopilot_enabled is not None:
        row.autopilot_enabled = autopilot_enabled
    if intent_allowlist is not None:
        row.intent_allowlist = json.dumps(sorted(set(intent_allowlist)))
    if target_precision is not None:
        row.target_precision = target_precision
    row.updated_at = clock.now()
    session.flush()
    return row


@dataclass(frozen=True)
class DraftStart:
    """A message that needs a new draft: its arm and which attempt the draft will be."""

    arm: str
    attempt: int
    started: float
    """``time.perf_counter()`` when drafting began, for the draft's latency."""


def start_draft(
    session: Session, *, message: CustomerMessage, clock: Clock, regenerate: bool = False
) -> DraftOutcome | DraftStart:
    """Assign the ticket's arm; a control ticket or an already drafted message ends here with its outcome."""
    arm = metrics_service.assign_ticket(
        session,
        tenant_id=message.tenant_id,
        ticket_id=message.ticket_id,
        requester_id=message.requester_id,
        clock=clock,
    )
    if arm == "control":
        return DraftOutcome(
            status="control_arm", arm=arm, notes=("control-arm tickets get no AI draft and no charge",)
        )
    existing = repository.latest_draft_for_message(
        session, message.tenant_id, message.ticket_id, message.message_id
    )
    if existing is not None and not regenerate:
        return DraftOutcome(status="existing", arm=arm, draft=to_view(existing))
    attempt = existing.attempt + 1 if existing is not None else 1
    return DraftStart(arm=arm, attempt=attempt, started=time.perf_counter())


def finish_draft(
    session: Session, *, message: CustomerMessage, start: DraftStart, composed: ComposedDraft, clock: Clock
) -> DraftOutcome:
    """Decide what the composed draft may do and store it; a concurrent request that stored this attempt
    first wins and its draft is returned."""
    context, prediction, written = composed.context, composed.prediction, composed.written
    settings = tenant_settings(session, tenant_id=message.tenant_id, clock=clock)
    spend = billing_service.spend_status(session, message.tenant_id, clock.now())
    decision = _decide(
        settings,
        spend.state,
        spend.mode,
        start.arm,
        prediction,
        composed.grounding.grounded,
        composed.guardrails,
        context,
        written,
    )
    if decision.action == "no_draft":
        return DraftOutcome(status="ai_off", arm=start.arm, notes=decision.reasons)

    row = Draft(
        tenant_id=message.tenant_id,
        ticket_id=message.ticket_id,
        message_id=message.message_id,
        attempt=start.attempt,
        requester_id=message.requester_id,
        requester_email=message.requester_email,
        text=written.text,
        sentences=json.dumps([[text, list(ids)] for text, ids in written.sentences]),
        citations=json.dumps(list(written.citations)),
        intent=prediction.intent if prediction is not None else None,
        confidence=prediction.confidence if prediction is not None else 0.0,
        action=decision.action,
        reasons=json.dumps(list(decision.reasons)),
        grounded=composed.grounding.grounded,
        ungrounded=json.dumps(list(composed.grounding.ungrounded)),
        guardrails=json.dumps(list(composed.guardrails)),
        context=context_json(context, composed.passages, written.citations),
        context_partial=context.partial,
        drafter=written.drafter,
        prompt_version=written.prompt_version,
        model=written.model,
        latency_ms=round((time.perf_counter() - start.started) * 1000, 2),
        prompt_tokens=written.prompt_tokens,
        completion_tokens=written.completion_tokens,
        billed=False,
        created_at=clock.now(),
    )
    try:
        with session.begin_nested():
            repository.save(session, row)
    except IntegrityError:
        winner = repository.latest_draft_for_message(
            session, message.tenant_id, message.ticket_id, message.message_id
        )
        if winner is None:
            raise
        return DraftOutcome(status="existing", arm=start.arm, draft=to_view(winner))
    return DraftOutcome(status="drafted", arm=start.arm, draft=to_view(row))


async def draft_reply(
    session: Session, *, message: CustomerMessage, kit: DraftingKit, clock: Clock, regenerate: bool = False
) -> DraftOutcome:
    """Draft the reply to one customer message in one transaction (the same message gets the same draft
    unless regenerated). The transaction stays open while the sources answer: shells that serve concurrent
    requests run ``start_draft`` / ``compose_draft`` / ``finish_draft`` with a commit in between instead."""
    start = start_draft(session, message=message, clock=clock, regenerate=regenerate)
    if isinstance(start, DraftOutcome):
        return start
    composed = await compose_message(message, kit)
    return finish_draft(session, message=message, start=start, composed=composed, clock=clock)


async def compose_message(message: CustomerMessage, kit: DraftingKit) -> ComposedDraft:
    """The draft's content for a message, from its text and requester (no database)."""
    return await compose_draft(
        text=message.text,
        customer=CustomerRef(email=message.requester_email, external_id=message.requester_id),
        kit=kit,
        tenant_id=message.tenant_id,
    )


def deliver_draft(
    session: Session, *, tenant_id: int, draft_id: int, agent_id: str | None, clock: Clock
) -> DraftOutcome:
    """Show a draft to an agent: the first delivery per customer message is billed, regenerations are free."""
    row = _owned(session, tenant_id, draft_id)
    if row.action == "auto_resolve":
        # An autonomous reply is billed as its resolution, never also as a draft.
        return DraftOutcome(
            status="existing", arm="assisted", draft=to_view(row), charge="billed_as_resolution"
        )
    result = billing_service.record_outcome(
        session,
        tenant_id=tenant_id,
        kind="draft",
        ticket_id=row.ticket_id,
        draft_id=str(row.id),
        idempotency_key=f"draft:{tenant_id}:{row.ticket_id}:{row.message_id}",
        occurred_at=clock.now(),
        arm="assisted",
        clock=clock,
    )
    if result.status == "billed":
        row.billed = True
    metrics_service.record_events(
        session,
        tenant_id=tenant_id,
        events=[
            TicketEvent(
                key=f"draft_delivered:{tenant_id}:{row.ticket_id}:{row.message_id}",
                ticket_id=row.ticket_id,
                requester_id=row.requester_id,
                event=EventName.DRAFT_DELIVERED,
                occurred_at=clock.now(),
                actor=Actor.AI,
                agent_id=agent_id,
                intent=row.intent,
                arm="assisted",
            )
        ],
        clock=clock,
    )
    session.flush()
    return DraftOutcome(status="existing", arm="assisted", draft=to_view(row), charge=str(result.status))


def latest_draft(session: Session, *, tenant_id: int, ticket_id: str) -> DraftView:
    """The newest draft of a ticket."""
    row = repository.latest_draft_for_ticket(session, tenant_id, ticket_id)
    if row is None:
        raise NotFound(f"ticket {ticket_id!r} has no draft")
    return to_view(row)


def get_draft(session: Session, *, tenant_id: int, draft_id: int) -> DraftView:
    return to_view(_owned(session, tenant_id, draft_id))


def _owned(session: Session, tenant_id: int, draft_id: int) -> Draft:
    row = repository.draft(session, tenant_id, draft_id)
    if row is None:
        raise NotFound(f"draft {draft_id} not found")
    return row


def _decide(
    settings: DraftingSettings,
    cap_state: CapState,
    cap_mode: str,
    arm: str,
    prediction: IntentPrediction | None,
    grounded: bool,
    guardrails: tuple[str, ...],
    context: AccountContext,
    written: WrittenReply,
) -> Decision:
    confidence = prediction.confidence if prediction is not None else 0.0
    decision = decide(
        policy=TenantPolicy(
            autopilot_enabled=settings.autopilot_enabled,
            threshold=settings.threshold,
            intent_allowlist=frozenset(json.loads(settings.intent_allowlist)),
            spend_cap_reached=cap_state == CapState.REACHED,
            cap_mode="off" if cap_mode == "off" else "suggest_only",
        ),
        ticket=TicketSignals(
            arm=arm,
            intent=prediction.intent if prediction is not None else None,
            confidence=confidence,
            out_of_scope=prediction is None or prediction.out_of_scope,
            grounding_passed=grounded,
            guardrails=guardrails,
            context_partial=context.partial,
        ),
    )
    if written.parse_error is not None and decision.action == "auto_resolve":
        # Output we could not parse is shown to the agent, never sent on its own.
        return Decision(action="draft", reasons=(*decision.reasons, "unparseable_output"))
    return decision
