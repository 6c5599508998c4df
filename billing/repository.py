"""All billing SQL. Aggregation stays in the database; callers get rows or small dataclasses."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, NamedTuple, cast

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    String,
    Table,
    bindparam,
    case,
    func,
    literal,
    select,
    true,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from billing.models import (
    BillingAccount,
    Invoice,
    InvoiceLine,
    LedgerEntry,
    PriceRow,
    Resolution,
    StripeEvent,
    StripePush,
)
from billing.money import MICROS_PER_MINOR
from billing.pricing import OutcomeKind, Price
from plugin.core.db import UtcDateTime

Lock = Literal["key_share", "no_key_update", "update"] | None
LEDGER = cast(Table, LedgerEntry.__table__)
ACCOUNTS = cast(Table, BillingAccount.__table__)
PRICES = cast(Table, PriceRow.__table__)
RESOLUTIONS = cast(Table, Resolution.__table__)
INVOICES = cast(Table, Invoice.__table__)
INVOICE_LINES = cast(Table, InvoiceLine.__table__)
PUSHES = cast(Table, StripePush.__table__)
EVENTS = cast(Table, StripeEvent.__table__)
RETURNED = (
    LEDGER.c.id,
    LEDGER.c.amount_micros,
    LEDGER.c.period_start,
    LEDGER.c.idempotency_key,
    LEDGER.c.tenant_id,
)


@dataclass(frozen=True)
class InsertedEntry:
    id: int
    amount_micros: int
    period_start: date
    idempotency_key: str
    tenant_id: int


def dialect_insert(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgres_insert

        return postgres_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


def _locked(query: Select[Any], lock: Lock) -> Select[Any]:
    if lock == "key_share":
        return query.with_for_update(read=True, key_share=True)
    if lock == "no_key_update":
        return query.with_for_update(key_share=True)
    if lock == "update":
        return query.with_for_update()
    return query


# -- accounts -----------------------------------------------------------------------------------------
def get_account(session: Session, tenant_id: int, *, lock: Lock = None) -> BillingAccount | None:
    query = _locked(select(BillingAccount).where(BillingAccount.tenant_id == tenant_id), lock)
    return session.scalar(query.execution_options(populate_existing=True))


def create_account_if_missing(
    session: Session, *, tenant_id: int, currency: str, open_period: date, now: datetime
) -> None:
    statement = (
        dialect_insert(session, ACCOUNTS)
        .values(
            tenant_id=tenant_id,
            currency=currency,
            cap_mode="suggest_only",
            cap_period_spent_micros=0,
            open_period=open_period,
            last_invoice_seq=0,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id"])
    )
    session.execute(statement)


def accounts_for_close(session: Session, tenant_ids: list[int] | None, through: date) -> list[BillingAccount]:
    """Accounts with an open period at or before `through`, locked in tenant order (no deadlocks)."""
    query = select(BillingAccount).where(BillingAccount.open_period <= through)
    if tenant_ids is not None:
        query = query.where(BillingAccount.tenant_id.in_(tenant_ids))
    query = query.order_by(BillingAccount.tenant_id).with_for_update()
    return list(session.scalars(query.execution_options(populate_existing=True)))


def accounts_with_customer(session: Session) -> list[BillingAccount]:
    return list(
        session.scalars(
            select(BillingAccount)
            .where(BillingAccount.stripe_customer_id.is_not(None))
            .order_by(BillingAccount.tenant_id)
        )
    )


def bump_cap_counter(session: Session, *, tenant_id: int, period: date, amount_micros: int) -> bool:
    """Add to the period's spend only if it stays within the cap; atomic under concurrent writers."""
    account = ACCOUNTS.c
    same_period = account.cap_period_start == literal(period, Date)
    spent_before = case((same_period, account.cap_period_spent_micros), else_=0)
    statement = (
        update(ACCOUNTS)
        .where(
            account.tenant_id == tenant_id,
            account.monthly_cap_cents.is_not(None),
            (account.cap_period_start.is_(None)) | (account.cap_period_start <= literal(period, Date)),
            spent_before + amount_micros <= account.monthly_cap_cents * MICROS_PER_MINOR,
        )
        .values(cap_period_spent_micros=spent_before + amount_micros, cap_period_start=period)
    )
    return bool(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def undo_cap_counter(session: Session, *, tenant_id: int, period: date, amount_micros: int) -> None:
    account = ACCOUNTS.c
    session.execute(
        update(ACCOUNTS)
        .where(account.tenant_id == tenant_id, account.cap_period_start == period)
        .values(cap_period_spent_micros=account.cap_period_spent_micros - amount_micros)
    )


def mark_cap_reached(session: Session, *, tenant_id: int, period: date) -> None:
    session.execute(
        update(ACCOUNTS).where(BillingAccount.tenant_id == tenant_id).values(cap_reached_period=period)
    )


# -- prices -------------------------------------------------------------------------------------------
def prices_for(session: Session, tenant_id: int) -> list[Price]:
    rows = session.scalars(select(PriceRow).where(PriceRow.tenant_id == tenant_id))
    return [Price(OutcomeKind(r.kind), r.unit_price_micros, r.currency, r.effective_from) for r in rows]


def add_price(session: Session, row: PriceRow) -> None:
    session.add(row)
    session.flush()


# -- ledger -------------------------------------------------------------------------------------------
_HOT_PATH: dict[str, Any] = {}


def _hot_path_statement(dialect: str) -> Any:
    """Built once per dialect with bind parameters, so each call only binds values (no re-compiling)."""
    if dialect in _HOT_PATH:
        return _HOT_PATH[dialect]
    account = ACCOUNTS.c
    price = PRICES.c
    tenant_id = bindparam("tenant_id", type_=Integer())
    kind = bindparam("kind", type_=String())
    occurred_at = bindparam("occurred_at", type_=UtcDateTime())
    # The price in force, looked up once per outcome; no row means the list price.
    in_force = (
        select(price.unit_price_micros, price.currency)
        .where(price.tenant_id == tenant_id, price.kind == kind, price.effective_from <= occurred_at)
        .order_by(price.effective_from.desc())
        .limit(1)
        .subquery("in_force")
    )
    unit_price = func.coalesce(
        in_force.c.unit_price_micros, bindparam("default_unit_price_micros", type_=BigInteger())
    )
    occurred_period = bindparam("occurred_period", type_=Date())
    period = case((account.open_period > occurred_period, account.open_period), else_=occurred_period)
    source = (
        select(
            account.tenant_id,
            bindparam("idempotency_key", type_=String()),
            kind,
            literal(1),
            unit_price,
            unit_price,
            func.coalesce(in_force.c.currency, account.currency),
            period,
            occurred_at,
            bindparam("recorded_at", type_=UtcDateTime()),
            bindparam("ticket_id", type_=String()),
            bindparam("draft_id", type_=String()),
            bindparam("resolution_id", type_=Integer()),
        )
        .select_from(ACCOUNTS.outerjoin(in_force, true()))
        .where(account.tenant_id == tenant_id, account.monthly_cap_cents.is_(None))
    )
    if dialect == "postgresql":
        source = source.with_for_update(read=True, key_share=True, of=ACCOUNTS)
    columns = [
        "tenant_id", "idempotency_key", "kind", "quantity", "unit_price_micros", "amount_micros", "currency",
        "period_start", "occurred_at", "recorded_at", "ticket_id", "draft_id", "resolution_id",
    ]  # fmt: skip
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert  # type: ignore[assignment]
    statement = (
        dialect_insert(LEDGER)
        .from_select(columns, source)
        .on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"])
        .returning(*RETURNED)
    )
    _HOT_PATH[dialect] = statement
    return statement


def insert_priced_entry_if_uncapped(
    session: Session,
    *,
    tenant_id: int,
    kind: OutcomeKind,
    idempotency_key: str,
    occurred_period: date,
    occurred_at: datetime,
    recorded_at: datetime,
    ticket_id: str,
    draft_id: str | None,
    resolution_id: int | None,
    default_unit_price_micros: int,
) -> InsertedEntry | None:
    """The hot path in one statement: price, open period and key check for a tenant without a cap.

    Returns None when nothing was inserted (duplicate key, no account yet, or a capped account); the
    caller then takes the careful path.
    """
    statement = _hot_path_statement(session.get_bind().dialect.name)
    row = (
        session.connection()
        .execute(
            statement,
            {
                "tenant_id": tenant_id,
                "kind": kind.value,
                "idempotency_key": idempotency_key,
                "occurred_period": occurred_period,
                "occurred_at": occurred_at,
                "recorded_at": recorded_at,
                "ticket_id": ticket_id,
                "draft_id": draft_id,
                "resolution_id": resolution_id,
                "default_unit_price_micros": default_unit_price_micros,
            },
        )
        .first()
    )
    return None if row is None else InsertedEntry(*row)


def insert_entries(session: Session, rows: list[dict[str, Any]]) -> list[InsertedEntry]:
    """INSERT ... ON CONFLICT DO NOTHING for one or many rows; returns what was actually inserted."""
    if not rows:
        return []
    statement = (
        dialect_insert(session, LEDGER)
        .on_conflict_do_nothing(index_elements=["tenant_id", "idempotency_key"])
        .returning(*RETURNED)
    )
    return [InsertedEntry(*row) for row in session.execute(statement, rows)]


class EntryRef(NamedTuple):
    id: int
    resolution_id: int | None
    period_start: date


_ENTRY_BY_KEY = select(LEDGER.c.id, LEDGER.c.resolution_id, LEDGER.c.period_start).where(
    LEDGER.c.tenant_id == bindparam("tenant_id"), LEDGER.c.idempotency_key == bindparam("idempotency_key")
)


def entry_by_key(session: Session, tenant_id: int, idempotency_key: str) -> EntryRef | None:
    """The entry a key already holds (a retry's answer), read without building an ORM object or a statement."""
    row = (
        session.connection()
        .execute(_ENTRY_BY_KEY, {"tenant_id": tenant_id, "idempotency_key": idempotency_key})
        .first()
    )
    return None if row is None else EntryRef(*row)


def entry_by_id(session: Session, tenant_id: int, entry_id: int) -> LedgerEntry | None:
    return session.scalar(
        select(LedgerEntry).where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.id == entry_id)
    )


