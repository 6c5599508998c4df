"""Stripe webhook events, verified by the adapter and applied here exactly once."""

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from billing import invoice_repository
from billing.gateway import METADATA_INVOICE, VerifiedEvent
from billing.models import Invoice
from plugin.core.clock import Clock

PAYMENT_STATUS = {"invoice.paid": "paid", "invoice.payment_failed": "payment_failed"}


@dataclass(frozen=True)
class EventReceipt:
    event_id: str
    event_type: str
    duplicate: bool
    handled: bool
    invoice_number: str | None = None


def apply_stripe_event(session: Session, *, event: VerifiedEvent, clock: Clock) -> EventReceipt:
    """Store the event under its id; a second delivery of the same id changes nothing."""
    row_id = invoice_repository.insert_stripe_event(
        session,
        {
            "provider": "stripe",
            "event_id": event.id,
            "event_type": event.type,
            "handled": False,
            "body": json.dumps(event.data_object, sort_keys=True),
            "received_at": clock.now(),
        },
    )
    if row_id is None:
        return EventReceipt(event.id, event.type, duplicate=True, handled=False)
    status = PAYMENT_STATUS.get(event.type)
    invoice = _our_invoice(session, event.data_object) if status else None
    if status is None or invoice is None:
        return EventReceipt(event.id, event.type, duplicate=False, handled=False)
    # A late `payment_failed` (a retry that failed before the one that succeeded) never un-pays an invoice.
    if not (invoice.payment_status == "paid" and status != "paid"):
        paid_at = clock.now() if status == "paid" else None
        invoice_repository.set_payment_status(session, invoice.id, status=status, paid_at=paid_at)
    invoice_repository.mark_event(
        session, row_id, tenant_id=invoice.tenant_id, invoice_id=invoice.id, handled=True
    )
    return EventReceipt(event.id, event.type, duplicate=False, handled=True, invoice_number=invoice.number)


def _our_invoice(session: Session, data: dict[str, Any]) -> Invoice | None:
    stripe_id = data.get("id")
    push = invoice_repository.push_by_stripe_invoice(session, str(stripe_id)) if stripe_id else None
    if push is not None:
        return invoice_repository.invoice_by_id(session, push.tenant_id, push.invoice_id)
    metadata = data.get("metadata")
    if isinstance(metadata, dict) and str(metadata.get(METADATA_INVOICE, "")).isdigit():
        return invoice_repository.invoice_by_any_tenant(session, int(metadata[METADATA_INVOICE]))
    return None
