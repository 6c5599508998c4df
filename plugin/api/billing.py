"""Finance API: usage, invoices with drill-down and exports, spend cap, pending resolutions, Stripe webhooks."""

import functools
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from billing import caps, exports, invoices, stripe_events
from billing.invoice_repository import TicketCharge
from billing.invoices import InvoiceView
from billing.schemas import (
    InvoiceAmendIn,
    InvoiceOut,
    LineOut,
    PendingOut,
    SpendCapIn,
    SpendStatusOut,
    StripeWebhookOut,
    TicketChargeOut,
    UsageOut,
)
from billing.stripe_gateway import verify_webhook
from plugin.api.schemas import ERROR_RESPONSES
from plugin.core.errors import PayloadTooLarge, Unauthorized
from plugin.deps import ClockDep, FinancePrincipal, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1", tags=["billing"], responses=ERROR_RESPONSES)

MAX_ID = 2**31 - 1
InvoiceId = Annotated[int, Path(ge=1, le=MAX_ID)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
ExportFormat = Literal["csv", "html", "pdf"]
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "html": "text/html; charset=utf-8", "pdf": "application/pdf"}
DETAIL_TICKETS_PER_LINE = 100


@router.get("/billing/usage", response_model=UsageOut, summary="Usage and spend so far this period")
def usage(session: SessionDep, clock: ClockDep, principal: FinancePrincipal) -> UsageOut:
    now = clock.now()
    view = invoices.preview(session, tenant_id=principal.tenant_id, now=now)
    assert view.pending is not None
    return UsageOut(
        period_start=view.period_start,
        currency=view.currency,
        lines=[LineOut.of(line) for line in view.lines],
        total_cents=view.total_cents,
        pending=PendingOut.of(view.pending),
        spend=SpendStatusOut.of(caps.spend_status(session, principal.tenant_id, now)),
    )


@router.get("/billing/invoices", response_model=list[InvoiceOut], summary="Finalized invoices, newest first")
def list_invoices(
    session: SessionDep,
    principal: FinancePrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Offset = 0,
) -> list[InvoiceOut]:
    views = invoices.list_invoices(session, tenant_id=principal.tenant_id, limit=limit, offset=offset)
    return [InvoiceOut.of(view) for view in views]


@router.get("/billing/invoices/preview", response_model=InvoiceOut, summary="Live preview of the open period")
def preview_invoice(session: SessionDep, clock: ClockDep, principal: FinancePrincipal) -> InvoiceOut:
    return InvoiceOut.of(invoices.preview(session, tenant_id=principal.tenant_id, now=clock.now()))


@router.get("/billing/invoices/preview/export/{fmt}", summary="Export the open period's preview")
def export_preview(
    session: SessionDep, clock: ClockDep, principal: FinancePrincipal, fmt: ExportFormat
) -> Response:
    view = invoices.preview(session, tenant_id=principal.tenant_id, now=clock.now())
    return _export(view, fmt, None)


@router.get(
    "/billing/invoices/{invoice_id}", response_model=InvoiceOut, summary="An invoice with lines and tickets"
)
def get_invoice(session: SessionDep, principal: FinancePrincipal, invoice_id: InvoiceId) -> InvoiceOut:
    view = invoices.get_invoice(session, tenant_id=principal.tenant_id, invoice_id=invoice_id)
    return InvoiceOut.of(view, _tickets(session, view, principal.tenant_id, DETAIL_TICKETS_PER_LINE))


@router.patch(
    "/billing/invoices/{invoice_id}", response_model=InvoiceOut, summary="Finalized invoices refuse changes"
)
def amend_invoice(
    session: SessionDep, principal: FinancePrincipal, invoice_id: InvoiceId, body: InvoiceAmendIn
) -> InvoiceOut:
    invoices.amend_invoice(session, tenant_id=principal.tenant_id, invoice_id=invoice_id)
    raise AssertionError("amend_invoice always refuses")  # pragma: no cover


@router.get(
    "/billing/invoices/{invoice_id}/lines/{line_id}/tickets",
    response_model=list[TicketChargeOut],
    summary="The tickets behind one invoice line",
)
def line_tickets(
    session: SessionDep,
    principal: FinancePrincipal,
    invoice_id: InvoiceId,
    line_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Offset = 0,
) -> list[TicketChargeOut]:
    charges = invoices.line_tickets(
        session,
        tenant_id=principal.tenant_id,
        invoice_id=invoice_id,
        line_id=line_id,
        limit=limit,
        offset=offset,
    )
    return [TicketChargeOut.of(charge) for charge in charges]


