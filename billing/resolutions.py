"""Autonomous resolutions: pending until they stick, billed once, credited if reopened within 7 days."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session

from billing import repository
from billing.errors import ResolutionStateConflict
from billing.ledger import EntryRequest, OutcomeResult, OutcomeStatus, append_charge, append_credit
from billing.models import Resolution
from billing.pricing import OutcomeKind
from plugin.core.clock import Clock
from plugin.core.errors import InvalidPayload, NotFound

DEFAULT_CONFIRMATION_WINDOW = timedelta(hours=72)
REVERSAL_WINDOW = timedelta(days=7)


class ResolutionState(StrEnum):
    PENDING = "pending"
    BILLED = "billed"
    WAIVED = "waived"
    CANCELLED = "cancelled"
    REVERSED = "reversed"


class CancelReason(StrEnum):
    CUSTOMER_REPLY = "customer_reply"
    HUMAN_TAKEOVER = "human_takeover"
    REOPENED = "reopened"


class ChangeAction(StrEnum):
    CANCELLED = "cancelled"
    REVERSED = "reversed"
    KEPT = "kept"


@dataclass(frozen=True)
class ResolutionChange:
    """What a customer reply, takeover or reopen did to a ticket's resolution."""

    action: ChangeAction
    resolution_id: int
    state: ResolutionState
    credit_entry_id: int | None = None
    credit_micros: int = 0


def billing_key(ticket_id: str) -> str:
    return f"resolution:{ticket_id}"


def reversal_key(ticket_id: str) -> str:
    return f"resolution_reversal:{ticket_id}"


def open_resolution(
    session: Session,
    *,
    tenant_id: int,
    ticket_id: str,
    draft_id: str | None,
    resolved_at: datetime,
    clock: Clock,
    confirmation_window: timedelta = DEFAULT_CONFIRMATION_WINDOW,
) -> OutcomeResult:
    """Start the confirmation window for a ticket the AI solved; at most one resolution per ticket."""
    if confirmation_window <= timedelta(0):
        raise InvalidPayload("confirmation_window must be positive")
    created = repository.insert_resolution(
        session,
        {
            "tenant_id": tenant_id,
            "ticket_id": ticket_id,
            "draft_id": draft_id,
            "state": ResolutionState.PENDING.value,
            "resolved_at": resolved_at,
            "window_ends_at": resolved_at + confirmation_window,
            "created_at": clock.now(),
        },
    )
    if created is not None:
        return OutcomeResult(OutcomeStatus.PENDING, resolution_id=created)
    existing = repository.get_resolution(session, tenant_id, ticket_id)
    assert existing is not None
    return OutcomeResult(OutcomeStatus.DUPLICATE, entry_id=existing.entry_id, resolution_id=existing.id)


def confirm_resolution(
    session: Session, *, tenant_id: int, ticket_id: str, confirmed_at: datetime, clock: Clock
) -> OutcomeResult:
    """The customer said it is solved: bill now, in the period of the confirmation."""
    resolution = _locked(session, tenant_id, ticket_id)
    if resolution.state == ResolutionState.PENDING:
        return _bill(session, resolution, at=min(confirmed_at, resolution.window_ends_at), by="customer_confirmed",
                     clock=clock)  # fmt: skip
    if resolution.state in (ResolutionState.BILLED, ResolutionState.WAIVED):
        return OutcomeResult(
            OutcomeStatus.DUPLICATE, entry_id=resolution.entry_id, resolution_id=resolution.id
        )
    raise ResolutionStateConflict(
        f"resolution of ticket {ticket_id} is {resolution.state}; it cannot be confirmed"
    )


