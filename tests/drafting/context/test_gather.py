import asyncio
import time
from datetime import timedelta

import pytest

from drafting.context.base import CustomerRef, Fact
from drafting.context.gather import (
    ContextCache,
    format_date,
    format_minor_units,
    format_money,
    gather_context,
)
from drafting.context.product import HttpUsageSource
from plugin.core.clock import FixedClock
from plugin.core.errors import UpstreamFailed
from tests.fakes.usage_server import running_usage

CUSTOMER = CustomerRef(email="ann@example.com")


class SleepySource:
    def __init__(self, name: str, delay_s: float, facts: tuple[Fact, ...] = ()) -> None:
        self.name = name
        self.delay_s = delay_s
        self.facts = facts or (Fact(key=f"{name}_seen", value="yes", source=name, label="Seen"),)
        self.calls = 0

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        self.calls += 1
        await asyncio.sleep(self.delay_s)
        return self.facts


class BrokenSource:
    name = "broken"

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        raise self.error


def test_sources_are_fetched_concurrently():
    # Sequential fetching would take 3 s; the bound leaves room for a busy machine.
    sources = [SleepySource("crm", 1.0), SleepySource("stripe", 1.0), SleepySource("usage", 1.0)]

    started = time.perf_counter()
    context = asyncio.run(gather_context(CUSTOMER, sources))
    elapsed = time.perf_counter() - started

    assert elapsed < 2.5
    assert [fact.key for fact in context.facts] == ["crm_seen", "stripe_seen", "usage_seen"]
    assert not context.partial
    assert context.customer_ref == "ann@example.com"


def test_slow_http_source_times_out_into_a_partial_context_without_waiting_for_it():
    with running_usage() as (base_url, fake):
        fake.latency_s = 5.0
        fake.seed(CUSTOMER.email, {"seats": 3})
        fast = SleepySource("crm", 0.0)

        async def gather():
            source = HttpUsageSource(base_url=base_url)
            try:
                return await gather_context(CUSTOMER, [fast, source], timeout_s=0.3)
            finally:
                await source.aclose()

        started = time.perf_counter()
        context = asyncio.run(gather())
        elapsed = time.perf_counter() - started

    assert 0.3 <= elapsed < 3.0  # the source answers after 5 s; we did not wait for it
    assert context.partial
    usage = next(status for status in context.statuses if status.name == "usage")
    assert usage.ok is False
    assert usage.error == "timed out after 0.3 s"
    assert context.value("crm_seen") == "yes"


def test_failing_source_is_flagged_with_its_error_and_the_others_still_count():
    context = asyncio.run(
        gather_context(
            CUSTOMER, [SleepySource("crm", 0.0), BrokenSource(UpstreamFailed("Stripe unreachable"))]
        )
    )

    broken = next(status for status in context.statuses if status.name == "broken")
    assert (broken.ok, broken.error) == (False, "Stripe unreachable")
    assert context.partial
    assert context.value("crm_seen") == "yes"


def test_unexpected_exception_shows_only_its_type_never_its_message():
    context = asyncio.run(
        gather_context(CUSTOMER, [BrokenSource(RuntimeError("token sk_live_secret leaked"))])
    )

    assert context.statuses[0].error == "unexpected RuntimeError"
    assert "sk_live" not in repr(context)


def test_cache_serves_a_second_gather_without_calling_the_server():
    with running_usage() as (base_url, fake):
        fake.seed(CUSTOMER.email, {"seats": 3})
        cache = ContextCache(ttl_s=60)

        async def twice():
            source = HttpUsageSource(base_url=base_url)
            try:
                first = await gather_context(CUSTOMER, [source], tenant_id=1, cache=cache)
                second = await gather_context(CUSTOMER, [source], tenant_id=1, cache=cache)
                return first, second
            finally:
                await source.aclose()

        first, second = asyncio.run(twice())

        assert fake.requests == 1
    assert first.facts == second.facts
    assert second.value("usage_seats") == "3"
    assert second.statuses[0].ok


def test_cache_entry_expires_after_its_ttl(clock: FixedClock):
    cache = ContextCache(ttl_s=60, clock=clock)
    source = SleepySource("crm", 0.0)

    asyncio.run(gather_context(CUSTOMER, [source], tenant_id=1, cache=cache))
    clock.advance(timedelta(seconds=59))
    asyncio.run(gather_context(CUSTOMER, [source], tenant_id=1, cache=cache))
    clock.advance(timedelta(seconds=2))
    asyncio.run(gather_context(CUSTOMER, [source], tenant_id=1, cache=cache))

    assert source.calls == 2


def test_cache_is_kept_apart_per_tenant_and_per_customer():
    cache = ContextCache(ttl_s=60)
    source = SleepySource("crm", 0.0)

    asyncio.run(gather_context(CUSTOMER, [source], tenant_id=1, cache=cache))
    asyncio.run(gather_context(CUSTOMER, [source], tenant_id=2, cache=cache))
    asyncio.run(gather_context(CustomerRef(email="bob@example.com"), [source], tenant_id=1, cache=cache))
    asyncio.run(gather_context(CustomerRef(email="ANN@example.com"), [source], tenant_id=1, cache=cache))

    assert source.calls == 3


def test_failures_are_not_cached():
    cache = ContextCache(ttl_s=60)
    source = BrokenSource(UpstreamFailed("HubSpot returned HTTP 500"))

    asyncio.run(gather_context(CUSTOMER, [source], tenant_id=1, cache=cache))

    assert len(cache) == 0


def test_a_cache_without_a_tenant_is_refused():
    with pytest.raises(ValueError, match="tenant_id"):
        asyncio.run(gather_context(CUSTOMER, [SleepySource("crm", 0.0)], cache=ContextCache()))


def test_cache_drops_the_oldest_entry_when_full():
    cache = ContextCache(ttl_s=60, max_entries=2)
    for name in ("a", "b", "c"):
        cache.put((1, "ann", name), ())

    assert cache.get((1, "ann", "a")) is None
    assert cache.get((1, "ann", "c")) == ()


def test_money_and_dates_are_formatted_for_display_and_grounding():
    assert format_minor_units(4900, "usd") == "$49.00"
    assert format_minor_units(123456, "eur") == "€1,234.56"
    assert format_minor_units(500, "jpy") == "500 JPY"
    assert format_money(536.645, "USD") == "$536.65"
    assert format_money("-12.5", "CAD") == "-12.50 CAD"
    assert format_date(1_709_424_000) == "2024-03-03"
    assert format_date("2024-03-03T22:15:00Z") == "2024-03-03"
    assert format_date("1709424000000") == "2024-03-03"
