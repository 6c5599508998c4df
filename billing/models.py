"""Billing tables. Money lives in the append-only ledger; everything else points at it."""

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
)
from sqlalchemy.orm import Mapped, mapped_column

from billing.errors import InvoiceFinalized, LedgerIsAppendOnly
from plugin.core.db import Base, UtcDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class BillingAccount(Base):
    """Per-tenant billing state: currency, spend cap and its running counter, open period, Stripe id.

    `open_period` is the first month not yet invoiced; entries for earlier months land in it. Writers lock
    this row FOR KEY SHARE (they do not block each other); closing a period and changing the cap take
    FOR UPDATE, so they wait for every in-flight entry and every later entry sees their change.
    """

    __tablename__ = "billing_account"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    currency: Mapped[str] = mapped_column(String(3))
    monthly_cap_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cap_mode: Mapped[str] = mapped_column(String(16), default="suggest_only")
    cap_period_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    cap_period_spent_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    cap_reached_period: Mapped[date | None] = mapped_column(Date, nullable=True)
    open_period: Mapped[date] = mapped_column(Date)
    last_invoice_seq: Mapped[int] = mapped_column(Integer, default=0)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    billing_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PriceRow(Base):
    __tablename__ = "billing_price"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "effective_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    unit_price_micros: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    effective_from: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LedgerEntry(Base):
    """One billable (or waived, or credited) outcome. Never updated, never deleted."""

    __tablename__ = "billing_ledger_entry"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_billing_ledger_entry_period_tenant", "period_start", "tenant_id", "kind"),
        Index("ix_billing_ledger_entry_tenant_ticket", "tenant_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_micros: Mapped[int] = mapped_column(BigInteger)
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[date] = mapped_column(Date)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ticket_id: Mapped[str] = mapped_column(String(64))
    draft_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolution_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reverses_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    waived_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Resolution(Base):
    """An autonomous resolution on its way to sticking (pending -> billed) or not (cancelled)."""

    __tablename__ = "billing_resolution"
    __table_args__ = (
        UniqueConstraint("tenant_id", "ticket_id"),
        Index("ix_billing_resolution_state_window", "state", "window_ends_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[str] = mapped_column(String(64))
    draft_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16))
    resolved_at: Mapped[datetime] = mapped_column(UtcDateTime())
    window_ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    settled_by: Mapped[str | None] = mapped_column(String(32), nullable=True)
    entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reversal_entry_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Invoice(Base):
    """A closed month for one tenant. Content is immutable once finalized; payment status follows Stripe."""

    __tablename__ = "billing_invoice"
    __table_args__ = (UniqueConstraint("tenant_id", "period_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16))
    total_cents: Mapped[int] = mapped_column(BigInteger)
    credit_cents: Mapped[int] = mapped_column(BigInteger)
    entry_count: Mapped[int] = mapped_column(Integer)
    finalized_at: Mapped[datetime] = mapped_column(UtcDateTime())
    payment_status: Mapped[str] = mapped_column(String(16), default="unpaid")
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class InvoiceLine(Base):
    __tablename__ = "billing_invoice_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("billing_invoice.id"), index=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    waived_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    description: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_micros: Mapped[int] = mapped_column(BigInteger)
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))


class StripePush(Base):
    """Outbox: a finalized invoice waiting to be (or already) delivered to Stripe."""

    __tablename__ = "billing_stripe_push"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    invoice_id: Mapped[int] = mapped_column(Integer, unique=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(100), nullable=True, index=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class StripeEvent(Base):
    """Every verified Stripe webhook event, once, under Stripe's event id."""

    __tablename__ = "billing_stripe_event"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(20), default="stripe")
    event_id: Mapped[str] = mapped_column(String(200))
    event_type: Mapped[str] = mapped_column(String(200))
    tenant_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    invoice_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    handled: Mapped[bool] = mapped_column(default=False)
    body: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


INVOICE_CONTENT = (
    "number",
    "period_start",
    "period_end",
    "currency",
    "total_cents",
    "credit_cents",
    "entry_count",
)


@event.listens_for(LedgerEntry, "before_update")
@event.listens_for(LedgerEntry, "before_delete")
def _ledger_is_append_only(_mapper: object, _connection: object, target: LedgerEntry) -> None:
    raise LedgerIsAppendOnly(f"ledger entry {target.id} cannot change; append a correcting entry instead")


@event.listens_for(InvoiceLine, "before_update")
@event.listens_for(InvoiceLine, "before_delete")
def _lines_are_immutable(_mapper: object, _connection: object, target: InvoiceLine) -> None:
    raise InvoiceFinalized(f"invoice {target.invoice_id} is finalized; its lines cannot change")


@event.listens_for(Invoice, "before_update")
def _invoice_content_is_immutable(_mapper: object, _connection: object, target: Invoice) -> None:
    state = inspect(target)
    if any(state.attrs[name].history.has_changes() for name in (*INVOICE_CONTENT, "status")):
        raise InvoiceFinalized(f"invoice {target.number} is finalized and cannot change")


@event.listens_for(Invoice, "before_delete")
def _invoice_is_kept(_mapper: object, _connection: object, target: Invoice) -> None:
    raise InvoiceFinalized(f"invoice {target.number} is finalized and cannot be deleted")
