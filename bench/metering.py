"""Metering benchmark (DESIGN §11): exactly-once ledger writes from 4 concurrent writer processes.

100,000 outcomes with 20% duplicate retries (spread across writers), each outcome its own durable
transaction through `billing.service.record_outcome`, beside raw one-row-per-commit INSERTs of the same rows
into the same database in the same run; then the batched path (`record_outcomes`, 1,000 per transaction)
beside raw batched INSERTs. Prints JSON; never fails.

    python bench/metering.py                       # SQLite in a temp dir
    BENCH_DATABASE_URL=postgresql+psycopg://... python bench/metering.py
    BENCH_OUTCOMES=20000 python bench/metering.py  # quicker
"""

import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, func, select, text

from billing import service
from billing.ledger import EntryRequest
from billing.models import BillingAccount, LedgerEntry
from billing.pricing import OutcomeKind
from plugin.core.clock import FixedClock
from plugin.core.db import make_engine, make_session_factory, transaction
from plugin.migrate import upgrade

WRITERS = 4
TENANT_BASE = 70_000_000
TENANTS = 10
DUPLICATE_SHARE = 0.2
BATCH = 1000
START = datetime(2026, 11, 2, 9, tzinfo=UTC)
RAW_TABLE = "bench_raw_ledger"
RAW_COLUMNS = ("tenant_id, idempotency_key, kind, quantity, unit_price_micros, amount_micros, currency, "
               "period_start, occurred_at, recorded_at, ticket_id")  # fmt: skip


def workload(total: int, seed: int = 7) -> list[tuple[int, str]]:
    """`total` outcomes: unique ones plus retries of earlier keys, shuffled (a retry may hit any writer)."""
    rng = random.Random(seed)
    unique = int(total * (1 - DUPLICATE_SHARE))
    keys = [(TENANT_BASE + n % TENANTS, f"draft:{n}:m1") for n in range(unique)]
    retries = [keys[rng.randrange(unique)] for _ in range(total - unique)]
    outcomes = keys + retries
    rng.shuffle(outcomes)
    return outcomes


def split(items: list[Any], parts: int) -> list[list[Any]]:
    return [items[index::parts] for index in range(parts)]


def _service_each(url: str, plan: list[tuple[int, str]], barrier: Any, results: Any) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = FixedClock(START)
    barrier.wait()
    began = time.perf_counter()
    for tenant_id, key in plan:
        with transaction(factory) as session:
            service.record_outcome(
                session, tenant_id=tenant_id, kind="draft", ticket_id=key.split(":")[1], draft_id=None,
                idempotency_key=key, occurred_at=START, arm="assisted", clock=clock,
            )  # fmt: skip
    results.put((began, time.perf_counter()))
    engine.dispose()


def _service_batched(url: str, plan: list[tuple[int, str]], barrier: Any, results: Any) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = FixedClock(START)
    barrier.wait()
    began = time.perf_counter()
    for start in range(0, len(plan), BATCH):
        requests = [
            EntryRequest(t, OutcomeKind.DRAFT, k, k.split(":")[1], START)
            for t, k in plan[start : start + BATCH]
        ]
        with transaction(factory) as session:
            service.record_outcomes(session, drafts=requests, clock=clock)
    results.put((began, time.perf_counter()))
    engine.dispose()


def _raw_rows(plan: list[tuple[int, str]]) -> list[tuple[Any, ...]]:
    stamp = START.replace(tzinfo=None).isoformat(sep=" ")
    return [(t, k, "draft", 1, 25_000_000, 25_000_000, "USD", "2026-11-01", stamp, stamp, k.split(":")[1])
            for t, k in plan]  # fmt: skip


def _raw(url: str, plan: list[tuple[int, str]], barrier: Any, results: Any, batch: int) -> None:
    """The anchor: the driver alone, the same rows, ON CONFLICT DO NOTHING, `batch` rows per commit."""
    engine = make_engine(url)
    connection = engine.raw_connection()
    sqlite = url.startswith("sqlite")
    marker = "?" if sqlite else "%s"
    row_sql = "(" + ", ".join([marker] * 11) + ")"
    rows = _raw_rows(plan)
    cursor = connection.cursor()
    barrier.wait()
    began = time.perf_counter()
    for start in range(0, len(rows), batch):
        chunk = sorted(rows[start : start + batch], key=lambda r: (r[0], r[1]))
        sql = (f"INSERT INTO {RAW_TABLE} ({RAW_COLUMNS}) VALUES {', '.join([row_sql] * len(chunk))} "
               "ON CONFLICT (tenant_id, idempotency_key) DO NOTHING")  # fmt: skip
        if sqlite:
            cursor.execute("BEGIN IMMEDIATE")
        cursor.execute(sql, [value for row in chunk for value in row])
        connection.commit() if not sqlite else cursor.execute("COMMIT")
    results.put((began, time.perf_counter()))
    connection.close()
    engine.dispose()


