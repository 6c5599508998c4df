"""Periodic work, enqueued as ordinary outbox jobs with a time-bucket dedupe key so any number of
workers can call `enqueue_due` and each job exists once per bucket."""

from datetime import datetime

from sqlalchemy.orm import Session

from plugin.accounts import repository as accounts_repository
from plugin.core.clock import Clock
from plugin.jobs import service as jobs
from plugin.jobs.service import NewJob
from plugin.pipeline import CLOSE_BILLING_PERIODS, PUSH_TO_STRIPE, RECALIBRATE_THRESHOLD, SETTLE_RESOLUTIONS

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
    periodic.extend(
        NewJob(
            tenant.id,
            RECALIBRATE_THRESHOLD,
            f"{RECALIBRATE_THRESHOLD}:{tenant.id}:{now:%Y%m%d}",
            {},
            max_attempts=3,
        )
        for tenant in accounts_repository.list_tenants(session)
    )
    # Billing-wide work belongs to no tenant: tenant id 0.
    periodic.append(
        NewJob(0, CLOSE_BILLING_PERIODS, f"{CLOSE_BILLING_PERIODS}:{now:%Y%m%d}", {}, max_attempts=5)
    )
    periodic.append(NewJob(0, PUSH_TO_STRIPE, f"{PUSH_TO_STRIPE}:{now:%Y%m%d%H}", {}, max_attempts=5))
    return jobs.enqueue(session, jobs=periodic, clock=clock)
