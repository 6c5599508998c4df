"""Metrics benchmark (DESIGN §11): the full report over N synthetic tickets (~5 events each).

Prints JSON: full-report seconds (per-ticket facts, then statistics, segments and trends) and peak memory
on SQLite and PostgreSQL (when BENCH_DATABASE_URL is set), reading the maintained facts table (built from
the bulk-loaded log before timing, as record_events keeps it), and on DuckDB, grouping a CSV export of the
same events; the DuckDB GROUP BY anchor over the same events; the ratio; the scaling from N/10 to N tickets.

    python bench/metrics.py                      # 1,000,000 tickets
    METRICS_BENCH_SCALE=0.05 python bench/metrics.py   # 50,000 tickets, a quick run
"""

import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from metrics import duckdb_log
from metrics.assignment import Unit
from metrics.facts import TicketFacts
from metrics.facts_table import rebuild_ticket_facts, stored_ticket_facts
from metrics.report import ReportOptions
from metrics.report_document import assemble_report, price_book_fees
from plugin.core.db import make_engine, make_session_factory
from plugin.migrate import upgrade

TENANT_ID = 1
urls: dict[str, str] = {}
BASE_TICKETS = 1_000_000
START = datetime(2026, 1, 5, tzinfo=UTC)
SPAN_DAYS = 180
COLUMNS = (
    "event_key, ticket_id, requester_id, event, occurred_at, actor, agent_id, public, channel, intent, priority, "
    "value, arm"
)

