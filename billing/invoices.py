"""Monthly invoices: a live preview of the open period, closing after the grace period, drill-down."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from billing import invoice_repository, repository
from billing.errors import InvoiceFinalized, InvoiceNotFound, PeriodNotClosable
from billing.invoice_repository import LineAggregate, TicketCharge
from billing.ledger import SPEND_CAP
from billing.models import BillingAccount, Invoice, InvoiceLine
from billing.money import round_half_away_from_zero
from billing.periods import DEFAULT_GRACE, next_period, period_end_at, period_of, periods_between
from billing.pricing import OutcomeKind, default_price, price_at
from plugin.core.clock import Clock

DESCRIPTIONS = {
    OutcomeKind.DRAFT.value: "AI drafts delivered to agents",
    OutcomeKind.RESOLUTION.value: "Autonomous resolutions that stuck",
    OutcomeKind.RESOLUTION_REVERSAL.value: "Credit: resolutions reopened within 7 days",
}
KIND_ORDER = {
    OutcomeKind.DRAFT.value: 0,
    OutcomeKind.RESOLUTION.value: 1,
    OutcomeKind.RESOLUTION_REVERSAL.value: 2,
}
WAIVER_NOTES = {SPEND_CAP: "beyond the spend cap (not charged)"}


@dataclass(frozen=True)
class LineView:
    id: int | None
    position: int
    kind: str
    description: str
    quantity: int
    unit_price_micros: int
    amount_cents: int
    currency: str
    waived_reason: str | None


@dataclass(frozen=True)
class PendingResolutionView:
    ticket_id: str
    resolved_at: datetime
    window_ends_at: datetime


@dataclass(frozen=True)
class PendingView:
    count: int
    potential_cents: int
    resolutions: list[PendingResolutionView]


@dataclass(frozen=True)
class InvoiceView:
    id: int | None
    number: str | None
    tenant_id: int
    status: str
    period_start: date
    period_end: date
    currency: str
    lines: list[LineView]
    total_cents: int
    credit_cents: int
    entry_count: int
    finalized_at: datetime | None
    payment_status: str | None
    pending: PendingView | None = None


def build_lines(aggregates: list[LineAggregate]) -> list[LineView]:
    """One line per kind, unit price and waiver, each rounded once, half away from zero."""
    ordered = sorted(
        aggregates,
        key=lambda a: (a.waived_reason is not None, KIND_ORDER.get(a.kind, 9), -a.unit_price_micros),
    )
    lines = []
    for position, aggregate in enumerate(ordered, start=1):
        description = DESCRIPTIONS.get(aggregate.kind, aggregate.kind)
        if aggregate.waived_reason is not None:
            description = f"{description} {WAIVER_NOTES.get(aggregate.waived_reason, '(not charged)')}"
        lines.append(
            LineView(
                id=None,
                position=position,
                kind=aggregate.kind,
                description=description,
                quantity=aggregate.quantity,
                unit_price_micros=aggregate.unit_price_micros,
                amount_cents=round_half_away_from_zero(aggregate.amount_micros),
                currency=aggregate.currency,
                waived_reason=aggregate.waived_reason,
            )
        )
    return lines


def preview(session: Session, *, tenant_id: int, now: datetime, pending_limit: int = 100) -> InvoiceView:
    """The open period as it stands: billed lines, and pending resolutions apart (not in the total)."""
    account = repository.get_account(session, tenant_id)
    period = period_of(now) if account is None else max(period_of(now), account.open_period)
    currency = account.currency if account is not None else default_price(OutcomeKind.DRAFT).currency
    lines = build_lines(invoice_repository.aggregate_lines(session, period=period, tenant_ids=[tenant_id]))
    pending = repository.pending_resolutions(session, tenant_id, limit=pending_limit)
    count = repository.count_pending(session, tenant_id)
    unit = price_at(repository.prices_for(session, tenant_id), OutcomeKind.RESOLUTION, now, currency)
    return InvoiceView(
        id=None,
        number=None,
        tenant_id=tenant_id,
        status="open",
        period_start=period,
        period_end=next_period(period),
        currency=currency,
        lines=lines,
        total_cents=sum(line.amount_cents for line in lines),
        credit_cents=-sum(line.amount_cents for line in lines if line.amount_cents < 0),
        entry_count=0,
        finalized_at=None,
        payment_status=None,
        pending=PendingView(
            count=count,
            potential_cents=round_half_away_from_zero(count * unit.unit_price_micros),
            resolutions=[
                PendingResolutionView(r.ticket_id, r.resolved_at, r.window_ends_at) for r in pending
            ],
        ),
    )


def close_period(
    session: Session,
    *,
    period_start: date,
    clock: Clock,
    tenant_ids: list[int] | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> list[Invoice]:
    """Finalize every still-open month up to `period_start` (all tenants, or the given ones).

    Idempotent: a month already closed is skipped. Tenants with nothing billed get no invoice. Each
    finalized invoice gets an outbox row for the Stripe push, written in the same transaction.
    """
    now = clock.now()
    if now < period_end_at(period_start) + grace:
        raise PeriodNotClosable(
            f"period {period_start:%Y-%m} can be closed from {period_end_at(period_start) + grace:%Y-%m-%d %H:%M} UTC"
        )
    accounts = repository.accounts_for_close(session, tenant_ids, through=period_start)
    created: list[Invoice] = []
    if not accounts:
        return created
    for period in periods_between(min(a.open_period for a in accounts), period_start):
        closing = {a.tenant_id: a for a in accounts if a.open_period == period}
        if closing:
            created.extend(_close_one_period(session, period, closing, tenant_ids is not None, now))
    return created


def _close_one_period(
    session: Session, period: date, closing: dict[int, BillingAccount], filtered: bool, now: datetime
) -> list[Invoice]:
    aggregates = invoice_repository.aggregate_lines(
        session, period=period, tenant_ids=list(closing) if filtered else None
    )
    by_tenant: dict[int, list[LineAggregate]] = defaultdict(list)
    for aggregate in aggregates:
        if aggregate.tenant_id in closing:
            by_tenant[aggregate.tenant_id].append(aggregate)
    invoices: list[Invoice] = []
    lines_by_tenant: dict[int, list[LineView]] = {}
    for tenant_id, tenant_aggregates in sorted(by_tenant.items()):
        account = closing[tenant_id]
        lines = build_lines(tenant_aggregates)
        currencies = {line.currency for line in lines}
        if len(currencies) > 1:
            raise PeriodNotClosable(f"tenant {tenant_id} has entries in several currencies in {period:%Y-%m}")
        account.last_invoice_seq += 1
        invoices.append(
            Invoice(
                tenant_id=tenant_id,
                number=f"OD-{tenant_id:05d}-{account.last_invoice_seq:04d}",
                period_start=period,
                period_end=next_period(period),
                currency=currencies.pop(),
                status="finalized",
                total_cents=sum(line.amount_cents for line in lines),
                credit_cents=-sum(line.amount_cents for line in lines if line.amount_cents < 0),
                entry_count=sum(a.entries for a in tenant_aggregates),
                finalized_at=now,
                payment_status="unpaid",
            )
        )
        lines_by_tenant[tenant_id] = lines
    for account in closing.values():
        account.open_period = next_period(period)
    invoice_repository.add_invoices(session, invoices)
    invoice_repository.add_lines(
        session,
        [
            {
                "invoice_id": invoice.id,
                "tenant_id": invoice.tenant_id,
                "position": line.position,
                "kind": line.kind,
                "waived_reason": line.waived_reason,
                "description": line.description,
                "quantity": line.quantity,
                "unit_price_micros": line.unit_price_micros,
                "amount_cents": line.amount_cents,
                "currency": line.currency,
            }
            for invoice in invoices
            for line in lines_by_tenant[invoice.tenant_id]
        ],
    )
    invoice_repository.add_pushes(
        session,
        [
            {
                "invoice_id": i.id,
                "tenant_id": i.tenant_id,
                "state": "pending",
                "attempts": 0,
                "created_at": now,
            }
            for i in invoices
        ],
    )
    session.flush()
    return invoices


def list_invoices(session: Session, *, tenant_id: int, limit: int = 50, offset: int = 0) -> list[InvoiceView]:
    """Finalized invoices, newest period first (without lines)."""
    return [
        _view(invoice, [])
        for invoice in invoice_repository.list_invoices(session, tenant_id, limit=limit, offset=offset)
    ]


def get_invoice(session: Session, *, tenant_id: int, invoice_id: int) -> InvoiceView:
    """A finalized invoice with its lines; another tenant's invoice is simply not found."""
    invoice = _owned(session, tenant_id, invoice_id)
    return _view(invoice, invoice_repository.invoice_lines(session, invoice.id))


