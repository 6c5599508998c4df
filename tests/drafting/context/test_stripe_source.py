import asyncio
import time
from collections.abc import Iterator

import pytest

from drafting.context.base import AccountContext, CustomerRef, Fact
from drafting.context.gather import gather_context
from drafting.context.stripe_source import StripeSource
from tests.fakes.stripe_server import FakeStripe, running_stripe

ANN = CustomerRef(email="ann@example.com")
API_KEY = "sk_test_context_key_123"


@pytest.fixture
def stripe_fake() -> Iterator[tuple[str, FakeStripe]]:
    with running_stripe(timeout_delay=0.6) as running:
        yield running


def gather(base_url: str, *, timeout_s: float = 1.5, **options) -> AccountContext:
    async def run() -> AccountContext:
        source = StripeSource(api_key=API_KEY, base_url=base_url, **options)
        try:
            return await gather_context(ANN, [source], timeout_s=timeout_s)
        finally:
            await source.aclose()

    return asyncio.run(run())


def facts_of(context: AccountContext) -> dict[str, str]:
    return {fact.key: fact.value for fact in context.facts}


def seed_ann(fake: FakeStripe) -> str:
    customer = fake.seed_customer(email="ann@example.com", name="Ann Lee")["id"]
    fake.seed_subscription(customer, nickname="Starter", amount=1900, status="canceled")
    fake.seed_subscription(customer, nickname="Pro", amount=4900, quantity=2)
    fake.seed_invoice(customer, amount_due=9800, number="INV-0001")
    fake.seed_invoice(customer, amount_due=9800, status="open", number="INV-0002")
    fake.seed_failed_payment(customer, amount=9800)
    return customer


def test_subscription_invoices_and_failed_payments_become_facts(stripe_fake):
    base_url, fake = stripe_fake
    customer = seed_ann(fake)

    context = gather(base_url)
    facts = facts_of(context)

    assert not context.partial
    assert facts["stripe_customer_id"] == customer
    assert facts["plan"] == "Pro"
    assert facts["subscription_status"] == "active"
    assert facts["mrr"] == "$98.00"
    assert set(facts["known_plans"].split(", ")) == {"Pro", "Starter"}
    assert facts["last_invoice_amount"] == "$98.00"
    assert facts["last_invoice_status"] == "open"
    assert facts["last_invoice_number"] == "INV-0002"
    assert facts["open_invoices"] == "1"
    assert facts["amount_due"] == "$98.00"
    assert facts["failed_payments"] == "1"
    assert facts["last_failed_payment_amount"] == "$98.00"
    assert facts["last_failed_payment_reason"] == "Your card was declined."
    assert len(facts["last_invoice_date"]) == 10


def test_yearly_prices_count_a_twelfth_towards_mrr(stripe_fake):
    base_url, fake = stripe_fake
    customer = fake.seed_customer(email="ann@example.com")["id"]
    fake.seed_subscription(customer, nickname="Annual", amount=100_000, interval="year")

    assert facts_of(gather(base_url))["mrr"] == "$83.33"


def test_price_without_a_nickname_is_named_after_its_product(stripe_fake):
    base_url, fake = stripe_fake
    customer = fake.seed_customer(email="ann@example.com")["id"]
    fake.seed_subscription(customer, nickname=None, amount=4900, product_name="Team plan")

    context = gather(base_url)

    assert not context.partial
    assert facts_of(context)["plan"] == "Team plan"
    assert len(fake.processed("GET", "/v1/products/")) == 1


def test_configured_catalogue_joins_the_known_plans(stripe_fake):
    base_url, fake = stripe_fake
    customer = fake.seed_customer(email="ann@example.com")["id"]
    fake.seed_subscription(customer, nickname="Pro", amount=4900)

    facts = facts_of(gather(base_url, known_plans=["Starter", "Pro", "Enterprise"]))

    assert facts["known_plans"] == "Pro, Starter, Enterprise"


def test_customer_without_history_reports_zero_counts(stripe_fake):
    base_url, fake = stripe_fake
    fake.seed_customer(email="ann@example.com")

    facts = facts_of(gather(base_url))

    assert facts["failed_payments"] == "0"
    assert facts["open_invoices"] == "0"
    assert "plan" not in facts


def test_unknown_customer_gives_no_facts(stripe_fake):
    base_url, _ = stripe_fake

    context = gather(base_url)

    assert context.facts == ()
    assert not context.partial


def test_email_typed_in_another_case_still_finds_the_customer(stripe_fake):
    base_url, fake = stripe_fake
    fake.seed_customer(email="ann@example.com")

    async def run() -> tuple[Fact, ...]:
        source = StripeSource(api_key=API_KEY, base_url=base_url)
        try:
            return await source.fetch(CustomerRef(email="Ann@Example.com"))
        finally:
            await source.aclose()

    assert any(fact.key == "stripe_customer_id" for fact in asyncio.run(run()))


def test_failing_stripe_call_leaves_a_partial_context_with_the_error(stripe_fake):
    base_url, fake = stripe_fake
    seed_ann(fake)
    fake.fail_next(status=500, count=1, path="/v1/invoices")

    context = gather(base_url, max_network_retries=0)

    assert context.partial
    assert context.facts == ()
    assert context.statuses[0].error == "Stripe returned HTTP 500 (api_error)"


def test_a_single_server_error_is_retried_by_the_sdk(stripe_fake):
    base_url, fake = stripe_fake
    seed_ann(fake)
    fake.fail_next(status=500, count=1, path="/v1/charges")

    context = gather(base_url, max_network_retries=1)

    assert not context.partial
    assert facts_of(context)["failed_payments"] == "1"


def test_stripe_that_holds_its_answer_times_out_at_the_gather_deadline(stripe_fake):
    base_url, fake = stripe_fake
    seed_ann(fake)
    fake.fail_next(status="timeout", count=1, path="/v1/customers")
    fake.timeout_delay = 8.0

    started = time.perf_counter()
    context = gather(base_url, timeout_s=0.3)
    elapsed = time.perf_counter() - started

    assert context.statuses[0].error == "timed out after 0.3 s"
    assert elapsed < 4.0  # far below the fake's hold, far above the timeout: cut short, not waited out


def test_sdk_timeout_becomes_an_upstream_timeout(stripe_fake):
    base_url, fake = stripe_fake
    seed_ann(fake)
    fake.fail_next(status="timeout", count=1, path="/v1/customers")

    async def run() -> AccountContext:
        source = StripeSource(api_key=API_KEY, base_url=base_url, timeout_s=0.2, max_network_retries=0)
        try:
            return await gather_context(ANN, [source], timeout_s=2.0)
        finally:
            await source.aclose()

    context = asyncio.run(run())

    assert context.statuses[0].error == "Stripe did not answer in time"


def test_rejected_api_key_is_reported_without_the_key(stripe_fake):
    base_url, fake = stripe_fake
    seed_ann(fake)

    async def run() -> AccountContext:
        source = StripeSource(api_key="pk_wrong_kind_of_key", base_url=base_url)
        try:
            return await gather_context(ANN, [source])
        finally:
            await source.aclose()

    context = asyncio.run(run())

    assert context.statuses[0].error == "Stripe rejected the API key (HTTP 401)"
    assert "pk_wrong" not in repr(context)


def test_source_keeps_working_across_event_loops(stripe_fake):
    base_url, fake = stripe_fake
    seed_ann(fake)
    source = StripeSource(api_key=API_KEY, base_url=base_url, max_network_retries=0)

    contexts = [asyncio.run(gather_context(ANN, [source])) for _ in range(3)]

    assert not any(context.partial for context in contexts)
