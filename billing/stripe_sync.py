"""Pushing finalized invoices to Stripe exactly once, and reconciling our totals with Stripe's.

The outbox row (billing_stripe_push) is written with the invoice. Each push step uses an idempotency key
derived from our ids, and before creating anything we look for what an earlier attempt (or a crash after
Stripe acted but before we committed) already created, so keys expiring after 24 h cannot double-charge.
"""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from billing import invoice_repository, repository
from billing.errors import DuplicateRejected
from billing.gateway import BillingGateway, RemoteInvoice
from billing.models import Invoice, StripePush
from plugin.core.clock import Clock
from plugin.core.errors import AppError, NotFound, UpstreamFailed, UpstreamTimeout

MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class PushResult:
    invoice_id: int
    number: str
    state: str
    stripe_invoice_id: str | None
    error: str | None = None


@dataclass(frozen=True)
class Difference:
    tenant_id: int
    issue: str
    invoice_number: str | None
    stripe_invoice_id: str | None
    ours_cents: int | None
    theirs_cents: int | None
    detail: str


def pending_push_invoice_ids(session: Session, *, limit: int = 100) -> list[int]:
    return [push.invoice_id for push in invoice_repository.pending_pushes(session, limit=limit)]


def push_invoice(
    session: Session,
    *,
    invoice_id: int,
    gateway: BillingGateway,
    clock: Clock,
    customer_name: str | None = None,
) -> PushResult:
    """Deliver one finalized invoice to Stripe; failures are recorded on the outbox row for a later retry."""
    push = invoice_repository.push_for_invoice(session, invoice_id)
    if push is None:
        raise NotFound(f"invoice {invoice_id} has nothing to push")
    invoice = invoice_repository.invoice_by_id(session, push.tenant_id, invoice_id)
    assert invoice is not None
    if push.state == "delivered":
        return PushResult(invoice_id, invoice.number, "delivered", push.stripe_invoice_id)
    account = repository.get_account(session, invoice.tenant_id)
    assert account is not None
    try:
        if account.stripe_customer_id is None:
            account.stripe_customer_id = gateway.find_customer(
                tenant_id=account.tenant_id
            ) or gateway.create_customer(
                tenant_id=account.tenant_id,
                name=customer_name or f"outcomedesk tenant {account.tenant_id}",
                email=account.billing_email,
                idempotency_key=f"od-customer-{account.tenant_id}",
            )
        remote = _find_or_create(gateway, push.stripe_invoice_id, invoice.id, invoice.number, account.stripe_customer_id,
                                 invoice.currency)  # fmt: skip
        push.stripe_invoice_id = remote.id
        if remote.status == "draft":
            present = {line.our_line_id for line in remote.lines}
            for line in invoice_repository.invoice_lines(session, invoice.id):
                if line.id not in present:
                    gateway.add_line(
                        customer_id=account.stripe_customer_id,
                        stripe_invoice_id=remote.id,
                        amount_cents=line.amount_cents,
                        currency=line.currency,
                        description=f"{line.description} ({line.quantity})",
                        our_line_id=line.id,
                        idempotency_key=f"od-line-{line.id}",
                    )
            try:
                remote = gateway.finalize_invoice(
                    stripe_invoice_id=remote.id, idempotency_key=f"od-finalize-{invoice.id}"
                )
            except DuplicateRejected:
                remote = gateway.retrieve_invoice(remote.id)
    except (UpstreamFailed, UpstreamTimeout) as error:
        return _failed(push, invoice.number, error)
    if remote.total_cents != invoice.total_cents:
        return _failed(push, invoice.number, UpstreamFailed(
            f"Stripe invoice {remote.id} totals {remote.total_cents}, ours {invoice.total_cents}; run reconcile"
        ))  # fmt: skip
    push.state = "delivered"
    push.delivered_at = clock.now()
    push.last_error = None
    session.flush()
    return PushResult(invoice.id, invoice.number, "delivered", remote.id)


