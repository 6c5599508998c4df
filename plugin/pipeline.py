"""The autopilot loop, wired across domains: helpdesk event -> arm -> draft or auto-resolution -> ledger.

`react` runs inside the transaction that recorded a delivery's canonical events and only writes to the
database (billing changes, outbox jobs); everything that talks to the outside runs later in job handlers.
"""

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from billing import service as billing_service
from billing import stripe_sync
from billing.errors import PeriodNotClosable
from billing.gateway import BillingGateway
from billing.invoices import close_period
from billing.periods import DEFAULT_GRACE, period_of, previous_period
from drafting import recalibration
from drafting import service as drafting_service
from drafting.schemas import CustomerMessage, DraftOutcome
from metrics import service as metrics_service
from metrics.events import EventName, TicketEvent
from plugin.accounts import repository as accounts_repository
from plugin.accounts.models import Tenant
from plugin.core.clock import Clock
from plugin.core.db import transaction
from plugin.core.errors import Conflict, NotFound
from plugin.helpdesk.base import Helpdesk
from plugin.helpdesk.service import WebhookReceipt
from plugin.jobs import service as jobs
from plugin.jobs.service import ClaimedJob, NewJob
from plugin.wiring import KitFactory
from plugin.worker import Handler, JobContext

log = logging.getLogger("outcomedesk.pipeline")

DRAFT_MESSAGE = "draft_message"
EXECUTE_AUTO_RESOLUTION = "execute_auto_resolution"
SETTLE_RESOLUTIONS = "settle_resolutions"
CLOSE_BILLING_PERIODS = "close_billing_periods"
PUSH_TO_STRIPE = "push_to_stripe"
RECALIBRATE_THRESHOLD = "recalibrate_threshold"


def react(session: Session, *, receipt: WebhookReceipt, clock: Clock) -> None:
    """Turn a delivery's new canonical events into billing changes and outbox jobs."""
    for event in receipt.ticket_events:
        _react_to(session, tenant_id=receipt.tenant_id, event=event, detail=receipt.event, clock=clock)


def _react_to(
    session: Session, *, tenant_id: int, event: TicketEvent, detail: dict[str, Any], clock: Clock
) -> None:
    match event.event:
        case EventName.CREATED:
            _arm(session, tenant_id, event, clock)
        case EventName.CUSTOMER_MESSAGE:
            _change_resolution(
                session, tenant_id, event.ticket_id, "customer_reply", event.occurred_at, clock
            )
            if _arm(session, tenant_id, event, clock) == "assisted":
                comment = detail.get("comment") or {}
                jobs.enqueue(
                    session,
                    jobs=[
                        NewJob(
                            tenant_id=tenant_id,
                            kind=DRAFT_MESSAGE,
                            dedupe_key=f"{DRAFT_MESSAGE}:{tenant_id}:{event.ticket_id}:{comment.get('id')}",
                            payload={
                                "ticket_id": event.ticket_id,
                                "message_id": str(comment.get("id")),
                                "text": str(comment.get("body") or ""),
                                "requester_id": event.requester_id,
                                "channel": event.channel,
                            },
                        )
                    ],
                    clock=clock,
                )
        case EventName.AGENT_REPLY:
            _change_resolution(
                session, tenant_id, event.ticket_id, "human_takeover", event.occurred_at, clock
            )
        case EventName.REOPENED:
            _change_resolution(session, tenant_id, event.ticket_id, "reopened", event.occurred_at, clock)
        case EventName.CSAT if event.value == 1.0:
            # A good rating confirms a pending resolution; on a cancelled or reversed one it changes nothing.
            with contextlib.suppress(NotFound, Conflict):
                billing_service.confirm_resolution(
                    session,
                    tenant_id=tenant_id,
                    ticket_id=event.ticket_id,
                    confirmed_at=event.occurred_at,
                    clock=clock,
                )
        case _:
            pass


def _arm(session: Session, tenant_id: int, event: TicketEvent, clock: Clock) -> str:
    return metrics_service.assign_ticket(
        session, tenant_id=tenant_id, ticket_id=event.ticket_id, requester_id=event.requester_id, clock=clock
    )


def _change_resolution(
    session: Session, tenant_id: int, ticket_id: str, reason: str, at: datetime, clock: Clock
) -> None:
    # A ticket the AI never resolved has no resolution to change.
    with contextlib.suppress(NotFound):
        billing_service.cancel_resolution(
            session, tenant_id=tenant_id, ticket_id=ticket_id, reason=reason, at=at, clock=clock
        )


