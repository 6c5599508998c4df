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
    tenant_ids = [tenant.id for tenant in accounts_repository.list_tenants(session)]
    settle_bucket, day = _bucket(now, SETTLE_EVERY_MINUTES), f"{now:%Y%m%d}"
    periodic = [
        job
        for tenant_id in tenant_ids
        for job in (
            NewJob(
                tenant_id,
                SETTLE_RESOLUTIONS,
                f"{SETTLE_RESOLUTIONS}:{tenant_id}:{settle_bucket}",
                {},
                max_attempts=3,
            ),
            NewJob(
                tenant_id,
                RECALIBRATE_THRESHOLD,
                f"{RECALIBRATE_THRESHOLD}:{tenant_id}:{day}",
                {},
                max_attempts=3,
            ),
        )
    ]
    # Billing-wide work belongs to no tenant: tenant id 0.
    periodic.append(
        NewJob(0, CLOSE_BILLING_PERIODS, f"{CLOSE_BILLING_PERIODS}:{now:%Y%m%d}", {}, max_attempts=5)
    )
    periodic.append(NewJob(0, PUSH_TO_STRIPE, f"{PUSH_TO_STRIPE}:{now:%Y%m%d%H}", {}, max_attempts=5))
    return jobs.enqueue(session, jobs=periodic, clock=clock)
