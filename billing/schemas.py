"""Billing's HTTP shapes. Amounts are integer cents; unit prices are decimal strings in cents."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from billing.caps import CapMode, CapState, SpendStatus
from billing.invoice_repository import TicketCharge
from billing.invoices import InvoiceView, LineView, PendingView
from billing.money import micros_to_rate


class TicketChargeOut(BaseModel):
    ticket_id: str
    quantity: int
    amount_cents: str = Field(description="Unrounded amount in cents (decimal string); rounding is per line")
    first_at: datetime
    last_at: datetime

    @classmethod
    def of(cls, charge: TicketCharge) -> "TicketChargeOut":
        return cls(
            ticket_id=charge.ticket_id,
            quantity=charge.quantity,
            amount_cents=str(micros_to_rate(charge.amount_micros)),
            first_at=charge.first_at,
            last_at=charge.last_at,
        )


class LineOut(BaseModel):
    id: int | None
    position: int
    kind: str
    description: str
    quantity: int
    unit_price_cents: str
    amount_cents: int
    currency: str
    waived_reason: str | None
    tickets: list[TicketChargeOut] | None = None

    @classmethod
    def of(cls, line: LineView, tickets: list[TicketCharge] | None = None) -> "LineOut":
        return cls(
            id=line.id,
            position=line.position,
            kind=line.kind,
            description=line.description,
            quantity=line.quantity,
            unit_price_cents=str(micros_to_rate(line.unit_price_micros)),
            amount_cents=line.amount_cents,
            currency=line.currency,
            waived_reason=line.waived_reason,
            tickets=None if tickets is None else [TicketChargeOut.of(charge) for charge in tickets],
        )


class PendingResolutionOut(BaseModel):
    ticket_id: str
    resolved_at: datetime
    window_ends_at: datetime


class PendingOut(BaseModel):
    count: int
    potential_cents: int = Field(description="What these would cost if they all stick; not in the total")
    resolutions: list[PendingResolutionOut]

    @classmethod
    def of(cls, pending: PendingView) -> "PendingOut":
        return cls(
            count=pending.count,
            potential_cents=pending.potential_cents,
            resolutions=[PendingResolutionOut(**vars(r)) for r in pending.resolutions],
        )


class InvoiceOut(BaseModel):
    id: int | None
    number: str | None
    status: str
    period_start: date
    period_end: date
    currency: str
    total_cents: int
    credit_cents: int
    entry_count: int
    finalized_at: datetime | None
    payment_status: str | None
    lines: list[LineOut]
    pending: PendingOut | None = None

    @classmethod
    def of(cls, view: InvoiceView, tickets: dict[int, list[TicketCharge]] | None = None) -> "InvoiceOut":
        return cls(
            id=view.id,
            number=view.number,
            status=view.status,
            period_start=view.period_start,
            period_end=view.period_end,
            currency=view.currency,
            total_cents=view.total_cents,
            credit_cents=view.credit_cents,
            entry_count=view.entry_count,
            finalized_at=view.finalized_at,
            payment_status=view.payment_status,
            lines=[
                LineOut.of(line, None if tickets is None else tickets.get(line.id or 0, []))
                for line in view.lines
            ],
            pending=None if view.pending is None else PendingOut.of(view.pending),
        )


class SpendStatusOut(BaseModel):
    period_start: date
    spent_cents: int
    cap_cents: int | None
    state: CapState
    mode: CapMode
    currency: str

    @classmethod
    def of(cls, status: SpendStatus) -> "SpendStatusOut":
        return cls(**vars(status))


class SpendCapIn(BaseModel):
    cap_cents: int | None = Field(ge=0, le=10**15, description="Monthly cap in cents; null removes the cap")
    mode: CapMode = CapMode.SUGGEST_ONLY


class UsageOut(BaseModel):
    period_start: date
    currency: str
    lines: list[LineOut]
    total_cents: int
    pending: PendingOut
    spend: SpendStatusOut


class InvoiceAmendIn(BaseModel):
    memo: str = Field(max_length=500)


class StripeWebhookOut(BaseModel):
    event_id: str
    event_type: str
    duplicate: bool
    handled: bool