@router.get("/billing/invoices/{invoice_id}/export/{fmt}", summary="Export an invoice as CSV, HTML or PDF")
def export_invoice(
    session: SessionDep,
    principal: FinancePrincipal,
    invoice_id: InvoiceId,
    fmt: ExportFormat,
    tickets: Annotated[bool, Query(description="CSV/HTML: include the tickets behind each line")] = False,
) -> Response:
    view = invoices.get_invoice(session, tenant_id=principal.tenant_id, invoice_id=invoice_id)
    detail = _tickets(session, view, principal.tenant_id, 1_000_000) if tickets else None
    return _export(view, fmt, detail)


@router.get("/billing/spend-cap", response_model=SpendStatusOut, summary="Spend this period against the cap")
def get_spend_cap(session: SessionDep, clock: ClockDep, principal: FinancePrincipal) -> SpendStatusOut:
    return SpendStatusOut.of(caps.spend_status(session, principal.tenant_id, clock.now()))


@router.put("/billing/spend-cap", response_model=SpendStatusOut, summary="Set or clear the monthly spend cap")
def set_spend_cap(
    session: SessionDep, clock: ClockDep, principal: FinancePrincipal, body: SpendCapIn
) -> SpendStatusOut:
    status = caps.set_spend_cap(
        session, tenant_id=principal.tenant_id, cap_cents=body.cap_cents, mode=body.mode, clock=clock
    )
    return SpendStatusOut.of(status)


@router.get("/billing/resolutions/pending", response_model=PendingOut, summary="Resolutions waiting to stick")
def pending_resolutions(
    session: SessionDep,
    clock: ClockDep,
    principal: FinancePrincipal,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> PendingOut:
    view = invoices.preview(session, tenant_id=principal.tenant_id, now=clock.now(), pending_limit=limit)
    assert view.pending is not None
    return PendingOut.of(view.pending)


@router.post(
    "/billing/stripe/webhook",
    response_model=StripeWebhookOut,
    summary="Receive a Stripe webhook (invoice.paid, invoice.payment_failed)",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    },
)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> StripeWebhookOut:
    if not settings.stripe_webhook_secret:
        # Without a secret no delivery can be verified, so every delivery is refused as unauthenticated.
        raise Unauthorized("Stripe webhooks are not configured here (no STRIPE_WEBHOOK_SECRET)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.webhook_max_body_bytes:
        raise PayloadTooLarge(f"webhook body exceeds the limit of {settings.webhook_max_body_bytes} bytes")
    body = await request.body()
    if len(body) > settings.webhook_max_body_bytes:
        raise PayloadTooLarge(f"webhook body exceeds the limit of {settings.webhook_max_body_bytes} bytes")
    event = verify_webhook(
        body, stripe_signature, settings.stripe_webhook_secret, tolerance=settings.webhook_tolerance_seconds
    )
    # On a worker thread: a SQLite transaction may wait for the write lock, and must not stall the loop.
    receipt = await run_in_threadpool(
        functools.partial(stripe_events.apply_stripe_event, session, event=event, clock=clock)
    )
    return StripeWebhookOut(
        event_id=receipt.event_id,
        event_type=receipt.event_type,
        duplicate=receipt.duplicate,
        handled=receipt.handled,
    )


def _tickets(
    session: SessionDep, view: InvoiceView, tenant_id: int, limit: int
) -> dict[int, list[TicketCharge]]:
    assert view.id is not None
    return {
        line.id: invoices.line_tickets(
            session, tenant_id=tenant_id, invoice_id=view.id, line_id=line.id, limit=limit
        )
        for line in view.lines
        if line.id is not None
    }


def _export(view: InvoiceView, fmt: str, detail: dict[int, list[TicketCharge]] | None) -> Response:
    name = view.number or f"preview-{view.period_start:%Y-%m}"
    headers = {"Content-Disposition": f'attachment; filename="{name}.{fmt}"'}
    if fmt == "csv":
        return Response(exports.to_csv(view, detail), media_type=MEDIA_TYPES[fmt], headers=headers)
    if fmt == "html":
        return Response(exports.to_html(view, detail), media_type=MEDIA_TYPES[fmt], headers=headers)
    return Response(exports.to_pdf(view), media_type=MEDIA_TYPES[fmt], headers=headers)
