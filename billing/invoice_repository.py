"""SQL for invoices, their lines, the Stripe outbox and Stripe events."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import Session

from billing.models import BillingAccount, Invoice, InvoiceLine, StripePush
from billing.repository import EVENTS, INVOICE_LINES, INVOICES, LEDGER, PUSHES, dialect_insert
from plugin.core.db import UtcDateTime


@dataclass(frozen=True)
class LineAggregate:
    tenant_id: int
    kind: str
    unit_price_micros: int
    currency: str
    waived_reason: str | None
    quantity: int
    amount_micros: int
    entries: int


@dataclass(frozen=True)
class TicketCharge:
    ticket_id: str
    quantity: int
    amount_micros: int
    first_at: datetime
    last_at: datetime


def aggregate_lines(session: Session, *, period: date, tenant_ids: list[int] | None) -> list[LineAggregate]:
    """Invoice lines for a period, summed in SQL: one row per tenant, kind, unit price and waiver."""
    entry = LEDGER.c
    query = select(
        entry.tenant_id,
        entry.kind,
        entry.unit_price_micros,
        entry.currency,
        entry.waived_reason,
        func.sum(entry.quantity),
        func.sum(entry.amount_micros),
        func.count(),
    ).where(entry.period_start == period)
    if tenant_ids is not None:
        query = query.where(entry.tenant_id.in_(tenant_ids))
    query = query.group_by(
        entry.tenant_id, entry.kind, entry.unit_price_micros, entry.currency, entry.waived_reason
    ).order_by(entry.tenant_id)
    return [
        LineAggregate(row[0], row[1], row[2], row[3], row[4], int(row[5]), int(row[6]), int(row[7]))
        for row in session.execute(query)
    ]


def line_tickets(
    session: Session, *, tenant_id: int, period: date, line: InvoiceLine, limit: int, offset: int
) -> list[TicketCharge]:
    entry = LEDGER.c
    waived = (
        entry.waived_reason.is_(None)
        if line.waived_reason is None
        else entry.waived_reason == line.waived_reason
    )
    query = (
        select(
            entry.ticket_id,
            func.sum(entry.quantity),
            func.sum(entry.amount_micros),
            func.min(entry.occurred_at),
            func.max(entry.occurred_at),
        )
        .where(
            and_(
                entry.tenant_id == tenant_id,
                entry.period_start == period,
                entry.kind == line.kind,
                entry.unit_price_micros == line.unit_price_micros,
                entry.currency == line.currency,
                waived,
            )
        )
        .group_by(entry.ticket_id)
        .order_by(entry.ticket_id)
        .limit(limit)
        .offset(offset)
    )
    type_ = UtcDateTime()
    return [
        TicketCharge(
            row[0],
            int(row[1]),
            int(row[2]),
            type_.process_result_value(row[3], session.get_bind().dialect),  # type: ignore[arg-type]
            type_.process_result_value(row[4], session.get_bind().dialect),  # type: ignore[arg-type]
        )
        for row in session.execute(query)
    ]


# -- invoices -----------------------------------------------------------------------------------------
def add_invoices(session: Session, invoices: list[Invoice]) -> None:
    session.add_all(invoices)
    session.flush()


def add_lines(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(INVOICE_LINES.insert(), rows)


def add_pushes(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(PUSHES.insert(), rows)


def list_invoices(session: Session, tenant_id: int, *, limit: int, offset: int) -> list[Invoice]:
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.tenant_id == tenant_id)
            .order_by(Invoice.period_start.desc())
            .limit(limit)
            .offset(offset)
        )
    )


def invoice_by_id(session: Session, tenant_id: int, invoice_id: int) -> Invoice | None:
    return session.scalar(select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.id == invoice_id))


def invoice_for_period(session: Session, tenant_id: int, period: date) -> Invoice | None:
    return session.scalar(
        select(Invoice).where(Invoice.tenant_id == tenant_id, Invoice.period_start == period)
    )


def invoice_lines(session: Session, invoice_id: int) -> list[InvoiceLine]:
    return list(
        session.scalars(
            select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.position)
        )
    )


def all_finalized_invoices(session: Session, tenant_id: int) -> list[Invoice]:
    return list(
        session.scalars(select(Invoice).where(Invoice.tenant_id == tenant_id).order_by(Invoice.period_start))
    )


# -- stripe outbox and events -------------------------------------------------------------------------
def pending_pushes(session: Session, *, limit: int) -> list[StripePush]:
    query = (
        select(StripePush)
        .where(StripePush.state == "pending")
        .order_by(StripePush.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query.execution_options(populate_existing=True)))


def push_for_invoice(session: Session, invoice_id: int) -> StripePush | None:
    return session.scalar(select(StripePush).where(StripePush.invoice_id == invoice_id))


def push_by_stripe_invoice(session: Session, stripe_invoice_id: str) -> StripePush | None:
    return session.scalar(select(StripePush).where(StripePush.stripe_invoice_id == stripe_invoice_id))


def insert_stripe_event(session: Session, values: dict[str, Any]) -> int | None:
    statement = (
        dialect_insert(session, EVENTS)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["provider", "event_id"])
        .returning(EVENTS.c.id)
    )
    row = session.execute(statement).first()
    return None if row is None else int(row[0])


def mark_event(
    session: Session, event_row_id: int, *, tenant_id: int | None, invoice_id: int | None, handled: bool
) -> None:
    session.execute(
        update(EVENTS)
        .where(EVENTS.c.id == event_row_id)
        .values(tenant_id=tenant_id, invoice_id=invoice_id, handled=handled)
    )


def set_payment_status(session: Session, invoice_id: int, *, status: str, paid_at: datetime | None) -> None:
    session.execute(
        update(INVOICES).where(INVOICES.c.id == invoice_id).values(payment_status=status, paid_at=paid_at)
    )


def invoice_by_any_tenant(session: Session, invoice_id: int) -> Invoice | None:
    """Only for Stripe webhooks, where the event itself names the invoice (and so the tenant)."""
    return session.get(Invoice, invoice_id)


def accounts_with_invoices(session: Session, tenant_ids: list[int] | None) -> list[BillingAccount]:
    query = select(BillingAccount).where(
        BillingAccount.tenant_id.in_(select(Invoice.tenant_id).distinct())
        | BillingAccount.stripe_customer_id.is_not(None)
    )
    if tenant_ids is not None:
        query = query.where(BillingAccount.tenant_id.in_(tenant_ids))
    return list(session.scalars(query.order_by(BillingAccount.tenant_id)))
