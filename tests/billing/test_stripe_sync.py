import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from billing import invoices, stripe_sync
from billing.gateway import BillingGateway, RemoteInvoice
from billing.models import StripePush
from billing.stripe_gateway import StripeGateway
from tests.billing.builders import deliver_draft
from tests.billing.test_invoices import OCTOBER, october_activity
from tests.builders import make_tenant
from tests.fakes.stripe_server import FakeStripe, running_stripe


class SimulatedCrash(Exception):
    """The process dies right after Stripe acted, before our transaction commits."""


class CrashAfter:
    """Delegates to the real adapter, then crashes after the named call returned."""

    def __init__(self, inner: BillingGateway, call: str) -> None:
        self._inner, self._call = inner, call

    def __getattr__(self, name: str):
        method = getattr(self._inner, name)

        def call(*args, **kwargs):
            result = method(*args, **kwargs)
            if name == self._call:
                raise SimulatedCrash(name)
            return result

        return call


@pytest.fixture
def stripe_fake():
    with running_stripe(timeout_delay=1.0) as (base_url, fake):
        yield base_url, fake


def gateway(base_url: str, *, retries: int = 2) -> StripeGateway:
    return StripeGateway("sk_test_outcomedesk", api_base=base_url, timeout=0.5, max_network_retries=retries)


def closed_october(session, clock):
    acme = make_tenant(session, clock)
    october_activity(session, clock, acme.id)
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    [invoice] = invoices.close_period(session, period_start=OCTOBER, clock=clock)
    return acme, invoice


def only_invoice(fake: FakeStripe) -> dict:
    [remote] = fake.invoices.values()
    return remote


def test_finalized_invoice_is_pushed_once_with_lines_matching_ours(session, clock, stripe_fake):
    base_url, fake = stripe_fake
    _acme, invoice = closed_october(session, clock)
    result = stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock,
                                      customer_name="Acme")  # fmt: skip
    assert result.state == "delivered"
    remote = only_invoice(fake)
    assert remote["status"] == "open" and remote["total"] == invoice.total_cents == 250
    assert [line["amount"] for line in remote["lines"]["data"]] == [150, 100]
    assert remote["metadata"]["outcomedesk_invoice_id"] == str(invoice.id)
    again = stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock)
    assert again.state == "delivered" and len(fake.invoices) == 1 and len(fake.invoice_items) == 2
    assert stripe_sync.reconcile(session, gateway=gateway(base_url)) == []


def test_stripe_500_is_retried_by_the_sdk_with_the_same_key_and_charges_once(session, clock, stripe_fake):
    base_url, fake = stripe_fake
    _, invoice = closed_october(session, clock)
    fake.fail_next(status=500, count=2, path="/v1/invoiceitems", method="POST")
    result = stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock)
    assert result.state == "delivered"
    assert len(fake.invoice_items) == 2 and only_invoice(fake)["total"] == 250


def test_timeout_after_stripe_acted_is_retried_and_replayed_not_duplicated(session, clock, stripe_fake):
    base_url, fake = stripe_fake
    _, invoice = closed_october(session, clock)
    fake.fail_next(status="timeout", count=1, path="/v1/invoices", method="POST")
    result = stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock)
    assert result.state == "delivered"
    assert len(fake.invoices) == 1 and len(fake.processed("POST", "/v1/invoices")) >= 1
    replays = [r for r in fake.requests if r.replayed]
    assert replays, "the retry must have been answered from Stripe's idempotency store"


def test_persistent_stripe_outage_leaves_the_push_pending_with_the_error(session, clock, stripe_fake):
    base_url, fake = stripe_fake
    _, invoice = closed_october(session, clock)
    fake.fail_next(status=503, count=10)
    result = stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url, retries=1),
                                      clock=clock)  # fmt: skip
    assert result.state == "retry" and "upstream_failed" in (result.error or "")
    push = session.scalar(select(StripePush).where(StripePush.invoice_id == invoice.id))
    assert push.state == "pending" and push.attempts == 1
    fake.heal()
    assert (
        stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock).state
        == "delivered"
    )


