"""An in-memory BillingGateway for the demo and for running without a Stripe account."""

import itertools
from dataclasses import dataclass, field, replace

from billing.errors import DuplicateRejected
from billing.gateway import RemoteInvoice, RemoteLine


@dataclass
class LocalGateway:
    customers: dict[int, str] = field(default_factory=dict)
    invoices: dict[str, RemoteInvoice] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def find_customer(self, *, tenant_id: int) -> str | None:
        return self.customers.get(tenant_id)

    def create_customer(self, *, tenant_id: int, name: str, email: str | None, idempotency_key: str) -> str:
        if idempotency_key not in self.keys:
            self.keys[idempotency_key] = self.customers.setdefault(tenant_id, f"cus_local{next(self._ids)}")
        return self.keys[idempotency_key]

    def find_invoice(self, *, our_invoice_id: int) -> RemoteInvoice | None:
        return next((i for i in self.invoices.values() if i.our_invoice_id == our_invoice_id), None)

    def retrieve_invoice(self, stripe_invoice_id: str) -> RemoteInvoice:
        return self.invoices[stripe_invoice_id]

    def create_invoice(
        self, *, customer_id: str, currency: str, our_invoice_id: int, number: str, idempotency_key: str
    ) -> RemoteInvoice:
        if idempotency_key not in self.keys:
            invoice = RemoteInvoice(f"in_local{next(self._ids)}", customer_id, "draft", currency.upper(), 0, 0, None,
                                    our_invoice_id, ())  # fmt: skip
            self.invoices[invoice.id] = invoice
            self.keys[idempotency_key] = invoice.id
        return self.invoices[self.keys[idempotency_key]]

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
    ) -> None:
        if idempotency_key in self.keys:
            return
        invoice = self.invoices[stripe_invoice_id]
        line = RemoteLine(
            f"il_local{next(self._ids)}", amount_cents, currency.upper(), description, our_line_id
        )
        self.invoices[invoice.id] = replace(
            invoice, lines=(*invoice.lines, line), total_cents=invoice.total_cents + amount_cents
        )
        self.keys[idempotency_key] = line.id

    def finalize_invoice(self, *, stripe_invoice_id: str, idempotency_key: str) -> RemoteInvoice:
        invoice = self.invoices[stripe_invoice_id]
        if invoice.status != "draft":
            raise DuplicateRejected(f"invoice {stripe_invoice_id} is already finalized")
        self.invoices[invoice.id] = replace(invoice, status="open", number=f"LOCAL-{invoice.our_invoice_id}")
        return self.invoices[invoice.id]

    def list_invoices(self, *, customer_id: str) -> list[RemoteInvoice]:
        return [i for i in self.invoices.values() if i.customer_id == customer_id]
