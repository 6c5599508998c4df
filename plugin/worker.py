"""`outcomedesk worker`: drains the outbox. Many workers may run at once (row claims skip locked rows).

Delivery is at least once: a handler may run again after a crash or a lost lease, so every handler is
idempotent (helpdesk writes carry idempotency keys, ledger entries and events have unique keys).
"""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from plugin.core.clock import Clock
from plugin.core.db import transaction
from plugin.jobs import service as jobs
from plugin.jobs.service import ClaimedJob

log = logging.getLogger("outcomedesk.worker")


@dataclass(frozen=True)
class JobContext:
    factory: sessionmaker[Session]
    clock: Clock


Handler = Callable[[ClaimedJob, JobContext], Awaitable[None]]


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Worker:
    factory: sessionmaker[Session]
    handlers: Mapping[str, Handler]
    clock: Clock
    worker_id: str = field(default_factory=default_worker_id)
    lease: timedelta = jobs.DEFAULT_LEASE

    async def run_once(self) -> bool:
        """Claim and run one due job; False when there was nothing to do."""
        with transaction(self.factory) as session:
            job = jobs.claim(
                session,
                worker_id=self.worker_id,
                clock=self.clock,
                kinds=list(self.handlers),
                lease=self.lease,
            )
        if job is None:
            return False
        try:
            await self.handlers[job.kind](job, JobContext(self.factory, self.clock))
        except Exception as error:  # a failed job is retried later; the worker keeps going
            log.warning("job %s (%s) attempt %s failed: %s", job.id, job.kind, job.attempts, error)
            with transaction(self.factory) as session:
                jobs.fail(session, job=job, error=f"{type(error).__name__}: {error}", clock=self.clock)
            return True
        with transaction(self.factory) as session:
            jobs.complete(session, job_id=job.id, clock=self.clock)
        return True

    async def drain(self, *, max_jobs: int | None = None) -> int:
        """Run due jobs until none is left (or max_jobs ran); returns how many ran."""
        ran = 0
        while (max_jobs is None or ran < max_jobs) and await self.run_once():
            ran += 1
        return ran

    async def run_forever(self, *, poll_interval: float = 0.5, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            if not await self.run_once():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_interval)
