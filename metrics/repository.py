"""All SQL of the metrics domain except the per-ticket facts aggregation (facts_query.py)."""

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from metrics.models import Assignment, BusinessSchedule, Experiment, TicketArm, TicketEventRow
from plugin.core.db import insert_ignoring_duplicates


def insert_events(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert events, skipping keys already logged; returns the ids of those that were new.

    Parameters go as an executemany (SQLAlchemy batches them into multi-row INSERTs) rather than one
    statement compiled with every row's values, which is what makes bulk imports fast.
    """
    if not rows:
        return []
    table = cast(Table, TicketEventRow.__table__)
    dialect_insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["tenant_id", "event_key"])
        .returning(table.c.id)
    )
    return list(session.scalars(statement, rows))


def ticket_events(session: Session, tenant_id: int, ticket_id: str) -> list[TicketEventRow]:
    return list(
        session.scalars(
            select(TicketEventRow)
            .where(TicketEventRow.tenant_id == tenant_id, TicketEventRow.ticket_id == ticket_id)
            .order_by(TicketEventRow.occurred_at, TicketEventRow.id)
        )
    )


def events_between(
    session: Session, tenant_id: int, *, since: datetime | None, until: datetime | None, limit: int
) -> list[TicketEventRow]:
    query = select(TicketEventRow).where(TicketEventRow.tenant_id == tenant_id)
    if since is not None:
        query = query.where(TicketEventRow.occurred_at >= since)
    if until is not None:
        query = query.where(TicketEventRow.occurred_at < until)
    return list(session.scalars(query.order_by(TicketEventRow.occurred_at, TicketEventRow.id).limit(limit)))


def latest_experiment(session: Session, tenant_id: int) -> Experiment | None:
    return session.scalars(
        select(Experiment)
        .where(Experiment.tenant_id == tenant_id)
        .order_by(Experiment.version.desc())
        .limit(1)
    ).first()


def experiments(session: Session, tenant_id: int) -> list[Experiment]:
    return list(
        session.scalars(
            select(Experiment).where(Experiment.tenant_id == tenant_id).order_by(Experiment.version)
        )
    )


def insert_experiment(session: Session, row: dict[str, Any]) -> None:
    insert_ignoring_duplicates(
        session, Experiment.__table__, [row], conflict_columns=["tenant_id", "version"]
    )


def experiment_by_id(session: Session, experiment_id: int) -> Experiment | None:
    return session.get(Experiment, experiment_id)


def unit_arm(session: Session, tenant_id: int, experiment_id: int, unit_id: str) -> str | None:
    return session.scalar(
        select(Assignment.arm).where(
            Assignment.tenant_id == tenant_id,
            Assignment.experiment_id == experiment_id,
            Assignment.unit_id == unit_id,
        )
    )


def insert_assignment(session: Session, row: dict[str, Any]) -> None:
    insert_ignoring_duplicates(
        session, Assignment.__table__, [row], conflict_columns=["tenant_id", "experiment_id", "unit_id"]
    )


def ticket_arm(session: Session, tenant_id: int, ticket_id: str) -> TicketArm | None:
    return session.scalars(
        select(TicketArm).where(TicketArm.tenant_id == tenant_id, TicketArm.ticket_id == ticket_id)
    ).first()


def insert_ticket_arm(session: Session, row: dict[str, Any]) -> None:
    insert_ignoring_duplicates(
        session, TicketArm.__table__, [row], conflict_columns=["tenant_id", "ticket_id"]
    )


def schedule(session: Session, tenant_id: int) -> BusinessSchedule | None:
    return session.get(BusinessSchedule, tenant_id)


def save_schedule(session: Session, row: BusinessSchedule) -> None:
    session.merge(row)
    session.flush()
