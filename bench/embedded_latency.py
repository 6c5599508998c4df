"""Embedded drafter latency on the 698-document tau2 banking KB with the 97 banking task queries.

Prints JSON: median and p95 per draft (retrieval + compose), the grounding and guardrail checks on
their own, and an anchor measured in the same run: rank-bm25's BM25Okapi.get_scores over the same
passages. Goal (DESIGN §11): median per draft <= 5 ms.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from rank_bm25 import BM25Okapi

from drafting.context.base import AccountContext, Fact
from drafting.embedded import compose_reply
from drafting.grounding import check_grounding
from drafting.guardrails import detect_guardrails
from drafting.knowledge import KnowledgeBase, load_jsonl_documents, tokenize

CONTEXT = AccountContext(
    customer_ref="sarah@example.com",
    facts=(
        Fact("name", "Sarah Bosch", "crm", "Name"),
        Fact("plan", "Rho-Bank+", "stripe", "Plan"),
        Fact("last_invoice_amount", "$12.50", "stripe", "Last invoice amount"),
        Fact("last_invoice_date", "2024-03-03", "stripe", "Last invoice date"),
        Fact("failed_payments", "0", "stripe", "Failed payments"),
    ),
)


def _timed(function: Callable[[str], object], queries: list[str], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            function(query)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 4),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 4),
    }


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--data",
        default=str(Path(__file__).resolve().parents[1] / "data" / "tau2_bench" / "banking_knowledge"),
    )
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    folder = Path(args.data)
    with gzip.open(folder / "tasks.json.gz", "rt", encoding="utf-8") as handle:
        tasks = json.load(handle)
    queries = [str(task["user_scenario"]["instructions"]) for task in tasks]

    started = time.perf_counter()
    passages = load_jsonl_documents(folder / "documents.jsonl.gz")
    kb = KnowledgeBase(passages)
    build_ms = (time.perf_counter() - started) * 1000

    def draft(query: str) -> object:
        return compose_reply(query, None, kb.search(query, k=3), CONTEXT)

    def ground(query: str) -> object:
        found = kb.search(query, k=3)
        return check_grounding(compose_reply(query, None, found, CONTEXT).text, CONTEXT, found)

    draft_samples = _timed(draft, queries, args.rounds)
    search_samples = _timed(lambda query: kb.search(query, k=3), queries, args.rounds)
    full_samples = _timed(ground, queries, args.rounds)
    guard_samples = _timed(lambda query: detect_guardrails(query, CONTEXT), queries, args.rounds)

    anchor_index = BM25Okapi([tokenize(f"{p.title} {p.section} {p.text}") for p in passages])
    anchor_samples = _timed(lambda query: anchor_index.get_scores(tokenize(query)), queries, 1)

    recall_hits = recall_total = 0
    for task, query in zip(tasks, queries, strict=True):
        required = set(task.get("required_documents") or [])
        found = {passage.doc_id for passage in kb.search(query, k=10)}
        recall_hits += len(required & found)
        recall_total += len(required)

    draft_median = statistics.median(draft_samples)
    anchor_median = statistics.median(anchor_samples)
    print(
        json.dumps(
            {
                "documents": len({p.doc_id for p in passages}),
                "passages": len(passages),
                "queries": len(queries),
                "index_build_ms": round(build_ms, 1),
                "search": _summary(search_samples),
                "draft": _summary(draft_samples),
                "draft_plus_grounding": _summary(full_samples),
                "guardrails": _summary(guard_samples),
                "anchor_rank_bm25_get_scores": _summary(anchor_samples),
                "ratio_draft_to_anchor": round(draft_median / anchor_median, 4),
                "goal_median_ms": 5.0,
                "meets_goal": draft_median <= 5.0,
                "required_document_recall_at_10": round(recall_hits / max(recall_total, 1), 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
