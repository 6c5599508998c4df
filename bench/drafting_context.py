"""Context gathering benchmark (DESIGN §11): three sources on loopback, each answering in 80 ms.

HubSpot (httpx), Stripe (the stripe SDK) and an HTTP usage API run as fakes on 127.0.0.1 with a fixed
latency per request, split over each adapter's sequential round trips so every source costs ~80 ms. 200
gathers at concurrency 8 through ``gather_context``; the anchor is the same sources fetched one after the
other in the same run (~240 ms). Prints JSON. Run: ``python bench/drafting_context.py [--gathers N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import uvicorn
import uvloop

from drafting.context.base import AccountContext, ContextSource, CustomerRef
from drafting.context.crm import HubSpotSource
from drafting.context.gather import gather_context
from drafting.context.product import HttpUsageSource
from drafting.context.stripe_source import StripeSource
from tests.fakes.hubspot_server import TOKEN, FakeHubSpot
from tests.fakes.hubspot_server import create_app as hubspot_app
from tests.fakes.server import free_port
from tests.fakes.stripe_server import FakeStripe
from tests.fakes.usage_server import FakeUsage
from tests.fakes.usage_server import create_app as usage_app

SOURCE_LATENCY_S = 0.080
TARGET_P95_MS = 110.0
CUSTOMERS = 50
# Sequential round trips each adapter makes for a customer seeded as below.
HUBSPOT_ROUNDS = 2  # contact read by e-mail with its associations; company read and deal batch read together
STRIPE_ROUNDS = 2  # customer by e-mail, then subscriptions, invoices and charges together
USAGE_ROUNDS = 1

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def delayed(app: ASGIApp, seconds: float) -> ASGIApp:
    """The app, answering every HTTP request ``seconds`` late (as a remote API would)."""

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return wrapper


def emails() -> list[str]:
    return [f"customer{n}@example.com" for n in range(CUSTOMERS)]


def seed(hubspot: FakeHubSpot, stripe_fake: FakeStripe, usage: FakeUsage) -> None:
    for n, email in enumerate(emails()):
        contact = hubspot.seed_contact(email, firstname=f"Customer{n}", lastname="Bench", tier="standard")
        hubspot.seed_company(contact, name=f"Company {n}")
        hubspot.seed_deal(
            contact, dealname="Renewal", amount="1200", dealstage="contractsent", hs_is_closed="false"
        )
        customer = stripe_fake.seed_customer(email=email, name=f"Customer{n} Bench")["id"]
        stripe_fake.seed_subscription(customer, nickname="Pro", amount=4900)
        stripe_fake.seed_invoice(customer, amount_due=4900)
        usage.seed(email, {"seats": n % 20 + 1, "api_calls": 1000 * n})


async def sequential(customer: CustomerRef, sources: Sequence[ContextSource]) -> AccountContext:
    """The anchor: the same gathering, one source after the other."""
    facts = []
    for source in sources:
        facts.extend((await gather_context(customer, [source])).facts)
    return AccountContext(customer_ref=customer.email, facts=tuple(facts))


@dataclass(frozen=True)
class Run:
    latencies_ms: list[float]
    partial: int
    cpu_ms_per_gather: float
    servers_cpu_ms_per_gather: float | None


def servers_cpu_s() -> float | None:
    """CPU seconds used so far by the fake servers (this process's children), or None off Linux."""
    total = 0.0
    for child in multiprocessing.active_children():
        try:
            fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # utime and stime, fields 14 and 15 of proc(5), counted from the state field (3).
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


async def run(
    gather: Callable[[CustomerRef, Sequence[ContextSource]], Awaitable[AccountContext]],
    sources: Sequence[ContextSource],
    *,
    count: int,
    concurrency: int,
) -> Run:
    latencies: list[float] = []
    partial = 0
    gate = asyncio.Semaphore(concurrency)
    addresses = emails()

    async def one(index: int) -> None:
        nonlocal partial
        async with gate:
            started = time.perf_counter()
            context = await gather(CustomerRef(email=addresses[index % len(addresses)]), sources)
            latencies.append((time.perf_counter() - started) * 1000)
            partial += context.partial

    cpu_started, servers_started = time.process_time(), servers_cpu_s()
    await asyncio.gather(*(one(index) for index in range(count)))
    cpu_ms = (time.process_time() - cpu_started) * 1000 / count
    servers_now = servers_cpu_s()
    servers_ms = (
        None
        if servers_started is None or servers_now is None
        else (servers_now - servers_started) * 1000 / count
    )
    return Run(latencies, partial, round(cpu_ms, 2), None if servers_ms is None else round(servers_ms, 2))


def summary(result: Run) -> dict[str, Any]:
    ordered = sorted(result.latencies_ms)
    return {
        "median_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 2),
        "max_ms": round(ordered[-1], 2),
        "client_cpu_ms_per_gather": result.cpu_ms_per_gather,
        # The fakes share this machine's cores with the client (in production they are someone else's).
        "servers_cpu_ms_per_gather": result.servers_cpu_ms_per_gather,
        "partial_contexts": result.partial,
    }


async def bench(urls: dict[str, str], *, count: int, concurrency: int) -> dict[str, Any]:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:
        sources: list[Any] = [
            HubSpotSource(access_token=TOKEN, base_url=urls["hubspot"], client=client),
            StripeSource(api_key="sk_test_bench", base_url=urls["stripe"], max_network_retries=0),
            HttpUsageSource(base_url=urls["usage"], client=client),
        ]
        try:
            await run(gather_context, sources, count=2 * concurrency, concurrency=concurrency)
            per_source = {}
            for source in sources:
                single = await run(gather_context, [source], count=20, concurrency=1)
                per_source[source.name] = round(statistics.median(single.latencies_ms), 2)
            concurrent = summary(await run(gather_context, sources, count=count, concurrency=concurrency))
            anchor = summary(await run(sequential, sources, count=count, concurrency=concurrency))
        finally:
            await sources[1].aclose()
    return {
        "benchmark": "drafting_context",
        "gathers": count,
        "concurrency": concurrency,
        "source_latency_ms": SOURCE_LATENCY_S * 1000,
        "per_source_median_ms": per_source,
        "concurrent": concurrent,
        "sequential_anchor": anchor,
        "ratio_p95_to_anchor": round(concurrent["p95_ms"] / anchor["p95_ms"], 3),
        "target_p95_ms": TARGET_P95_MS,
        "meets_target": concurrent["p95_ms"] <= TARGET_P95_MS,
        # Context for the numbers: the client's CPU per gather above bounds throughput on a busy machine.
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def serve_fake(name: str, port: int) -> None:
    """Child process: seed one fake and serve it until killed (its CPU is not the client's, as in production)."""
    hubspot, stripe_fake, usage = FakeHubSpot(), FakeStripe(), FakeUsage()
    seed(hubspot, stripe_fake, usage)
    apps = {
        "hubspot": delayed(hubspot_app(hubspot), SOURCE_LATENCY_S / HUBSPOT_ROUNDS),
        "stripe": delayed(stripe_fake.app(), SOURCE_LATENCY_S / STRIPE_ROUNDS),
        "usage": delayed(usage_app(usage), SOURCE_LATENCY_S / USAGE_ROUNDS),
    }
    config = uvicorn.Config(apps[name], host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    uvicorn.Server(config).run()


@contextmanager
def fake_servers() -> Iterator[dict[str, str]]:
    processes: list[multiprocessing.process.BaseProcess] = []
    urls: dict[str, str] = {}
    context = multiprocessing.get_context("spawn")
    try:
        for name in ("hubspot", "stripe", "usage"):
            port = free_port()
            process = context.Process(target=serve_fake, args=(name, port), daemon=True)
            process.start()
            processes.append(process)
            urls[name] = f"http://127.0.0.1:{port}"
        for url in urls.values():
            wait_until_listening(url)
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.join(timeout=5)


def wait_until_listening(url: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            httpx.get(f"{url}/", timeout=1.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"fake server at {url} did not start") from None
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--gathers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    # uvicorn serves the product on uvloop when it is installed; the client side runs on the same loop.
    with fake_servers() as urls, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(bench(urls, count=args.gathers, concurrency=args.concurrency))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