# Every draw is a hash of (ticket, purpose), so the data set is the same on every run and in every engine.
GENERATOR_SQL = """
CREATE OR REPLACE TABLE tickets AS
SELECT i,
       'T' || i AS ticket_id,
       'R' || (hash(i, 'requester') % {requesters}) AS requester_id,
       TIMESTAMPTZ '{start}' + to_microseconds(CAST(i * {spacing_us} AS BIGINT)) AS created_at,
       (hash(i, 'u1') % 1000000) / 1e6 AS u1, (hash(i, 'u2') % 1000000 + 1) / 1e6 AS u2,
       (hash(i, 'u3') % 1000000) / 1e6 AS u3, (hash(i, 'u4') % 1000000 + 1) / 1e6 AS u4,
       (hash(i, 'u5') % 1000000) / 1e6 AS u5, (hash(i, 'u6') % 1000000) / 1e6 AS u6,
       (hash(i, 'u7') % 1000000) / 1e6 AS u7,
       ['email', 'chat', 'web', 'phone'][CAST(1 + hash(i, 'channel') % 4 AS BIGINT)] AS channel,
       ['billing', 'login', 'shipping', 'refund', 'bug', 'other'][CAST(1 + hash(i, 'intent') % 6 AS BIGINT)] AS intent,
       ['low', 'normal', 'high', 'urgent'][CAST(1 + hash(i, 'priority') % 4 AS BIGINT)] AS priority
FROM range({tickets}) AS r(i);
CREATE OR REPLACE TABLE tickets AS
SELECT *,
       CASE WHEN hash(requester_id, 'arm') % 2 = 0 THEN 'assisted' ELSE 'control' END AS arm,
       'A' || (hash(i, 'agent') % 200) AS agent_id
FROM tickets;
CREATE OR REPLACE TABLE tickets AS
SELECT *,
       arm = 'assisted' AND u1 < 0.4 AS ai,
       u3 < 0.98 AS answered,
       created_at + to_microseconds(CAST(-ln(u2) * (CASE WHEN arm = 'assisted' THEN 900 ELSE 2400 END) * 1e6 AS BIGINT)) AS reply_at,
       u5 < 0.9 AS solved
FROM tickets;
CREATE OR REPLACE TABLE events AS
SELECT ticket_id || ':c' AS event_key, ticket_id, requester_id, 'created' AS event, created_at AS occurred_at,
       'customer' AS actor, NULL AS agent_id, NULL::BOOLEAN AS public, channel, intent, priority, NULL::DOUBLE AS value, arm
FROM tickets
UNION ALL SELECT ticket_id || ':m', ticket_id, requester_id, 'customer_message', created_at, 'customer', NULL, true,
       channel, intent, priority, NULL, arm FROM tickets
UNION ALL SELECT ticket_id || ':r', ticket_id, requester_id, CASE WHEN ai THEN 'ai_reply' ELSE 'agent_reply' END,
       reply_at, CASE WHEN ai THEN 'ai' ELSE 'agent' END, CASE WHEN ai THEN NULL ELSE agent_id END, true,
       channel, intent, priority, NULL, arm FROM tickets WHERE answered
UNION ALL SELECT ticket_id || ':d', ticket_id, requester_id, 'draft_delivered', reply_at - INTERVAL 1 MINUTE, 'ai', NULL, NULL,
       channel, intent, priority, NULL, arm FROM tickets WHERE answered AND arm = 'assisted' AND NOT ai
UNION ALL SELECT ticket_id || ':h', ticket_id, requester_id, 'handle_time', reply_at, 'agent', agent_id, NULL,
       channel, intent, priority, round(120 + u4 * 900), arm FROM tickets WHERE answered AND NOT ai
UNION ALL SELECT ticket_id || ':s', ticket_id, requester_id, 'solved', reply_at + to_microseconds(CAST(-ln(u4) * 7200e6 AS BIGINT)),
       CASE WHEN ai THEN 'ai' ELSE 'agent' END, NULL, NULL, channel, intent, priority, NULL, arm
       FROM tickets WHERE answered AND solved
UNION ALL SELECT ticket_id || ':o', ticket_id, requester_id, 'reopened', reply_at + to_microseconds(CAST(-ln(u4) * 7200e6 AS BIGINT)) + INTERVAL 2 HOUR,
       'customer', NULL, NULL, channel, intent, priority, NULL, arm
       FROM tickets WHERE answered AND solved AND u6 < 0.05
UNION ALL SELECT ticket_id || ':e', ticket_id, requester_id, 'escalated', reply_at + INTERVAL 10 MINUTE, 'agent', agent_id, NULL,
       channel, intent, priority, NULL, arm FROM tickets WHERE answered AND u6 > 0.95
UNION ALL SELECT ticket_id || ':q', ticket_id, requester_id, 'csat', reply_at + INTERVAL 1 DAY, 'customer', NULL, NULL,
       channel, intent, priority, CASE WHEN u7 < 0.25 THEN 1.0 ELSE 0.0 END, arm
       FROM tickets WHERE answered AND solved AND u7 < 0.3;
"""
ANCHOR_SQL = """
SELECT ticket_id, min(occurred_at), count(*) FILTER (WHERE event IN ('agent_reply', 'ai_reply')),
       sum(value) FILTER (WHERE event = 'handle_time'), max(arm)
FROM events GROUP BY ticket_id
"""