@dataclass
class Autopilot:
    """Job handlers of the autopilot; `helpdesks` gives a tenant's helpdesk adapter."""

    kits: KitFactory
    helpdesks: Callable[[Tenant], Helpdesk]
    billing_gateway: BillingGateway | None = None

    def handlers(self) -> dict[str, Handler]:
        return {
            DRAFT_MESSAGE: self.draft_message,
            EXECUTE_AUTO_RESOLUTION: self.execute_auto_resolution,
            SETTLE_RESOLUTIONS: self.settle_resolutions,
            CLOSE_BILLING_PERIODS: self.close_billing_periods,
            PUSH_TO_STRIPE: self.push_to_stripe,
            RECALIBRATE_THRESHOLD: self.recalibrate_threshold,
        }

    async def draft_message(self, job: ClaimedJob, context: JobContext) -> None:
        """Pre-draft the reply to a new customer message; queue the auto-resolution when policy allows."""
        factory, clock = context.factory, context.clock
        with transaction(factory) as session:
            tenant = _tenant(session, job.tenant_id)
        helpdesk = self.helpdesks(tenant)
        ticket = await helpdesk.get_ticket(job.payload["ticket_id"])
        message = CustomerMessage(
            tenant_id=job.tenant_id,
            ticket_id=job.payload["ticket_id"],
            message_id=job.payload["message_id"],
            text=job.payload["text"],
            requester_id=job.payload["requester_id"],
            requester_email=ticket.requester_email or f"{job.payload['requester_id']}@unknown.invalid",
            requester_name=ticket.requester_name,
            channel=job.payload.get("channel"),
        )
        # No transaction stays open while the sources and the drafter answer: on SQLite it would hold the
        # write lock, and every other writer (webhooks, the API, other jobs) would wait for this draft.
        with transaction(factory) as session:
            start = drafting_service.start_draft(session, message=message, clock=clock)
            kit = None if isinstance(start, DraftOutcome) else self.kits.kit(session, job.tenant_id)
        if isinstance(start, DraftOutcome):
            with transaction(factory) as session:
                _queue_auto_resolution(session, job.tenant_id, start, ticket.status, clock)
            return
        assert kit is not None
        composed = await drafting_service.compose_message(message, kit)
        with transaction(factory) as session:
            outcome = drafting_service.finish_draft(
                session, message=message, start=start, composed=composed, clock=clock
            )
            _queue_auto_resolution(session, job.tenant_id, outcome, ticket.status, clock)

    async def execute_auto_resolution(self, job: ClaimedJob, context: JobContext) -> None:
        """Post the AI's reply, solve the ticket, and open the resolution (billed only if it sticks).

        Safe to repeat after a crash: the reply carries an idempotency key, solving twice changes nothing,
        and the resolution is keyed by ticket.
        """
        factory, clock = context.factory, context.clock
        with transaction(factory) as session:
            tenant = _tenant(session, job.tenant_id)
            draft = drafting_service.get_draft(
                session, tenant_id=job.tenant_id, draft_id=job.payload["draft_id"]
            )
        helpdesk = self.helpdesks(tenant)
        await helpdesk.post_reply(
            draft.ticket_id, draft.text, idempotency_key=f"ai-reply:{job.tenant_id}:{draft.id}"
        )
        await helpdesk.solve(draft.ticket_id)
        with transaction(factory) as session:
            billing_service.record_outcome(
                session,
                tenant_id=job.tenant_id,
                kind="resolution",
                ticket_id=draft.ticket_id,
                draft_id=str(draft.id),
                idempotency_key=f"resolution:{job.tenant_id}:{draft.ticket_id}",
                occurred_at=clock.now(),
                arm="assisted",
                clock=clock,
            )

    async def settle_resolutions(self, job: ClaimedJob, context: JobContext) -> None:
        """Bill the resolutions whose confirmation window passed quietly."""
        factory, clock = context.factory, context.clock
        with transaction(factory) as session:
            billing_service.settle_due_resolutions(
                session, now=clock.now(), clock=clock, tenant_id=job.tenant_id
            )

    async def recalibrate_threshold(self, job: ClaimedJob, context: JobContext) -> None:
        """Move the tenant's autopilot threshold to what its drafts' outcomes support."""
        factory, clock = context.factory, context.clock
        with transaction(factory) as session:
            result = recalibration.recalibrate_threshold(session, tenant_id=job.tenant_id, clock=clock)
        if result.applied and result.threshold_after != result.threshold_before:
            log.info(
                "tenant %s threshold %.3f -> %.3f from %d outcomes",
                job.tenant_id,
                result.threshold_before,
                result.threshold_after,
                result.outcomes,
            )

    async def close_billing_periods(self, job: ClaimedJob, context: JobContext) -> None:
        """Finalize last month's invoices once its grace period has passed (idempotent)."""
        factory, clock = context.factory, context.clock
        last_closable = previous_period(period_of(clock.now() - DEFAULT_GRACE))
        with transaction(factory) as session, contextlib.suppress(PeriodNotClosable):
            close_period(session, period_start=last_closable, clock=clock)

    async def push_to_stripe(self, job: ClaimedJob, context: JobContext) -> None:
        """Send finalized invoices to Stripe; each push is keyed by our ids, so a retry never double-charges."""
        if self.billing_gateway is None:
            return
        factory, clock = context.factory, context.clock
        with transaction(factory) as session:
            pending = stripe_sync.pending_push_invoice_ids(session, limit=100)
        for invoice_id in pending:
            with transaction(factory) as session:
                stripe_sync.push_invoice(
                    session, invoice_id=invoice_id, gateway=self.billing_gateway, clock=clock
                )


def _tenant(session: Session, tenant_id: int) -> Tenant:
    tenant = accounts_repository.tenant_by_id(session, tenant_id)
    if tenant is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant


def _queue_auto_resolution(
    session: Session, tenant_id: int, outcome: DraftOutcome, ticket_status: str | None, clock: Clock
) -> None:
    """Queue sending the AI's reply when the draft may resolve the ticket on its own (once per draft)."""
    if (
        outcome.draft is None
        or outcome.draft.action != "auto_resolve"
        or ticket_status in ("solved", "closed")
    ):
        return
    jobs.enqueue(
        session,
        jobs=[
            NewJob(
                tenant_id=tenant_id,
                kind=EXECUTE_AUTO_RESOLUTION,
                dedupe_key=f"{EXECUTE_AUTO_RESOLUTION}:{tenant_id}:{outcome.draft.id}",
                payload={"draft_id": outcome.draft.id},
            )
        ],
        clock=clock,
    )
