"""Invoicing benchmark (DESIGN §11): close one month for 1,000 tenants holding 5,000,000 ledger entries.

Target: <= 20 s. Aggregation runs in SQL (one GROUP BY for every tenant); the anchor is that GROUP BY alone,
timed in the same run on the same rows. Prints JSON; never fails.

    python bench/invoicing.py                                   # SQLite in a temp dir
    BENCH_DATABASE_URL=postgresql+psycopg://... python bench/invoicing.py
    BENCH_INVOICE_ENTRIES=500000 BENCH_INVOICE_TENANTS=100 python bench/invoicing.py   # quicker
"""

import json
import os
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, delete, func, select, text

from billing import invoices
from billing.models import BillingAccount, Invoice, InvoiceLine, LedgerEntry, StripePush
from plugin.core.clock import FixedClock
from plugin.core.db import make_engine, make_session_factory, transaction
from plugin.migrate import upgrade

TENANT_BASE = 80_000_000
OCTOBER = date(2026, 10, 1)
COLUMNS = ("tenant_id", "idempotency_key", "kind", "quantity", "unit_price_micros", "amount_micros", "currency",
           "period_start", "occurred_at", "recorded_at", "ticket_id")  # fmt: skip


def rows(entries: int, tenants: int) -> Any:
    """Deterministic entries: 80% drafts (two price points), 15% resolutions, 5% reversal credits."""
    start = datetime(2026, 10, 1, tzinfo=UTC)
    for n in range(entries):
        tenant = TENANT_BASE + n % tenants
        bucket = n % 20
        if bucket < 15:
            kind, quantity, unit = "draft", 1, 25_000_000 if bucket % 5 else 12_500_000
        elif bucket < 19:
            kind, quantity, unit = "resolution", 1, 50_000_000
        else:
            kind, quantity, unit = "resolution_reversal", -1, 50_000_000
        moment = start + timedelta(seconds=(n * 7) % (30 * 86400))
        yield (tenant, f"bench:{n}", kind, quantity, unit, quantity * unit, "USD", OCTOBER, moment, moment,
               str(n // 3))  # fmt: skip


def load(engine: Engine, entries: int, tenants: int) -> None:
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        statement = f"COPY billing_ledger_entry ({', '.join(COLUMNS)}) FROM STDIN"
        with raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[attr-defined]
            for row in rows(entries, tenants):
                copy.write_row(row)
        raw.commit()
        raw.close()
    else:
        raw = engine.raw_connection()
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        sql = f"INSERT INTO billing_ledger_entry ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        batch = []
        for row in rows(entries, tenants):
            moment = row[8].replace(tzinfo=None).isoformat(sep=" ")
            batch.append((*row[:7], row[7].isoformat(), moment, moment, row[10]))
            if len(batch) == 100_000:
                cursor.executemany(sql, batch)
                batch.clear()
        cursor.executemany(sql, batch)
        cursor.execute("COMMIT")
        raw.close()
    with engine.begin() as connection:
        connection.execute(
            BillingAccount.__table__.insert(),
            [
                {"tenant_id": TENANT_BASE + t, "currency": "USD", "cap_mode": "suggest_only", "cap_period_spent_micros": 0,
                 "open_period": OCTOBER, "last_invoice_seq": 0, "created_at": datetime(2026, 10, 1, tzinfo=UTC)}
                for t in range(tenants)
            ],
        )  # fmt: skip
        if engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE billing_ledger_entry"))


def reset(engine: Engine, tenants: int) -> None:
    span = (TENANT_BASE, TENANT_BASE + tenants)
    with engine.begin() as connection:
        invoice_ids = select(Invoice.__table__.c.id).where(Invoice.__table__.c.tenant_id.between(*span))
        connection.execute(
            delete(InvoiceLine.__table__).where(InvoiceLine.__table__.c.invoice_id.in_(invoice_ids))
        )
        connection.execute(
            delete(StripePush.__table__).where(StripePush.__table__.c.tenant_id.between(*span))
        )
        connection.execute(delete(Invoice.__table__).where(Invoice.__table__.c.tenant_id.between(*span)))
        connection.execute(
            delete(LedgerEntry.__table__).where(LedgerEntry.__table__.c.tenant_id.between(*span))
        )
        connection.execute(
            delete(BillingAccount.__table__).where(BillingAccount.__table__.c.tenant_id.between(*span))
        )


def anchor_group_by(engine: Engine) -> float:
    entry = LedgerEntry.__table__.c
    query = (
        select(
            entry.tenant_id,
            entry.kind,
            entry.unit_price_micros,
            func.sum(entry.quantity),
            func.sum(entry.amount_micros),
        )
        .where(entry.period_start == OCTOBER)
        .group_by(entry.tenant_id, entry.kind, entry.unit_price_micros)
    )
    began = time.perf_counter()
    with engine.connect() as connection:
        connection.execute(query).all()
    return time.perf_counter() - began


def main() -> None:
    entries = int(os.environ.get("BENCH_INVOICE_ENTRIES", "5000000"))
    tenants = int(os.environ.get("BENCH_INVOICE_TENANTS", "1000"))
    url = os.environ.get("BENCH_DATABASE_URL")
    scratch = None
    if not url:
        scratch = tempfile.TemporaryDirectory()
        url = f"sqlite:///{scratch.name}/invoicing.db"
    report: dict[str, Any] = {"bench": "invoicing", "backend": url.split(":")[0].split("+")[0], "entries": entries,
                              "tenants": tenants, "target_seconds": 20}  # fmt: skip
    try:
        upgrade(url)
        engine = make_engine(url)
        reset(engine, tenants)
        began = time.perf_counter()
        load(engine, entries, tenants)
        report["load_seconds"] = round(time.perf_counter() - began, 2)
        report["anchor_group_by_seconds"] = round(anchor_group_by(engine), 3)
        clock = FixedClock(datetime(2026, 11, 5, tzinfo=UTC))
        began = time.perf_counter()
        with transaction(make_session_factory(engine)) as session:
            closed = invoices.close_period(session, period_start=OCTOBER, clock=clock)
            total = sum(invoice.total_cents for invoice in closed)
        seconds = time.perf_counter() - began
        with engine.connect() as connection:
            ledger_cents = connection.scalar(
                select(func.sum(LedgerEntry.__table__.c.amount_micros)).where(
                    LedgerEntry.__table__.c.tenant_id.between(TENANT_BASE, TENANT_BASE + tenants)
                )
            )
        report.update(
            close_seconds=round(seconds, 3),
            ratio_to_group_by=round(seconds / max(report["anchor_group_by_seconds"], 1e-9), 2),
            invoices=len(closed),
            invoiced_total_cents=total,
            ledger_total_cents_unrounded=str(Decimal(int(ledger_cents or 0)) / 1_000_000),
            within_target=seconds <= 20,
        )
        reset(engine, tenants)
        engine.dispose()
    except Exception as error:  # a benchmark reports, it does not fail
        report["error"] = f"{type(error).__name__}: {error}"
    finally:
        if scratch is not None:
            scratch.cleanup()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
