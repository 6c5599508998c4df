"""Appending to the ledger: exactly once per idempotency key, priced, in the open period, within the cap."""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from billing import repository
from billing.models import BillingAccount
from billing.periods import period_of
from billing.pricing import DEFAULT_CURRENCY, OutcomeKind, default_price, price_at
from plugin.core.clock import Clock
from plugin.core.errors import InvalidPayload

SPEND_CAP = "spend_cap"
BATCH_ROWS = 1000


class OutcomeStatus(StrEnum):
    BILLED = "billed"
    DUPLICATE = "duplicate"
    PENDING = "pending"
    WAIVED_SPEND_CAP = "waived_spend_cap"
    CONTROL_ARM = "control_arm"


@dataclass(frozen=True)
class OutcomeResult:
    """What recording an outcome did. Only BILLED created a charge; DUPLICATE points at the first entry."""

    status: OutcomeStatus
    entry_id: int | None = None
    resolution_id: int | None = None
    amount_micros: int = 0
    period_start: date | None = None

    @property
    def charged(self) -> bool:
        return self.status is OutcomeStatus.BILLED and self.amount_micros != 0


@dataclass(frozen=True)
class EntryRequest:
    tenant_id: int
    kind: OutcomeKind
    idempotency_key: str
    ticket_id: str
    occurred_at: datetime
    draft_id: str | None = None
    resolution_id: int | None = None


def validate_key(idempotency_key: str) -> str:
    key = idempotency_key.strip()
    if not key or len(key) > 200:
        raise InvalidPayload("idempotency_key must be 1 to 200 characters")
    return key


def ensure_account(session: Session, tenant_id: int, *, earliest: datetime, clock: Clock) -> BillingAccount:
    """The tenant's billing account, created on first use and locked FOR KEY SHARE for this transaction."""
    account = repository.get_account(session, tenant_id, lock="key_share")
    if account is None:
        now = clock.now()
        repository.create_account_if_missing(
            session,
            tenant_id=tenant_id,
            currency=DEFAULT_CURRENCY,
            open_period=period_of(min(earliest, now)),
            now=now,
        )
        account = repository.get_account(session, tenant_id, lock="key_share")
        assert account is not None
    return account


def append_charge(session: Session, request: EntryRequest, *, clock: Clock) -> OutcomeResult:
    """Append one priced outcome; a repeated key returns the first entry and charges nothing."""
    occurred_period = period_of(request.occurred_at)
    inserted = repository.insert_priced_entry_if_uncapped(
        session,
        tenant_id=request.tenant_id,
        kind=request.kind,
        idempotency_key=request.idempotency_key,
        occurred_period=occurred_period,
        occurred_at=request.occurred_at,
        recorded_at=clock.now(),
        ticket_id=request.ticket_id,
        draft_id=request.draft_id,
        resolution_id=request.resolution_id,
        default_unit_price_micros=default_price(request.kind).unit_price_micros,
    )
    if inserted is not None:
        return OutcomeResult(OutcomeStatus.BILLED, inserted.id, request.resolution_id, inserted.amount_micros,
                             inserted.period_start)  # fmt: skip
    existing = repository.entry_by_key(session, request.tenant_id, request.idempotency_key)
    if existing is not None:
        return _duplicate(existing.id, existing.resolution_id, existing.period_start)
    return _append_carefully(session, request, occurred_period=occurred_period, clock=clock)


def _append_carefully(
    session: Session, request: EntryRequest, *, occurred_period: date, clock: Clock
) -> OutcomeResult:
    account = ensure_account(session, request.tenant_id, earliest=request.occurred_at, clock=clock)
    period = max(occurred_period, account.open_period)
    price = price_at(repository.prices_for(session, request.tenant_id), request.kind, request.occurred_at,
                     account.currency)  # fmt: skip
    row: dict[str, Any] = {
        "tenant_id": request.tenant_id,
        "idempotency_key": request.idempotency_key,
        "kind": request.kind.value,
        "quantity": 1,
        "unit_price_micros": price.unit_price_micros,
        "amount_micros": price.unit_price_micros,
        "currency": price.currency,
        "period_start": period,
        "occurred_at": request.occurred_at,
        "recorded_at": clock.now(),
        "ticket_id": request.ticket_id,
        "draft_id": request.draft_id,
        "resolution_id": request.resolution_id,
        "reverses_entry_id": None,
        "waived_reason": None,
    }
    counted = False
    if account.monthly_cap_cents is not None and price.unit_price_micros > 0:
        counted = _within_cap(session, account, period=period, amount_micros=price.unit_price_micros)
        if not counted:
            row.update(unit_price_micros=0, amount_micros=0, waived_reason=SPEND_CAP)
            repository.mark_cap_reached(session, tenant_id=request.tenant_id, period=period)
    inserted = repository.insert_entries(session, [row])
    if not inserted:
        if counted:
            repository.undo_cap_counter(session, tenant_id=request.tenant_id, period=period,
                                        amount_micros=price.unit_price_micros)  # fmt: skip
        existing = repository.entry_by_key(session, request.tenant_id, request.idempotency_key)
        assert existing is not None
        return _duplicate(existing.id, existing.resolution_id, existing.period_start)
    status = OutcomeStatus.WAIVED_SPEND_CAP if row["waived_reason"] else OutcomeStatus.BILLED
    return OutcomeResult(status, inserted[0].id, request.resolution_id, inserted[0].amount_micros, period)


