"""The small interface billing needs from a payment provider; Stripe's SDK lives behind it."""

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class RemoteLine:
    id: str
    amount_cents: int
    currency: str
    description: str | None
    our_line_id: int | None


@dataclass(frozen=True)
class RemoteInvoice:
    id: str
    customer_id: str
    status: str
    currency: str
    total_cents: int
    amount_paid_cents: int
    number: str | None
    our_invoice_id: int | None
    lines: tuple[RemoteLine, ...]


@dataclass(frozen=True)
class VerifiedEvent:
    id: str
    type: str
    data_object: dict[str, Any]


class BillingGateway(Protocol):
    """Every call that creates something takes a durable idempotency key derived from our ids."""

    def find_customer(self, *, tenant_id: int) -> str | None: ...

    def create_customer(
        self, *, tenant_id: int, name: str, email: str | None, idempotency_key: str
    ) -> str: ...

    def find_invoice(self, *, our_invoice_id: int) -> RemoteInvoice | None: ...

    def retrieve_invoice(self, stripe_invoice_id: str) -> RemoteInvoice: ...

    def create_invoice(
        self, *, customer_id: str, currency: str, our_invoice_id: int, number: str, idempotency_key: str
    ) -> RemoteInvoice: ...

    def add_line(
        self,
        *,
        customer_id: str,
        stripe_invoice_id: str,
        amount_cents: int,
        currency: str,
        description: str,
        our_line_id: int,
        idempotency_key: str,
    ) -> None: ...

    def finalize_invoice(self, *, stripe_invoice_id: str, idempotency_key: str) -> RemoteInvoice: ...

    def list_invoices(self, *, customer_id: str) -> list[RemoteInvoice]: ...


METADATA_TENANT = "outcomedesk_tenant_id"
METADATA_INVOICE = "outcomedesk_invoice_id"
METADATA_LINE = "outcomedesk_line_id"


def remote_invoice(data: dict[str, Any]) -> RemoteInvoice:
    """Stripe's invoice JSON (as a plain dict) to our view of it."""
    metadata = data.get("metadata") or {}
    lines = (data.get("lines") or {}).get("data") or []
    return RemoteInvoice(
        id=data["id"],
        customer_id=data["customer"],
        status=data["status"],
        currency=str(data.get("currency", "")).upper(),
        total_cents=int(data.get("total") or 0),
        amount_paid_cents=int(data.get("amount_paid") or 0),
        number=data.get("number"),
        our_invoice_id=int(metadata[METADATA_INVOICE]) if METADATA_INVOICE in metadata else None,
        lines=tuple(
            RemoteLine(
                id=line["id"],
                amount_cents=int(line["amount"]),
                currency=str(line.get("currency", "")).upper(),
                description=line.get("description"),
                our_line_id=int(line["metadata"][METADATA_LINE])
                if METADATA_LINE in (line.get("metadata") or {})
                else None,
            )
            for line in lines
        ),
    )
