from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from drafting.models import (
    ContextConnector,
    Draft,
    DraftFeedback,
    DraftingSettings,
    IntentModel,
    KnowledgeDocument,
)
from plugin.core.db import insert_ignoring_duplicates


class DraftEvidence(NamedTuple):
    draft_id: int
    confidence: float
    action: str
    reasons: str
    """JSON list of what blocked auto-resolution."""
    text_length: int
    agent_action: str | None
    edit_distance: int | None


def settings(session: Session, tenant_id: int) -> DraftingSettings | None:
    return session.get(DraftingSettings, tenant_id)


def save(session: Session, row: DraftingSettings | Draft | DraftFeedback | IntentModel) -> None:
    session.add(row)
    session.flush()


def latest_draft_for_message(
    session: Session, tenant_id: int, ticket_id: str, message_id: str
) -> Draft | None:
    return session.scalar(
        select(Draft)
        .where(Draft.tenant_id == tenant_id, Draft.ticket_id == ticket_id, Draft.message_id == message_id)
        .order_by(Draft.attempt.desc())
        .limit(1)
    )


def latest_draft_for_ticket(session: Session, tenant_id: int, ticket_id: str) -> Draft | None:
    return session.scalar(
        select(Draft)
        .where(Draft.tenant_id == tenant_id, Draft.ticket_id == ticket_id)
        .order_by(Draft.created_at.desc(), Draft.id.desc())
        .limit(1)
    )


def draft(session: Session, tenant_id: int, draft_id: int) -> Draft | None:
    return session.scalar(select(Draft).where(Draft.tenant_id == tenant_id, Draft.id == draft_id))


def latest_model(session: Session, tenant_id: int) -> IntentModel | None:
    return session.scalar(
        select(IntentModel)
        .where(IntentModel.tenant_id == tenant_id)
        .order_by(IntentModel.version.desc())
        .limit(1)
    )


def latest_model_version(session: Session, tenant_id: int) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(IntentModel.version), 0)).where(IntentModel.tenant_id == tenant_id)
        )
        or 0
    )


def insert_passages(session: Session, rows: list[dict[str, object]]) -> int:
    inserted = insert_ignoring_duplicates(
        session, KnowledgeDocument.__table__, rows, conflict_columns=["tenant_id", "doc_id", "section"]
    )
    return len(inserted)


def passages(session: Session, tenant_id: int) -> list[KnowledgeDocument]:
    return list(
        session.scalars(
            select(KnowledgeDocument)
            .where(KnowledgeDocument.tenant_id == tenant_id)
            .order_by(KnowledgeDocument.id)
        )
    )


def knowledge_version(session: Session, tenant_id: int) -> tuple[int, int]:
    """(passage count, newest id): changes whenever passages are added."""
    count, newest = session.execute(
        select(func.count(), func.coalesce(func.max(KnowledgeDocument.id), 0)).where(
            KnowledgeDocument.tenant_id == tenant_id
        )
    ).one()
    return int(count), int(newest)


def feedback_for(session: Session, tenant_id: int, draft_id: int) -> list[DraftFeedback]:
    return list(
        session.scalars(
            select(DraftFeedback)
            .where(DraftFeedback.tenant_id == tenant_id, DraftFeedback.draft_id == draft_id)
            .order_by(DraftFeedback.id)
        )
    )


def drafts_since(session: Session, tenant_id: int, since: datetime) -> list[Draft]:
    return list(session.scalars(select(Draft).where(Draft.tenant_id == tenant_id, Draft.created_at >= since)))


def connectors(session: Session, tenant_id: int) -> list[ContextConnector]:
    return list(
        session.scalars(
            select(ContextConnector)
            .where(ContextConnector.tenant_id == tenant_id)
            .order_by(ContextConnector.kind)
        )
    )


def put_connector(session: Session, *, tenant_id: int, kind: str, settings: str, now: datetime) -> None:
    """Create or replace the tenant's connector of this kind (a concurrent first write cannot duplicate it)."""
    row = {"tenant_id": tenant_id, "kind": kind, "settings": settings, "updated_at": now}
    if insert_ignoring_duplicates(
        session, ContextConnector.__table__, [row], conflict_columns=["tenant_id", "kind"]
    ):
        return
    session.execute(
        update(ContextConnector)
        .where(ContextConnector.tenant_id == tenant_id, ContextConnector.kind == kind)
        .values(settings=settings, updated_at=now)
    )


def delete_connector(session: Session, tenant_id: int, kind: str) -> bool:
    result = session.execute(
        delete(ContextConnector).where(ContextConnector.tenant_id == tenant_id, ContextConnector.kind == kind)
    )
    return bool(getattr(result, "rowcount", 0))


def draft_outcome_evidence(session: Session, tenant_id: int) -> list[DraftEvidence]:
    """Each assisted draft with its decision and the agent's first action on it (ratings do not count),
    oldest first; the action is None while the agent has not inserted, edited or discarded it."""
    first_action = (
        select(DraftFeedback.draft_id, func.min(DraftFeedback.id).label("feedback_id"))
        .where(DraftFeedback.tenant_id == tenant_id, DraftFeedback.kind != "rated")
        .group_by(DraftFeedback.draft_id)
        .subquery()
    )
    rows = session.execute(
        select(
            Draft.id,
            Draft.confidence,
            Draft.action,
            Draft.reasons,
            func.length(Draft.text),
            DraftFeedback.kind,
            DraftFeedback.edit_distance,
        )
        .outerjoin(first_action, first_action.c.draft_id == Draft.id)
        .outerjoin(DraftFeedback, DraftFeedback.id == first_action.c.feedback_id)
        .where(Draft.tenant_id == tenant_id, Draft.action.in_(("draft", "auto_resolve")))
        .order_by(Draft.id)
    )
    return [DraftEvidence(*row) for row in rows]