def _within_cap(session: Session, account: BillingAccount, *, period: date, amount_micros: int) -> bool:
    if account.cap_period_start is None or period >= account.cap_period_start:
        return repository.bump_cap_counter(
            session, tenant_id=account.tenant_id, period=period, amount_micros=amount_micros
        )
    # A late entry for an older, still open month: that month's spend comes from the ledger itself.
    repository.get_account(session, account.tenant_id, lock="no_key_update")
    spent = repository.period_spend_micros(session, account.tenant_id, period)
    assert account.monthly_cap_cents is not None
    return spent + amount_micros <= account.monthly_cap_cents * 1_000_000


def append_credit(
    session: Session,
    *,
    tenant_id: int,
    idempotency_key: str,
    reverses: Any,
    occurred_at: datetime,
    clock: Clock,
) -> OutcomeResult:
    """A reversal credit for an earlier entry, in the open period (never touching a closed invoice)."""
    account = ensure_account(session, tenant_id, earliest=occurred_at, clock=clock)
    period = max(period_of(occurred_at), account.open_period)
    inserted = repository.insert_entries(
        session,
        [
            {
                "tenant_id": tenant_id,
                "idempotency_key": idempotency_key,
                "kind": OutcomeKind.RESOLUTION_REVERSAL.value,
                "quantity": -reverses.quantity,
                "unit_price_micros": reverses.unit_price_micros,
                "amount_micros": -reverses.amount_micros,
                "currency": reverses.currency,
                "period_start": period,
                "occurred_at": occurred_at,
                "recorded_at": clock.now(),
                "ticket_id": reverses.ticket_id,
                "draft_id": reverses.draft_id,
                "resolution_id": reverses.resolution_id,
                "reverses_entry_id": reverses.id,
                "waived_reason": None,
            }
        ],
    )
    if not inserted:
        existing = repository.entry_by_key(session, tenant_id, idempotency_key)
        assert existing is not None
        return _duplicate(existing.id, existing.resolution_id, existing.period_start)
    return OutcomeResult(
        OutcomeStatus.BILLED, inserted[0].id, reverses.resolution_id, inserted[0].amount_micros, period
    )


def append_batch(session: Session, requests: list[EntryRequest], *, clock: Clock) -> list[OutcomeResult]:
    """The backfill path: multi-row INSERTs ordered by key, so concurrent batches cannot deadlock.

    Tenants with a spend cap go through the careful one-by-one path, since each entry depends on the last.
    Results come back in the order of `requests`; a key seen earlier (in the ledger or the batch) is DUPLICATE.
    """
    ordered = sorted(requests, key=lambda r: (r.tenant_id, r.idempotency_key))
    results: dict[tuple[int, str], OutcomeResult] = {}
    accounts: dict[int, BillingAccount] = {}
    prices: dict[int, list[Any]] = {}
    rows: dict[tuple[int, str], dict[str, Any]] = {}
    now = clock.now()
    for request in ordered:
        key = (request.tenant_id, request.idempotency_key)
        if key in rows or key in results:
            continue
        if request.tenant_id not in accounts:
            earliest = min(r.occurred_at for r in requests if r.tenant_id == request.tenant_id)
            accounts[request.tenant_id] = ensure_account(
                session, request.tenant_id, earliest=earliest, clock=clock
            )
            prices[request.tenant_id] = repository.prices_for(session, request.tenant_id)
        account = accounts[request.tenant_id]
        if account.monthly_cap_cents is not None:
            results[key] = append_charge(session, request, clock=clock)
            continue
        price = price_at(prices[request.tenant_id], request.kind, request.occurred_at, account.currency)
        rows[key] = {
            "tenant_id": request.tenant_id,
            "idempotency_key": request.idempotency_key,
            "kind": request.kind.value,
            "quantity": 1,
            "unit_price_micros": price.unit_price_micros,
            "amount_micros": price.unit_price_micros,
            "currency": price.currency,
            "period_start": max(period_of(request.occurred_at), account.open_period),
            "occurred_at": request.occurred_at,
            "recorded_at": now,
            "ticket_id": request.ticket_id,
            "draft_id": request.draft_id,
            "resolution_id": request.resolution_id,
            "reverses_entry_id": None,
            "waived_reason": None,
        }
    pending = list(rows.values())
    for start in range(0, len(pending), BATCH_ROWS):
        chunk = pending[start : start + BATCH_ROWS]
        for inserted in repository.insert_entries(session, chunk):
            # RETURNING order is not guaranteed, so rows are matched back by their key.
            results[(inserted.tenant_id, inserted.idempotency_key)] = OutcomeResult(
                OutcomeStatus.BILLED, inserted.id, None, inserted.amount_micros, inserted.period_start
            )
    outcome: list[OutcomeResult] = []
    seen: set[tuple[int, str]] = set()
    for request in requests:
        key = (request.tenant_id, request.idempotency_key)
        found = results.get(key)
        if found is None or key in seen:
            outcome.append(OutcomeResult(OutcomeStatus.DUPLICATE, found.entry_id if found else None))
        else:
            outcome.append(found)
        seen.add(key)
    return outcome


def _duplicate(entry_id: int, resolution_id: int | None, period: date) -> OutcomeResult:
    return OutcomeResult(OutcomeStatus.DUPLICATE, entry_id, resolution_id, 0, period)
