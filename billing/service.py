"""Billing use cases other domains call. `record_outcome` is the one entry point for metering."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from billing import repository as billing_repository
from billing.caps import CapMode, CapState, SpendStatus, set_spend_cap, spend_status
from billing.ledger import (
    EntryRequest,
    OutcomeResult,
    OutcomeStatus,
    append_batch,
    append_charge,
    validate_key,
)
from billing.money import round_half_away_from_zero
from billing.pricing import OutcomeKind
from billing.resolutions import (
    DEFAULT_CONFIRMATION_WINDOW,
    CancelReason,
    ResolutionChange,
    cancel_resolution,
    confirm_resolution,
    open_resolution,
    reverse_on_reopen,
    settle_due_resolutions,
)
from plugin.core.clock import Clock
from plugin.core.errors import InvalidPayload

ARMS = ("assisted", "control")

__all__ = [
    "CancelReason",
    "CapMode",
    "CapState",
    "OutcomeKind",
    "OutcomeResult",
    "OutcomeStatus",
    "ResolutionChange",
    "SpendStatus",
    "cancel_resolution",
    "confirm_resolution",
    "fees_by_ticket",
    "open_resolution",
    "record_outcome",
    "record_outcomes",
    "reverse_on_reopen",
    "set_spend_cap",
    "settle_due_resolutions",
    "spend_status",
]


def fees_by_ticket(session: Session, *, tenant_id: int, ticket_ids: Sequence[str]) -> dict[str, int]:
    """AI fees billed per ticket in cents (net of reversals), rounded once per ticket, for cost per conversation."""
    micros = billing_repository.fees_by_ticket(session, tenant_id, list(ticket_ids))
    return {ticket: round_half_away_from_zero(amount) for ticket, amount in micros.items()}


STUCK_STATES = frozenset({"billed", "waived"})


def resolutions_that_stuck(session: Session, *, tenant_id: int) -> dict[str, bool]:
    """Per draft id, whether its auto-resolution stuck (billed, or waived past the cap) or not (cancelled
    by a reply or takeover, reversed on reopen); resolutions still in their window are not known yet."""
    return {
        draft_id: state in STUCK_STATES
        for draft_id, state in billing_repository.settled_resolution_states(session, tenant_id)
        if draft_id is not None
    }


def record_outcome(
    session: Session,
    *,
    tenant_id: int,
    kind: OutcomeKind | str,
    ticket_id: str,
    draft_id: str | None,
    idempotency_key: str,
    occurred_at: datetime,
    arm: str,
    clock: Clock,
    confirmation_window: timedelta = DEFAULT_CONFIRMATION_WINDOW,
) -> OutcomeResult:
    """Meter one delivered draft (billed now) or autonomous resolution (pending until it sticks).

    Control-arm tickets are never charged: the result is CONTROL_ARM and nothing is written. A repeated
    idempotency key (a retry, a regenerated draft for the same message) is DUPLICATE and charges nothing.
    """
    outcome_kind = _kind(kind)
    if arm not in ARMS:
        raise InvalidPayload(f"arm must be one of {list(ARMS)}, not {arm!r}")
    if occurred_at.tzinfo is None:
        raise InvalidPayload("occurred_at must carry a time zone")
    if arm == "control":
        return OutcomeResult(OutcomeStatus.CONTROL_ARM)
    if outcome_kind is OutcomeKind.RESOLUTION:
        return open_resolution(
            session,
            tenant_id=tenant_id,
            ticket_id=ticket_id,
            draft_id=draft_id,
            resolved_at=occurred_at,
            clock=clock,
            confirmation_window=confirmation_window,
        )
    request = EntryRequest(
        tenant_id, outcome_kind, validate_key(idempotency_key), ticket_id, occurred_at, draft_id
    )
    return append_charge(session, request, clock=clock)


def record_outcomes(session: Session, *, drafts: list[EntryRequest], clock: Clock) -> list[OutcomeResult]:
    """The batched path for backfills, imports and worker flushes of delivered drafts (assisted arm only)."""
    for request in drafts:
        if request.kind is not OutcomeKind.DRAFT:
            raise InvalidPayload("the batched path takes drafts; resolutions go through record_outcome")
        validate_key(request.idempotency_key)
    return append_batch(session, drafts, clock=clock)


def _kind(kind: OutcomeKind | str) -> OutcomeKind:
    try:
        outcome_kind = OutcomeKind(kind)
    except ValueError as error:
        raise InvalidPayload(f"kind must be 'draft' or 'resolution', not {kind!r}") from error
    if outcome_kind is OutcomeKind.RESOLUTION_REVERSAL:
        raise InvalidPayload("reversals are appended by reverse_on_reopen, not recorded directly")
    return outcome_kind
