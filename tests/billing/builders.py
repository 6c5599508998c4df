"""Builders for billing tests: outcomes recorded through the real service."""

from datetime import datetime

from sqlalchemy.orm import Session

from billing import service
from billing.ledger import OutcomeResult
from plugin.core.clock import Clock


def deliver_draft(
    session: Session,
    clock: Clock,
    tenant_id: int,
    ticket_id: str,
    *,
    message: str = "m1",
    at: datetime | None = None,
    arm: str = "assisted",
) -> OutcomeResult:
    return service.record_outcome(
        session,
        tenant_id=tenant_id,
        kind="draft",
        ticket_id=ticket_id,
        draft_id=f"d-{ticket_id}-{message}",
        idempotency_key=f"draft:{ticket_id}:{message}",
        occurred_at=at or clock.now(),
        arm=arm,
        clock=clock,
    )


def resolve(
    session: Session, clock: Clock, tenant_id: int, ticket_id: str, *, at: datetime | None = None
) -> OutcomeResult:
    return service.record_outcome(
        session,
        tenant_id=tenant_id,
        kind="resolution",
        ticket_id=ticket_id,
        draft_id=f"d-{ticket_id}-auto",
        idempotency_key=f"resolution:{ticket_id}",
        occurred_at=at or clock.now(),
        arm="assisted",
        clock=clock,
    )
