from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from metrics.models import TicketEventRow
from plugin.core.db import insert_ignoring_duplicates


def insert_events(session: Session, rows: list[dict[str, Any]]) -> int:
    inserted = insert_ignoring_duplicates(
        session, TicketEventRow.__table__, rows, conflict_columns=["tenant_id", "event_key"]
    )
    return len(inserted)


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
