"""The transactional outbox: enqueue inside the business transaction, run after commit, at least once.

Handlers must be idempotent (helpdesk writes carry idempotency keys, ledger entries unique keys), because a
worker killed mid-job leaves the job to be claimed again once its lease expires.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from plugin.core.clock import Clock
from plugin.jobs import repository
from plugin.jobs.models import Job

DEFAULT_LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class NewJob:
    tenant_id: int
    kind: str
    dedupe_key: str
    payload: dict[str, Any]
    run_at: datetime | None = None
    max_attempts: int = 8


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    tenant_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


def enqueue(session: Session, *, jobs: Sequence[NewJob], clock: Clock) -> int:
    """Add jobs in the caller's transaction; a job whose dedupe key exists is not added twice."""
    now = clock.now()
    rows = [
        {
            "tenant_id": job.tenant_id,
            "kind": job.kind,
            "dedupe_key": job.dedupe_key,
            "payload": json.dumps(job.payload, sort_keys=True),
            "status": "queued",
            "attempts": 0,
            "max_attempts": job.max_attempts,
            "run_at": job.run_at or now,
            "created_at": now,
        }
        for job in sorted(jobs, key=lambda job: job.dedupe_key)
    ]
    return len(repository.insert_jobs(session, rows))


def claim(
    session: Session,
    *,
    worker_id: str,
    clock: Clock,
    kinds: list[str] | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> ClaimedJob | None:
    """Take the next due job under a lease; the caller commits the claim before running it."""
    now = clock.now()
    job = repository.next_claimable(session, now, kinds)
    if job is None:
        return None
    attempts = job.attempts + 1
    repository.mark(
        session, job.id, status="running", locked_by=worker_id, locked_until=now + lease, attempts=attempts
    )
    return ClaimedJob(job.id, job.tenant_id, job.kind, json.loads(job.payload), attempts, job.max_attempts)


def complete(session: Session, *, job_id: int, clock: Clock) -> None:
    """Mark done, in the same transaction as the handler's own writes."""
    repository.mark(session, job_id, status="done", finished_at=clock.now(), locked_until=None)


def fail(session: Session, *, job: ClaimedJob, error: str, clock: Clock) -> None:
    """Schedule a retry with exponential backoff, or give up after max_attempts."""
    now = clock.now()
    if job.attempts >= job.max_attempts:
        repository.mark(
            session, job.id, status="dead", last_error=error[:2000], finished_at=now, locked_until=None
        )
        return
    backoff = timedelta(seconds=min(2**job.attempts, 600))
    repository.mark(
        session, job.id, status="queued", last_error=error[:2000], run_at=now + backoff, locked_until=None
    )


def status_counts(session: Session) -> dict[str, int]:
    """How many jobs are in each state (for health pages and tests)."""
    return repository.counts_by_status(session)


def get_job(session: Session, job_id: int) -> Job | None:
    return repository.get(session, job_id)
