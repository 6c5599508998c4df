from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from plugin.core.db import insert_ignoring_duplicates
from plugin.jobs.models import Job


def insert_jobs(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    return insert_ignoring_duplicates(session, Job.__table__, rows, conflict_columns=["dedupe_key"])


def next_claimable(session: Session, now: datetime, kinds: list[str] | None) -> Job | None:
    """The oldest due job, locked so concurrent workers skip it (PostgreSQL); SQLite serialises writers."""
    query = (
        select(Job)
        .where(
            or_(
                (Job.status == "queued") & (Job.run_at <= now),
                (Job.status == "running") & (Job.locked_until < now),
            )
        )
        .order_by(Job.run_at, Job.id)
        .limit(1)
    )
    if kinds:
        query = query.where(Job.kind.in_(kinds))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def mark(session: Session, job_id: int, **values: Any) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(**values))


def get(session: Session, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def counts_by_status(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())  # type: ignore[arg-type]