def generate(tickets: int, directory: Path) -> tuple[duckdb.DuckDBPyConnection, Path, int]:
    """Build the events in DuckDB and write them as a canonical-format CSV."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(
        GENERATOR_SQL.format(
            tickets=tickets,
            requesters=max(int(tickets * 0.8), 1),
            start=START.isoformat(),
            spacing_us=SPAN_DAYS * 86_400 * 1_000_000 // tickets,
        )
    )
    path = directory / f"events_{tickets}.csv"
    connection.execute(
        f"COPY (SELECT {COLUMNS} FROM events ORDER BY occurred_at) TO '{path}' "
        "(HEADER, TIMESTAMPFORMAT '%Y-%m-%d %H:%M:%S.%f')"
    )
    count = connection.execute("SELECT count(*) FROM events").fetchone()
    assert count is not None
    return connection, path, int(count[0])


def _csv_rows(path: Path, recorded_at: str) -> Iterator[tuple[Any, ...]]:
    with path.open(newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        for row in reader:
            yield (
                TENANT_ID,
                *row[:7],
                None if row[7] == "" else row[7] == "true",
                *(value or None for value in row[8:11]),
                None if row[11] == "" else float(row[11]),
                row[12],
                recorded_at,
            )


def load_sqlite(url: str, path: Path) -> None:
    import sqlite3

    upgrade(url)
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.executemany(
        f"INSERT INTO metrics_ticket_event (tenant_id, {COLUMNS}, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _csv_rows(path, "2026-12-01 00:00:00.000000"),
    )
    connection.commit()
    connection.execute("ANALYZE")
    connection.close()


def load_postgres(url: str, path: Path) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE")
        connection.exec_driver_sql("CREATE SCHEMA public")
    engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        copy_sql = (
            f"COPY metrics_ticket_event ({COLUMNS}, tenant_id, recorded_at) FROM STDIN WITH (FORMAT csv)"
        )
        with path.open() as stream, cursor.copy(copy_sql) as copy:  # type: ignore[attr-defined]
            next(stream)
            for line in stream:
                copy.write(line.rstrip("\n") + f",{TENANT_ID},2026-12-01 00:00:00+00\n")
        raw.commit()
        cursor.execute("ANALYZE metrics_ticket_event")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def timed(facts_source: Callable[[], TicketFacts], repeats: int) -> dict[str, Any]:
    """Median seconds of the full report (facts in the engine, then statistics, segments and trends), and
    peak memory: the Python heap via tracemalloc on an extra run, and the process RSS high-water mark."""
    options = ReportOptions(cost_per_agent_hour_cents=3_000, unit=Unit.REQUESTER)
    totals, facts_seconds = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        facts = facts_source()
        middle = time.perf_counter()
        report = assemble_report(facts, price_book_fees(facts), options)
        totals.append(time.perf_counter() - started)
        facts_seconds.append(middle - started)
    tracemalloc.start()
    facts = facts_source()
    assemble_report(facts, price_book_fees(facts), options)
    peak_python = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "report_s_median": round(statistics.median(totals), 3),
        "facts_s_median": round(statistics.median(facts_seconds), 3),
        "report_s_all": [round(value, 3) for value in totals],
        "peak_python_heap_mb": round(peak_python / 2**20, 1),
        "tickets_in_report": report["tickets"],
        "fcr_rate_assisted": report["arms"]["assisted"]["fcr_rate"],
    }


def build_facts_table(url: str) -> float:
    """Fold the bulk-loaded log into the facts table (record_events does this as events arrive); seconds."""
    engine = make_engine(url)
    started = time.perf_counter()
    with make_session_factory(engine)() as session:
        rebuild_ticket_facts(session, tenant_id=TENANT_ID)
        session.commit()
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def database_facts(url: str) -> Callable[[], TicketFacts]:
    engine = make_engine(url)
    factory = make_session_factory(engine)

    def facts() -> TicketFacts:
        with factory() as session:
            return stored_ticket_facts(session, tenant_id=TENANT_ID)

    return facts


def duckdb_export_facts(path: Path) -> Callable[[], TicketFacts]:
    """The events exported as CSV and loaded into DuckDB once; each report then runs the facts SQL there."""
    connection = duckdb_log.connect()
    connection.execute(
        f"INSERT INTO metrics_ticket_event SELECT row_number() OVER (), {TENANT_ID}, event_key, ticket_id, "
        "requester_id, event, occurred_at, actor, agent_id, public, channel, intent, priority, value, arm "
        f"FROM read_csv('{path}', header = true, timestampformat = '%Y-%m-%d %H:%M:%S.%f')"
    )

    def facts() -> TicketFacts:
        return duckdb_log.ticket_facts(connection, tenant_id=TENANT_ID)

    return facts


def anchor(connection: duckdb.DuckDBPyConnection, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        connection.execute(f"SELECT count(*) FROM ({ANCHOR_SQL})").fetchone()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def one_report_rss(source: str) -> dict[str, Any]:
    """One full report in a fresh process: its peak RSS is the report's memory, engine buffers included."""
    completed = subprocess.run(
        [sys.executable, __file__, "--one-report", source], capture_output=True, text=True, check=True
    )
    measured: dict[str, Any] = json.loads(completed.stdout)
    return measured


