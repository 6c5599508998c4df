"""Drafting benchmark (DESIGN §11): end-to-end embedded drafts with three context sources on loopback.

Each draft gathers context from HubSpot, Stripe and a usage API (fakes in their own processes, ~80 ms per
source), then classifies the ticket, searches the 698-document banking knowledge base, composes the reply
and runs the grounding check and guardrails, as `drafting.service.draft_reply` does minus the database.
200 drafts at concurrency 8; the anchor is the same drafts with the sources fetched one after another.
Also: the embedded drafter alone (search + compose), median per draft. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvloop
from drafting_context import fake_servers, run, sequential, summary

from drafting.context.base import AccountContext, ContextSource, CustomerRef
from drafting.context.crm import HubSpotSource
from drafting.context.gather import gather_context
from drafting.context.product import HttpUsageSource
from drafting.context.stripe_source import StripeSource
from drafting.embedded import compose_reply
from drafting.grounding import check_grounding
from drafting.guardrails import detect_guardrails
from drafting.intent import IntentClassifier
from drafting.knowledge import KnowledgeBase, load_jsonl_documents
from tests.fakes.hubspot_server import TOKEN

DATA = Path(__file__).resolve().parents[1] / "data"
TARGET_P95_MS = 110.0
TARGET_EMBEDDED_MEDIAN_MS = 5.0


def banking_examples(per_intent: int = 40) -> tuple[list[str], list[str]]:
    texts, intents, seen = [], [], {}
    with (DATA / "banking77" / "train.csv").open() as handle:
        for row in csv.DictReader(handle):
            if seen.get(row["category"], 0) < per_intent:
                seen[row["category"]] = seen.get(row["category"], 0) + 1
                texts.append(row["text"])
                intents.append(row["category"])
    return texts, intents


def queries() -> list[str]:
    with gzip.open(DATA / "tau2_bench" / "banking_knowledge" / "tasks.json.gz", "rt") as handle:
        tasks = json.load(handle)
    # The tasks' customer instructions stand in for tickets (cut to a ticket's length).
    return [str(task["user_scenario"]["instructions"])[:500] for task in tasks]


class Drafter:
    def __init__(self) -> None:
        self.knowledge = KnowledgeBase(
            load_jsonl_documents(DATA / "tau2_bench" / "banking_knowledge" / "documents.jsonl.gz")
        )
        texts, intents = banking_examples()
        self.classifier = IntentClassifier().fit(texts, intents)
        self.tickets = queries()
        self.index = 0

    def compose(self, ticket: str, context: AccountContext) -> None:
        prediction = self.classifier.predict([ticket])[0]
        passages = self.knowledge.search(ticket, k=3)
        reply = compose_reply(ticket, prediction.intent, passages, context)
        check_grounding(reply.text, context, passages)
        detect_guardrails(ticket, context)

    def ticket(self) -> str:
        self.index += 1
        return self.tickets[self.index % len(self.tickets)]

    async def draft(self, customer: CustomerRef, sources: Sequence[ContextSource]) -> AccountContext:
        context = await gather_context(customer, sources)
        self.compose(self.ticket(), context)
        return context

    async def draft_sequentially(
        self, customer: CustomerRef, sources: Sequence[ContextSource]
    ) -> AccountContext:
        context = await sequential(customer, sources)
        self.compose(self.ticket(), context)
        return context

    def embedded_median_ms(self, rounds: int = 3) -> float:
        empty = AccountContext(customer_ref="bench@example.com")
        timings = []
        for _ in range(rounds):
            for ticket in self.tickets:
                started = time.perf_counter()
                compose_reply(ticket, None, self.knowledge.search(ticket, k=3), empty)
                timings.append((time.perf_counter() - started) * 1000)
        return round(statistics.median(timings), 3)


async def bench(urls: dict[str, str], drafter: Drafter, *, count: int, concurrency: int) -> dict[str, object]:
    import httpx

    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as client:
        sources: list[ContextSource] = [
            HubSpotSource(access_token=TOKEN, base_url=urls["hubspot"], client=client),
            StripeSource(api_key="sk_test_bench", base_url=urls["stripe"], max_network_retries=0),
            HttpUsageSource(base_url=urls["usage"], client=client),
        ]
        await run(drafter.draft, sources, count=2 * concurrency, concurrency=concurrency)
        concurrent = summary(await run(drafter.draft, sources, count=count, concurrency=concurrency))
        anchor = summary(await run(drafter.draft_sequentially, sources, count=count, concurrency=concurrency))
    return {
        "benchmark": "drafting",
        "drafts": count,
        "concurrency": concurrency,
        "end_to_end": concurrent,
        "sequential_sources_anchor": anchor,
        "ratio_p95_to_anchor": round(concurrent["p95_ms"] / anchor["p95_ms"], 3),
        "target_p95_ms": TARGET_P95_MS,
        "meets_p95_target": concurrent["p95_ms"] <= TARGET_P95_MS,
        "embedded_drafter_median_ms": drafter.embedded_median_ms(),
        "target_embedded_median_ms": TARGET_EMBEDDED_MEDIAN_MS,
        "knowledge_passages": len(drafter.knowledge),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--drafts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    drafter = Drafter()
    with fake_servers() as urls, asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        report = runner.run(bench(urls, drafter, count=args.drafts, concurrency=args.concurrency))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