@pytest.mark.parametrize("crash_after", ["create_invoice", "add_line", "finalize_invoice"])
def test_crash_between_ledger_write_and_stripe_push_recovers_without_double_charge(
    session, clock, stripe_fake, crash_after
):
    base_url, fake = stripe_fake
    _, invoice = closed_october(session, clock)
    session.commit()
    with pytest.raises(SimulatedCrash):
        stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=CrashAfter(gateway(base_url), crash_after),
                                 clock=clock)  # fmt: skip
    session.rollback()  # the crashed transaction never committed: we do not know what Stripe holds
    push = session.scalar(select(StripePush).where(StripePush.invoice_id == invoice.id))
    assert push.state == "pending" and push.stripe_invoice_id is None
    result = stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock)
    assert result.state == "delivered"
    remote = only_invoice(fake)
    assert len(fake.customers) == 1 and len(fake.invoice_items) == 2
    assert remote["total"] == 250 and remote["status"] == "open"


def test_finalize_rejected_as_already_done_counts_as_delivered(session, clock, stripe_fake):
    base_url, fake = stripe_fake
    _, invoice = closed_october(session, clock)
    session.commit()
    with pytest.raises(SimulatedCrash):
        stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=CrashAfter(gateway(base_url), "add_line"),
                                 clock=clock)  # fmt: skip
    session.rollback()
    fake.invoice_items.clear()  # forget the one line the crashed attempt added; Stripe keeps it on the invoice
    remote = only_invoice(fake)
    stripe_sync.push_invoice(
        session, invoice_id=invoice.id, gateway=StaleDraftView(gateway(base_url)), clock=clock
    )
    session.rollback()
    assert only_invoice(fake)["status"] == "open"

    result = stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=StaleDraftView(gateway(base_url)),
                                      clock=clock)  # fmt: skip
    assert result.state == "delivered" and result.stripe_invoice_id == remote["id"]
    assert len(fake.invoices) == 1 and only_invoice(fake)["total"] == 250


class StaleDraftView:
    """A lookup that still reports the invoice as a draft (another worker finalized it meanwhile)."""

    def __init__(self, inner: BillingGateway) -> None:
        self._inner = inner

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def find_invoice(self, *, our_invoice_id: int) -> RemoteInvoice | None:
        found = self._inner.find_invoice(our_invoice_id=our_invoice_id)
        assert found is not None
        return RemoteInvoice(found.id, found.customer_id, "draft", found.currency, found.total_cents, 0, None,
                             found.our_invoice_id, found.lines)  # fmt: skip


def test_reconcile_lists_every_difference(session, clock, stripe_fake):
    base_url, fake = stripe_fake
    acme, invoice = closed_october(session, clock)
    stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock)
    deliver_draft(session, clock, acme.id, "N1")
    clock.set(datetime(2026, 12, 5, tzinfo=UTC))
    [november] = invoices.close_period(session, period_start=date(2026, 11, 1), clock=clock)
    remote = only_invoice(fake)
    remote["total"] = 999
    remote["lines"]["data"][0]["amount"] = 149
    differences = stripe_sync.reconcile(session, gateway=gateway(base_url))
    issues = sorted((d.issue, d.invoice_number) for d in differences)
    assert issues == [
        ("line_amount_mismatch", invoice.number),
        ("missing_in_stripe", november.number),
        ("total_mismatch", invoice.number),
    ]


def test_worked_month_total_equals_the_ledger_in_our_export_and_in_stripe(session, clock, stripe_fake):
    from billing import exports

    base_url, fake = stripe_fake
    acme, invoice = closed_october(session, clock)
    stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock)
    view = invoices.get_invoice(session, tenant_id=acme.id, invoice_id=invoice.id)
    csv_total = exports.to_csv(view).strip().splitlines()[-1].split(",")[8]
    remote = only_invoice(fake)
    ours = [(line.id, line.amount_cents) for line in view.lines]
    theirs = [
        (int(line["metadata"]["outcomedesk_line_id"]), line["amount"]) for line in remote["lines"]["data"]
    ]
    assert ours == theirs
    assert int(csv_total) == remote["total"] == view.total_cents == sum(a for _, a in ours)


def stripe_event(fake: FakeStripe, event_type: str, remote: dict, event_id: str = "evt_1") -> str:
    return json.dumps(fake.event(event_type, remote, event_id=event_id))


