"""Real concurrency: several OS processes, each outcome its own committed transaction.

These tests commit, so they use dedicated tenant ids (no tenant row is needed by the ledger) and delete
their rows afterwards instead of relying on the rolled-back fixture.
"""

import multiprocessing
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from billing import service
from billing.ledger import EntryRequest
from billing.models import BillingAccount, LedgerEntry
from billing.pricing import OutcomeKind
from plugin.core.clock import FixedClock
from plugin.core.db import make_engine, make_session_factory, transaction

WRITERS = 4
START = datetime(2026, 11, 2, 9, tzinfo=UTC)


def _record_each(url: str, tenant_id: int, keys: list[str], barrier) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = FixedClock(START)
    barrier.wait()
    for key in keys:
        with transaction(factory) as session:
            service.record_outcome(
                session, tenant_id=tenant_id, kind="draft", ticket_id=key, draft_id=None, idempotency_key=key,
                occurred_at=START, arm="assisted", clock=clock,
            )  # fmt: skip
    engine.dispose()


def _record_batches(url: str, tenant_id: int, keys: list[str], barrier) -> None:
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = FixedClock(START)
    barrier.wait()
    for start in range(0, len(keys), 50):
        batch = [EntryRequest(tenant_id, OutcomeKind.DRAFT, k, k, START) for k in keys[start : start + 50]]
        with transaction(factory) as session:
            service.record_outcomes(session, drafts=batch, clock=clock)
    engine.dispose()


def _run(target, url: str, tenant_id: int, plans: list[list[str]]) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(plans))
    processes = [context.Process(target=target, args=(url, tenant_id, plan, barrier)) for plan in plans]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert all(process.exitcode == 0 for process in processes), [p.exitcode for p in processes]


@pytest.fixture
def committed_tenant(database_url: str) -> Iterator[int]:
    tenant_id = random.randint(10_000_000, 99_999_999)
    yield tenant_id
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            delete(LedgerEntry.__table__).where(LedgerEntry.__table__.c.tenant_id == tenant_id)
        )
        connection.execute(
            delete(BillingAccount.__table__).where(BillingAccount.__table__.c.tenant_id == tenant_id)
        )
    engine.dispose()


def _counts(url: str, tenant_id: int) -> tuple[int, int, int]:
    engine = make_engine(url)
    with engine.connect() as connection:
        entry = LedgerEntry.__table__.c
        total, distinct, billed = connection.execute(
            select(
                func.count(),
                func.count(func.distinct(entry.idempotency_key)),
                func.count().filter(entry.waived_reason.is_(None)),
            ).where(entry.tenant_id == tenant_id)
        ).one()
    engine.dispose()
    return int(total), int(distinct), int(billed)


def test_four_processes_retrying_the_same_outcomes_give_exactly_one_entry_each(
    database_url, committed_tenant
):
    keys = [f"draft:{n}:m1" for n in range(150)]
    plans = [random.Random(seed).sample(keys, len(keys)) for seed in range(WRITERS)]
    _run(_record_each, database_url, committed_tenant, plans)
    assert _counts(database_url, committed_tenant) == (150, 150, 150)


def test_four_processes_with_overlapping_batches_neither_deadlock_nor_duplicate(
    database_url, committed_tenant
):
    keys = [f"draft:{n}:m1" for n in range(400)]
    plans = [random.Random(seed).sample(keys, 300) for seed in range(WRITERS)]
    _run(_record_batches, database_url, committed_tenant, plans)
    assert _counts(database_url, committed_tenant) == (len(set().union(*plans)),) * 3


def test_four_processes_racing_a_spend_cap_never_bill_past_it(database_url, committed_tenant):
    engine = make_engine(database_url)
    with transaction(make_session_factory(engine)) as session:
        service.set_spend_cap(session, tenant_id=committed_tenant, cap_cents=1000, mode="off",
                              clock=FixedClock(START - timedelta(minutes=1)))  # fmt: skip
    engine.dispose()
    keys = [f"draft:{n}:m1" for n in range(120)]
    plans = [random.Random(seed).sample(keys, len(keys)) for seed in range(WRITERS)]
    _run(_record_each, database_url, committed_tenant, plans)
    total, distinct, billed = _counts(database_url, committed_tenant)
    assert (total, distinct) == (120, 120)
    assert billed == 40  # 1000 cents / 25 cents, exactly, no matter who won each race
