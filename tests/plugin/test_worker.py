import asyncio
import multiprocessing
import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from plugin.core.clock import FixedClock, SystemClock
from plugin.core.db import make_engine, make_session_factory, transaction
from plugin.jobs import service as jobs
from plugin.jobs.models import Job
from plugin.jobs.service import NewJob
from plugin.worker import Worker

COMMITTED_TENANT = 990_001


def test_enqueue_with_the_same_dedupe_key_adds_one_job(session, clock):
    job = NewJob(tenant_id=1, kind="noop", dedupe_key="noop:1", payload={"n": 1})
    assert jobs.enqueue(session, jobs=[job, job], clock=clock) == 1
    assert jobs.enqueue(session, jobs=[job], clock=clock) == 0


def test_failed_job_is_retried_with_backoff_then_given_up(session_factory, clock):
    with transaction(session_factory) as session:
        jobs.enqueue(session, jobs=[NewJob(1, "flaky", "flaky:1", {}, max_attempts=2)], clock=clock)
    calls = []

    async def flaky(job, _ctx):
        calls.append(job.attempts)
        raise RuntimeError("upstream down")

    worker = Worker(session_factory, {"flaky": flaky}, clock, worker_id="w1")
    assert asyncio.run(worker.drain()) == 1
    assert asyncio.run(worker.drain()) == 0  # backing off
    clock.advance(timedelta(seconds=3))
    assert asyncio.run(worker.drain()) == 1
    with transaction(session_factory) as session:
        job = session.query(Job).filter_by(dedupe_key="flaky:1").one()
        assert (job.status, job.attempts, calls) == ("dead", 2, [1, 2])
        assert "upstream down" in (job.last_error or "")


def test_job_of_a_worker_that_died_is_claimed_again_after_its_lease(session_factory, clock):
    with transaction(session_factory) as session:
        jobs.enqueue(session, jobs=[NewJob(1, "work", "work:1", {})], clock=clock)
        assert jobs.claim(session, worker_id="dead-worker", clock=clock) is not None
    ran = []

    async def work(job, _ctx):
        ran.append(job.attempts)

    worker = Worker(session_factory, {"work": work}, clock, worker_id="w2")
    assert asyncio.run(worker.drain()) == 0
    clock.advance(jobs.DEFAULT_LEASE + timedelta(seconds=1))
    assert asyncio.run(worker.drain()) == 1
    assert ran == [2]


def _drain_in_process(database_url: str, out_dir: str, name: str) -> None:
    factory = make_session_factory(make_engine(database_url))
    marker = Path(out_dir) / f"{name}.log"

    async def record(job, _ctx):
        # A deliberately non-idempotent side effect: a job run twice shows up twice. The short pause keeps
        # one fast worker from draining everything before the others have started.
        await asyncio.sleep(0.003)
        with marker.open("a") as file:
            file.write(f"{job.payload['n']}\n")

    asyncio.run(Worker(factory, {"count": record}, SystemClock(), worker_id=name).drain())


@pytest.fixture
def committed_jobs(engine):
    yield
    with engine.begin() as connection:
        connection.execute(delete(Job).where(Job.tenant_id == COMMITTED_TENANT))


def test_four_worker_processes_drain_a_thousand_jobs_each_exactly_once(
    engine, database_url, tmp_path, committed_jobs
):
    factory = make_session_factory(engine)
    with transaction(factory) as session:
        batch = [NewJob(COMMITTED_TENANT, "count", f"count:{n}", {"n": n}) for n in range(1000)]
        assert (
            jobs.enqueue(session, jobs=batch, clock=FixedClock(SystemClock().now() - timedelta(seconds=1)))
            == 1000
        )

    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_drain_in_process, args=(database_url, str(tmp_path), f"w{i}"))
        for i in range(4)
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=300)
        assert process.exitcode == 0

    runs = [int(line) for log in tmp_path.glob("w*.log") for line in log.read_text().split()]
    assert sorted(runs) == list(range(1000))
    busy = [log for log in tmp_path.glob("w*.log") if log.stat().st_size > 0]
    if engine.dialect.name == "postgresql" and os.cpu_count() and os.cpu_count() > 1:
        assert len(busy) >= 2, "skip-locked claims should spread work across workers"