def line_tickets(
    session: Session, *, tenant_id: int, invoice_id: int, line_id: int, limit: int = 500, offset: int = 0
) -> list[TicketCharge]:
    """The tickets behind one invoice line, with their quantities and unrounded amounts."""
    invoice = _owned(session, tenant_id, invoice_id)
    line = next(
        (line for line in invoice_repository.invoice_lines(session, invoice.id) if line.id == line_id), None
    )
    if line is None:
        raise InvoiceNotFound(f"invoice {invoice.number} has no line {line_id}")
    return invoice_repository.line_tickets(
        session, tenant_id=tenant_id, period=invoice.period_start, line=line, limit=limit, offset=offset
    )


def amend_invoice(session: Session, *, tenant_id: int, invoice_id: int) -> None:
    """Every invoice we keep is finalized; changes go into the open period as new ledger entries."""
    invoice = _owned(session, tenant_id, invoice_id)
    raise InvoiceFinalized(
        f"invoice {invoice.number} is finalized and cannot change; corrections land in the open period"
    )


def _owned(session: Session, tenant_id: int, invoice_id: int) -> Invoice:
    invoice = invoice_repository.invoice_by_id(session, tenant_id, invoice_id)
    if invoice is None:
        raise InvoiceNotFound(f"invoice {invoice_id} not found")
    return invoice


def _view(invoice: Invoice, lines: list[InvoiceLine]) -> InvoiceView:
    return InvoiceView(
        id=invoice.id,
        number=invoice.number,
        tenant_id=invoice.tenant_id,
        status=invoice.status,
        period_start=invoice.period_start,
        period_end=invoice.period_end,
        currency=invoice.currency,
        lines=[
            LineView(
                line.id,
                line.position,
                line.kind,
                line.description,
                line.quantity,
                line.unit_price_micros,
                line.amount_cents,
                line.currency,
                line.waived_reason,
            )
            for line in lines
        ],
        total_cents=invoice.total_cents,
        credit_cents=invoice.credit_cents,
        entry_count=invoice.entry_count,
        finalized_at=invoice.finalized_at,
        payment_status=invoice.payment_status,
    )