def run_one_report(source: str) -> None:
    facts_source = (
        duckdb_export_facts(Path(source.removeprefix("duckdb:")))
        if source.startswith("duckdb:")
        else (database_facts(source))
    )
    started = time.perf_counter()
    facts = facts_source()
    assemble_report(facts, price_book_fees(facts), ReportOptions(cost_per_agent_hour_cents=3_000))
    seconds = time.perf_counter() - started
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec, so it would report the parent's.
    status = Path("/proc/self/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    print(json.dumps({"seconds": round(seconds, 3), "peak_rss_mb": round(peak_kb / 1024, 1)}))


def run_size(
    tickets: int,
    directory: Path,
    backends: dict[str, Callable[[Path], Callable[[], TicketFacts]]],
    repeats: int,
) -> dict[str, Any]:
    started = time.perf_counter()
    connection, path, events = generate(tickets, directory)
    result: dict[str, Any] = {
        "tickets": tickets,
        "events": events,
        "generate_s": round(time.perf_counter() - started, 1),
    }
    result["duckdb_anchor_s"] = round(anchor(connection, repeats), 4)
    connection.close()
    for name, prepare in backends.items():
        started = time.perf_counter()
        source = prepare(path)
        load_seconds = time.perf_counter() - started
        build_seconds = build_facts_table(urls[name]) if name in urls else None
        measured = timed(source, repeats)
        measured["load_s"] = round(load_seconds, 1)
        if build_seconds is not None:
            measured["facts_table_build_s"] = round(build_seconds, 1)
        fresh = one_report_rss(f"duckdb:{path}" if name == "duckdb_export" else urls[name])
        measured["fresh_process_report_s"] = fresh["seconds"]
        measured["fresh_process_peak_rss_mb"] = fresh["peak_rss_mb"]
        measured["ratio_to_anchor"] = round(measured["report_s_median"] / result["duckdb_anchor_s"], 2)
        result[name] = measured
    path.unlink()
    return result


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one-report":
        run_one_report(sys.argv[2])
        return
    scale = float(os.environ.get("METRICS_BENCH_SCALE", "1"))
    repeats = int(os.environ.get("METRICS_BENCH_REPEATS", "3"))
    tickets = max(int(BASE_TICKETS * scale), 1000)
    postgres_url = os.environ.get("BENCH_DATABASE_URL")
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)

        def sqlite_backend(path: Path) -> Callable[[], TicketFacts]:
            url = f"sqlite:///{directory / path.stem}.db"
            load_sqlite(url, path)
            urls["sqlite"] = url
            return database_facts(url)

        def postgres_backend(path: Path) -> Callable[[], TicketFacts]:
            assert postgres_url is not None
            load_postgres(postgres_url, path)
            urls["postgresql"] = postgres_url
            return database_facts(postgres_url)

        backends: dict[str, Callable[[Path], Callable[[], TicketFacts]]] = {"sqlite": sqlite_backend}
        if postgres_url:
            backends["postgresql"] = postgres_backend
        backends["duckdb_export"] = duckdb_export_facts
        wanted = os.environ.get("METRICS_BENCH_BACKENDS")
        if wanted:
            backends = {name: prepare for name, prepare in backends.items() if name in wanted.split(",")}
        small = run_size(max(tickets // 10, 100), directory, backends, repeats)
        full = run_size(tickets, directory, backends, repeats)
    scaling = {
        name: round(full[name]["report_s_median"] / small[name]["report_s_median"], 2) for name in backends
    }
    print(
        json.dumps(
            {
                "benchmark": "metrics_report",
                "targets": {
                    "report_s": 3.0,
                    "peak_memory_mb": 1536,
                    "ratio_to_anchor": 10,
                    "scaling_10x": 12,
                },
                "full": full,
                "tenth": small,
                "scaling_10x": scaling,
                "bench_process_peak_rss_mb_incl_generation_and_loading": round(
                    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