def test_invoice_paid_webhook_is_verified_and_applied_once(session, clock, stripe_fake, app, client):
    base_url, fake = stripe_fake
    app.state.settings.stripe_webhook_secret = "whsec_test"
    acme, invoice = closed_october(session, clock)
    stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock)
    session.commit()
    payload = stripe_event(fake, "invoice.paid", fake.mark_invoice_paid(only_invoice(fake)["id"]))
    headers = {
        "Stripe-Signature": fake.sign_webhook(payload, "whsec_test"),
        "Content-Type": "application/json",
    }
    first = client.post("/api/v1/billing/stripe/webhook", content=payload, headers=headers)
    second = client.post("/api/v1/billing/stripe/webhook", content=payload, headers=headers)
    assert first.status_code == 200 and first.json()["handled"] is True and first.json()["duplicate"] is False
    assert second.status_code == 200 and second.json()["duplicate"] is True
    session.expire_all()
    assert invoices.get_invoice(session, tenant_id=acme.id, invoice_id=invoice.id).payment_status == "paid"
    failed = stripe_event(fake, "invoice.payment_failed", only_invoice(fake), event_id="evt_2")
    client.post("/api/v1/billing/stripe/webhook", content=failed,
                headers={"Stripe-Signature": fake.sign_webhook(failed, "whsec_test")})  # fmt: skip
    session.expire_all()
    assert invoices.get_invoice(session, tenant_id=acme.id, invoice_id=invoice.id).payment_status == "paid"


def test_payment_failed_webhook_marks_the_invoice(session, clock, stripe_fake, app, client):
    base_url, fake = stripe_fake
    app.state.settings.stripe_webhook_secret = "whsec_test"
    acme, invoice = closed_october(session, clock)
    stripe_sync.push_invoice(session, invoice_id=invoice.id, gateway=gateway(base_url), clock=clock)
    session.commit()
    payload = stripe_event(fake, "invoice.payment_failed", only_invoice(fake))
    response = client.post("/api/v1/billing/stripe/webhook", content=payload,
                           headers={"Stripe-Signature": fake.sign_webhook(payload, "whsec_test")})  # fmt: skip
    assert response.status_code == 200
    session.expire_all()
    assert (
        invoices.get_invoice(session, tenant_id=acme.id, invoice_id=invoice.id).payment_status
        == "payment_failed"
    )


def test_stripe_webhook_with_bad_or_stale_signature_is_401(app, client):
    app.state.settings.stripe_webhook_secret = "whsec_test"
    fake = FakeStripe()
    payload = json.dumps(fake.event("invoice.paid", {"id": "in_1", "object": "invoice"}))
    bad = client.post("/api/v1/billing/stripe/webhook", content=payload,
                      headers={"Stripe-Signature": fake.sign_webhook(payload, "whsec_other")})  # fmt: skip
    stale = client.post("/api/v1/billing/stripe/webhook", content=payload,
                        headers={"Stripe-Signature": fake.sign_webhook(payload, "whsec_test", timestamp=1)})  # fmt: skip
    missing = client.post("/api/v1/billing/stripe/webhook", content=payload)
    assert [r.status_code for r in (bad, stale, missing)] == [401, 401, 401]
    assert bad.json()["error"] == "unauthorized"


def test_stripe_webhook_without_a_configured_secret_is_refused_as_401(app, client):
    app.state.settings.stripe_webhook_secret = None
    response = client.post("/api/v1/billing/stripe/webhook", content=b"{}")
    assert response.status_code == 401 and "STRIPE_WEBHOOK_SECRET" in response.json()["detail"]


def test_unknown_event_types_are_stored_but_not_handled(session, clock, app, client):
    app.state.settings.stripe_webhook_secret = "whsec_test"
    fake = FakeStripe()
    payload = json.dumps(fake.event("customer.created", {"id": "cus_1", "object": "customer"}))
    response = client.post("/api/v1/billing/stripe/webhook", content=payload,
                           headers={"Stripe-Signature": fake.sign_webhook(payload, "whsec_test")})  # fmt: skip
    assert response.status_code == 200 and response.json()["handled"] is False