def cancel_resolution(
    session: Session,
    *,
    tenant_id: int,
    ticket_id: str,
    reason: CancelReason | str,
    at: datetime,
    clock: Clock,
) -> ResolutionChange:
    """A customer reply, human takeover or reopen: inside the window the resolution never bills."""
    cause = CancelReason(reason)
    resolution = _locked(session, tenant_id, ticket_id)
    if resolution.state == ResolutionState.PENDING and at < resolution.window_ends_at:
        resolution.state = ResolutionState.CANCELLED.value
        resolution.settled_at = at
        resolution.settled_by = cause.value
        session.flush()
        return ResolutionChange(ChangeAction.CANCELLED, resolution.id, ResolutionState.CANCELLED)
    if resolution.state == ResolutionState.PENDING:
        # The window had already passed when this arrived: the resolution stuck before the event.
        _bill(session, resolution, at=resolution.window_ends_at, by="window_passed", clock=clock)
    if cause is CancelReason.REOPENED:
        return _reverse_if_recent(session, resolution, reopened_at=at, clock=clock)
    return ResolutionChange(ChangeAction.KEPT, resolution.id, ResolutionState(resolution.state))


def reverse_on_reopen(
    session: Session, *, tenant_id: int, ticket_id: str, reopened_at: datetime, clock: Clock
) -> ResolutionChange:
    """A reopened ticket: cancel a pending resolution, or credit a billed one reopened within 7 days."""
    return cancel_resolution(
        session,
        tenant_id=tenant_id,
        ticket_id=ticket_id,
        reason=CancelReason.REOPENED,
        at=reopened_at,
        clock=clock,
    )


def settle_due_resolutions(
    session: Session, *, now: datetime, clock: Clock, tenant_id: int | None = None, limit: int = 500
) -> list[OutcomeResult]:
    """Bill every pending resolution whose window passed quietly, at the moment the window ended."""
    claimed = repository.claim_due_resolutions(session, now=now, limit=limit, tenant_id=tenant_id)
    return [_bill(session, r, at=r.window_ends_at, by="window_passed", clock=clock) for r in claimed]


def _locked(session: Session, tenant_id: int, ticket_id: str) -> Resolution:
    resolution = repository.get_resolution(session, tenant_id, ticket_id, lock="update")
    if resolution is None:
        raise NotFound(f"ticket {ticket_id} has no autonomous resolution")
    return resolution


def _bill(session: Session, resolution: Resolution, *, at: datetime, by: str, clock: Clock) -> OutcomeResult:
    result = append_charge(
        session,
        EntryRequest(
            tenant_id=resolution.tenant_id,
            kind=OutcomeKind.RESOLUTION,
            idempotency_key=billing_key(resolution.ticket_id),
            ticket_id=resolution.ticket_id,
            occurred_at=at,
            draft_id=resolution.draft_id,
            resolution_id=resolution.id,
        ),
        clock=clock,
    )
    waived = result.status is OutcomeStatus.WAIVED_SPEND_CAP
    resolution.state = (ResolutionState.WAIVED if waived else ResolutionState.BILLED).value
    resolution.entry_id = result.entry_id
    resolution.settled_at = at
    resolution.settled_by = by
    session.flush()
    return result


def _reverse_if_recent(
    session: Session, resolution: Resolution, *, reopened_at: datetime, clock: Clock
) -> ResolutionChange:
    state = ResolutionState(resolution.state)
    if state not in (ResolutionState.BILLED, ResolutionState.WAIVED):
        return ResolutionChange(ChangeAction.KEPT, resolution.id, state)
    assert resolution.settled_at is not None and resolution.entry_id is not None
    if reopened_at > resolution.settled_at + REVERSAL_WINDOW:
        return ResolutionChange(ChangeAction.KEPT, resolution.id, state)
    billed = repository.entry_by_id(session, resolution.tenant_id, resolution.entry_id)
    assert billed is not None
    credit = None
    if billed.amount_micros != 0:
        credit = append_credit(
            session,
            tenant_id=resolution.tenant_id,
            idempotency_key=reversal_key(resolution.ticket_id),
            reverses=billed,
            occurred_at=reopened_at,
            clock=clock,
        )
    resolution.state = ResolutionState.REVERSED.value
    resolution.reversal_entry_id = credit.entry_id if credit else None
    session.flush()
    return ResolutionChange(
        ChangeAction.REVERSED,
        resolution.id,
        ResolutionState.REVERSED,
        credit.entry_id if credit else None,
        credit.amount_micros if credit else 0,
    )