def _raw_each(url: str, plan: list[tuple[int, str]], barrier: Any, results: Any) -> None:
    _raw(url, plan, barrier, results, 1)


def _raw_batched(url: str, plan: list[tuple[int, str]], barrier: Any, results: Any) -> None:
    _raw(url, plan, barrier, results, BATCH)


def run(target: Any, url: str, outcomes: list[tuple[int, str]]) -> float:
    """Run `target` in WRITERS processes; returns wall seconds from the common start to the last finish."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WRITERS)
    results = context.Queue()
    processes = [
        context.Process(target=target, args=(url, plan, barrier, results))
        for plan in split(outcomes, WRITERS)
    ]
    for process in processes:
        process.start()
    spans = [results.get(timeout=3600) for _ in processes]
    for process in processes:
        process.join()
    return max(end for _, end in spans) - min(start for start, _ in spans)


def reset(url: str) -> None:
    engine = make_engine(url)
    ledger, accounts = LedgerEntry.__table__, BillingAccount.__table__
    with engine.begin() as connection:
        connection.execute(
            delete(ledger).where(ledger.c.tenant_id.between(TENANT_BASE, TENANT_BASE + TENANTS))
        )
        connection.execute(
            delete(accounts).where(accounts.c.tenant_id.between(TENANT_BASE, TENANT_BASE + TENANTS))
        )
        connection.execute(text(f"DROP TABLE IF EXISTS {RAW_TABLE}"))
        connection.execute(
            text(
                f"CREATE TABLE {RAW_TABLE} (id {'INTEGER' if url.startswith('sqlite') else 'BIGSERIAL'} PRIMARY KEY, "
                "tenant_id INTEGER NOT NULL, idempotency_key VARCHAR(200) NOT NULL, kind VARCHAR(32) NOT NULL, "
                "quantity INTEGER NOT NULL, unit_price_micros BIGINT NOT NULL, amount_micros BIGINT NOT NULL, "
                "currency VARCHAR(3) NOT NULL, period_start DATE NOT NULL, occurred_at TIMESTAMP NOT NULL, "
                "recorded_at TIMESTAMP NOT NULL, ticket_id VARCHAR(64) NOT NULL, "
                "UNIQUE (tenant_id, idempotency_key))"
            )
        )
    engine.dispose()


def counts(url: str) -> tuple[int, int]:
    engine = make_engine(url)
    ledger = LedgerEntry.__table__
    with engine.connect() as connection:
        ours = connection.scalar(
            select(func.count()).where(ledger.c.tenant_id.between(TENANT_BASE, TENANT_BASE + TENANTS))
        )
        raw = connection.scalar(text(f"SELECT count(*) FROM {RAW_TABLE}"))
    engine.dispose()
    return int(ours or 0), int(raw or 0)


def main() -> None:
    total = int(os.environ.get("BENCH_OUTCOMES", "100000"))
    url = os.environ.get("BENCH_DATABASE_URL")
    scratch = None
    if not url:
        scratch = tempfile.TemporaryDirectory()
        url = f"sqlite:///{scratch.name}/metering.db"
    upgrade(url)
    backend = "postgresql" if url.startswith("postgresql") else "sqlite"
    outcomes = workload(total)
    unique = len(set(outcomes))
    report: dict[str, Any] = {"bench": "metering", "backend": backend, "outcomes": total, "unique": unique,
                              "writers": WRITERS}  # fmt: skip
    try:
        reset(url)
        raw_seconds = run(_raw_each, url, outcomes)
        ours_seconds = run(_service_each, url, outcomes)
        entries, raw_entries = counts(url)
        report["per_outcome_transaction"] = {
            "service_per_s": round(total / ours_seconds),
            "raw_insert_per_s": round(total / raw_seconds),
            "ratio_to_raw": round(raw_seconds / ours_seconds, 3),
            "ledger_entries": entries,
            "raw_rows": raw_entries,
            "exactly_once": entries == unique,
        }
        reset(url)
        raw_seconds = run(_raw_batched, url, outcomes)
        ours_seconds = run(_service_batched, url, outcomes)
        entries, raw_entries = counts(url)
        report["batched"] = {
            "batch": BATCH,
            "service_per_s": round(total / ours_seconds),
            "raw_insert_per_s": round(total / raw_seconds),
            "ratio_to_raw": round(raw_seconds / ours_seconds, 3),
            "ledger_entries": entries,
            "exactly_once": entries == unique,
        }
        report["targets"] = {
            "sqlite_service_per_s": 10_000,
            "postgresql_ratio_to_raw": 0.5,
            "batched_ratio_to_raw": 0.3,
        }
        reset(url)
    except Exception as error:  # a benchmark reports, it does not fail
        report["error"] = f"{type(error).__name__}: {error}"
    finally:
        if scratch is not None:
            scratch.cleanup()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