def _find_or_create(
    gateway: BillingGateway,
    known_id: str | None,
    invoice_id: int,
    number: str,
    customer_id: str,
    currency: str,
) -> RemoteInvoice:
    remote = (
        gateway.retrieve_invoice(known_id) if known_id else gateway.find_invoice(our_invoice_id=invoice_id)
    )
    if remote is not None:
        return remote
    return gateway.create_invoice(
        customer_id=customer_id,
        currency=currency,
        our_invoice_id=invoice_id,
        number=number,
        idempotency_key=f"od-invoice-{invoice_id}",
    )


def _failed(push: StripePush, number: str, error: AppError) -> PushResult:
    push.attempts += 1
    push.last_error = f"{error.error}: {error.detail}"
    if push.attempts >= MAX_ATTEMPTS:
        push.state = "failed"
    return PushResult(push.invoice_id, number, push.state if push.state == "failed" else "retry", push.stripe_invoice_id,
                      push.last_error)  # fmt: skip


def reconcile(
    session: Session, *, gateway: BillingGateway, tenant_ids: list[int] | None = None
) -> list[Difference]:
    """Compare every finalized invoice, line by line, with Stripe; an empty list means they agree."""
    differences: list[Difference] = []
    for account in invoice_repository.accounts_with_invoices(session, tenant_ids):
        ours = invoice_repository.all_finalized_invoices(session, account.tenant_id)
        remote = (
            gateway.list_invoices(customer_id=account.stripe_customer_id)
            if account.stripe_customer_id
            else []
        )
        by_ours = {r.our_invoice_id: r for r in remote if r.our_invoice_id is not None}
        known = {invoice.id for invoice in ours}
        for invoice in ours:
            found = by_ours.get(invoice.id)
            if found is None:
                push = invoice_repository.push_for_invoice(session, invoice.id)
                state = push.state if push is not None else "no outbox row"
                differences.append(Difference(account.tenant_id, "missing_in_stripe", invoice.number, None,
                                              invoice.total_cents, None, f"push state: {state}"))  # fmt: skip
                continue
            differences.extend(_compare(session, account.tenant_id, invoice, found))
        for extra in remote:
            if extra.our_invoice_id is not None and extra.our_invoice_id not in known:
                differences.append(Difference(account.tenant_id, "unknown_in_stripe", None, extra.id, None,
                                              extra.total_cents, "carries our metadata but we have no such invoice"))  # fmt: skip
    return differences


def _compare(session: Session, tenant_id: int, invoice: Invoice, remote: RemoteInvoice) -> list[Difference]:
    found: list[Difference] = []
    if remote.status in ("void", "uncollectible"):
        found.append(Difference(tenant_id, f"{remote.status}_in_stripe", invoice.number, remote.id,
                                invoice.total_cents, remote.total_cents, "Stripe invoice was voided or written off"))  # fmt: skip
    if remote.total_cents != invoice.total_cents:
        found.append(Difference(tenant_id, "total_mismatch", invoice.number, remote.id, invoice.total_cents,
                                remote.total_cents, "totals differ"))  # fmt: skip
    theirs = {line.our_line_id: line for line in remote.lines}
    for line in invoice_repository.invoice_lines(session, invoice.id):
        match = theirs.pop(line.id, None)
        if match is None:
            found.append(Difference(tenant_id, "line_missing_in_stripe", invoice.number, remote.id, line.amount_cents,
                                    None, f"line {line.position}: {line.description}"))  # fmt: skip
        elif match.amount_cents != line.amount_cents:
            found.append(Difference(tenant_id, "line_amount_mismatch", invoice.number, remote.id, line.amount_cents,
                                    match.amount_cents, f"line {line.position}: {line.description}"))  # fmt: skip
    for extra in theirs.values():
        found.append(Difference(tenant_id, "line_unknown_in_stripe", invoice.number, remote.id, None,
                                extra.amount_cents, extra.description or extra.id))  # fmt: skip
    return found


def push_tenant(session: Session, invoice_id: int) -> int | None:
    push = invoice_repository.push_for_invoice(session, invoice_id)
    return None if push is None else push.tenant_id