def period_spend_micros(session: Session, tenant_id: int, period: date) -> int:
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_micros), 0)).where(
            LedgerEntry.tenant_id == tenant_id,
            LedgerEntry.period_start == period,
            LedgerEntry.amount_micros > 0,
        )
    )
    return int(total or 0)


# -- resolutions --------------------------------------------------------------------------------------
def insert_resolution(session: Session, values: dict[str, Any]) -> int | None:
    statement = (
        dialect_insert(session, RESOLUTIONS)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "ticket_id"])
        .returning(RESOLUTIONS.c.id)
    )
    row = session.execute(statement).first()
    return None if row is None else int(row[0])


def get_resolution(
    session: Session, tenant_id: int, ticket_id: str, *, lock: Lock = None
) -> Resolution | None:
    query = _locked(
        select(Resolution).where(Resolution.tenant_id == tenant_id, Resolution.ticket_id == ticket_id), lock
    )
    return session.scalar(query.execution_options(populate_existing=True))


def claim_due_resolutions(
    session: Session, *, now: datetime, limit: int, tenant_id: int | None
) -> list[Resolution]:
    """Pending resolutions whose window has passed; SKIP LOCKED lets several workers share the work."""
    query = select(Resolution).where(Resolution.state == "pending", Resolution.window_ends_at <= now)
    if tenant_id is not None:
        query = query.where(Resolution.tenant_id == tenant_id)
    query = query.order_by(Resolution.window_ends_at, Resolution.id).limit(limit)
    query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query.execution_options(populate_existing=True)))


