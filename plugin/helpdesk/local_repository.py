"""All SQL of the demo helpdesk; every query is scoped to one tenant."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from plugin.core.db import insert_ignoring_duplicates
from plugin.helpdesk.local_models import LocalComment, LocalTicket, LocalWebhook


def add(session: Session, row: LocalTicket | LocalComment | LocalWebhook) -> None:
    session.add(row)
    session.flush()


def ticket(
    session: Session, tenant_id: int, ticket_id: int, *, for_update: bool = False
) -> LocalTicket | None:
    statement = select(LocalTicket).where(LocalTicket.tenant_id == tenant_id, LocalTicket.id == ticket_id)
    if for_update:
        # Serialises writers of one ticket on PostgreSQL; SQLite already holds the write lock.
        statement = statement.with_for_update()
    return session.scalar(statement)


def tickets(
    session: Session, tenant_id: int, *, statuses: Sequence[str] | None, limit: int, offset: int
) -> list[LocalTicket]:
    statement = select(LocalTicket).where(LocalTicket.tenant_id == tenant_id)
    if statuses:
        statement = statement.where(LocalTicket.status.in_(statuses))
    statement = statement.order_by(LocalTicket.updated_at.desc(), LocalTicket.id.desc())
    return list(session.scalars(statement.limit(limit).offset(offset)))


def comments(session: Session, tenant_id: int, ticket_id: int) -> list[LocalComment]:
    return list(
        session.scalars(
            select(LocalComment)
            .where(LocalComment.tenant_id == tenant_id, LocalComment.ticket_id == ticket_id)
            .order_by(LocalComment.id)
        )
    )


def insert_comment_once(session: Session, row: dict[str, Any]) -> int | None:
    """Insert unless a comment with the same idempotency key exists; the new id, or None."""
    inserted = insert_ignoring_duplicates(
        session, LocalComment.__table__, [row], conflict_columns=["tenant_id", "idempotency_key"]
    )
    return inserted[0] if inserted else None


def comment_by_key(session: Session, tenant_id: int, idempotency_key: str) -> LocalComment | None:
    return session.scalar(
        select(LocalComment).where(
            LocalComment.tenant_id == tenant_id, LocalComment.idempotency_key == idempotency_key
        )
    )


def pending_webhooks(session: Session, tenant_id: int, *, limit: int) -> list[LocalWebhook]:
    return list(
        session.scalars(
            select(LocalWebhook)
            .where(LocalWebhook.tenant_id == tenant_id, LocalWebhook.delivered_at.is_(None))
            .order_by(LocalWebhook.id)
            .limit(limit)
        )
    )


def mark_delivered(session: Session, tenant_id: int, webhook_ids: Sequence[int], at: datetime) -> None:
    if webhook_ids:
        session.execute(
            update(LocalWebhook)
            .where(LocalWebhook.tenant_id == tenant_id, LocalWebhook.id.in_(webhook_ids))
            .values(delivered_at=at)
        )
