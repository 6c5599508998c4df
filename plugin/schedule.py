"""Periodic work, enqueued as ordinary outbox jobs with a time-bucket dedupe key so any number of
workers can call `enqueue_due` and each job exists once per bucket."""

from datetime import datetime

from sqlalchemy.orm import Session

from plugin.accounts import repository as accounts_repository
from plugin.core.clock import Clock
from plugin.jobs import service as jobs
from plugin.jobs.service import NewJob
from plugin.pipeline import SETTLE_RESOLUTIONS

SETTLE_EVERY_MINUTES = 5


def _bucket(moment: datetime, minutes: int) -> str:
    return moment.strftime("%Y%m%d%H") + f"{moment.minute // minutes:02d}"


def enqueue_due(session: Session, *, clock: Clock) -> int:
    """Queue this bucket's periodic jobs for every tenant; returns how many were new."""
    now = clock.now()
    periodic = [
        NewJob(
            tenant_id=tenant.id,
            kind=SETTLE_RESOLUTIONS,
            dedupe_key=f"{SETTLE_RESOLUTIONS}:{tenant.id}:{_bucket(now, SETTLE_EVERY_MINUTES)}",
            payload={},
            max_attempts=3,
        )
        for tenant in accounts_repository.list_tenants(session)
    ]
    return jobs.enqueue(session, jobs=periodic, clock=clock)