def pending_resolutions(session: Session, tenant_id: int, *, limit: int) -> list[Resolution]:
    return list(
        session.scalars(
            select(Resolution)
            .where(Resolution.tenant_id == tenant_id, Resolution.state == "pending")
            .order_by(Resolution.window_ends_at, Resolution.id)
            .limit(limit)
        )
    )


def count_pending(session: Session, tenant_id: int) -> int:
    return int(
        session.scalar(
            select(func.count()).where(Resolution.tenant_id == tenant_id, Resolution.state == "pending")
        )
        or 0
    )


def fees_by_ticket(session: Session, tenant_id: int, ticket_ids: list[str]) -> dict[str, int]:
    """Net billed micros per ticket (charges minus reversal credits), for the given tickets."""
    from sqlalchemy import func, select

    from billing.models import LedgerEntry

    totals: dict[str, int] = {}
    for start in range(0, len(ticket_ids), 5000):
        chunk = ticket_ids[start : start + 5000]
        rows = session.execute(
            select(LedgerEntry.ticket_id, func.sum(LedgerEntry.amount_micros))
            .where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.ticket_id.in_(chunk))
            .group_by(LedgerEntry.ticket_id)
        )
        totals.update({ticket: int(micros or 0) for ticket, micros in rows})
    return totals


def settled_resolution_states(session: Session, tenant_id: int) -> list[tuple[str | None, str]]:
    """(draft id, state) of the tenant's resolutions whose fate is known (not pending)."""
    rows = session.execute(
        select(Resolution.draft_id, Resolution.state).where(
            Resolution.tenant_id == tenant_id, Resolution.state != "pending"
        )
    )
    return [(draft_id, state) for draft_id, state in rows]
