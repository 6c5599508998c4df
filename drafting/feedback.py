"""What agents did with drafts: the evidence for calibration and for the assisted-arm metrics."""

from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein
from sqlalchemy.orm import Session

from drafting import repository
from drafting.models import DraftFeedback
from drafting.schemas import FeedbackKind
from drafting.service import get_draft
from metrics import service as metrics_service
from metrics.events import Actor, EventName, TicketEvent
from plugin.core.clock import Clock
from plugin.core.errors import InvalidPayload

EVENT_FOR_KIND = {
    "inserted": EventName.DRAFT_INSERTED,
    "edited": EventName.DRAFT_INSERTED,
    "discarded": EventName.DRAFT_DISCARDED,
}


@dataclass(frozen=True)
class FeedbackView:
    id: int
    draft_id: int
    kind: str
    edit_distance: int | None
    rating: int | None


def record_feedback(
    session: Session,
    *,
    tenant_id: int,
    draft_id: int,
    kind: FeedbackKind,
    clock: Clock,
    final_text: str | None = None,
    rating: int | None = None,
    agent_id: str | None = None,
) -> FeedbackView:
    """Record one agent action on a draft (appended, never changed)."""
    draft = get_draft(session, tenant_id=tenant_id, draft_id=draft_id)
    if kind == "edited" and not final_text:
        raise InvalidPayload("final_text: an edited draft needs the text the agent sent")
    if kind == "rated" and rating not in (1, 2, 3, 4, 5):
        raise InvalidPayload("rating: give 1 to 5")
    distance = Levenshtein.distance(draft.text, final_text) if kind == "edited" and final_text else None
    if kind == "inserted":
        distance = 0
    row = DraftFeedback(
        tenant_id=tenant_id,
        draft_id=draft_id,
        kind=kind,
        final_text=final_text if kind == "edited" else None,
        edit_distance=distance,
        rating=rating,
        agent_id=agent_id,
        created_at=clock.now(),
    )
    repository.save(session, row)
    event = EVENT_FOR_KIND.get(kind)
    if event is not None:
        metrics_service.record_events(
            session,
            tenant_id=tenant_id,
            events=[
                TicketEvent(
                    key=f"draft_feedback:{row.id}",
                    ticket_id=draft.ticket_id,
                    requester_id=draft.requester_id,
                    event=event,
                    occurred_at=clock.now(),
                    actor=Actor.AGENT,
                    agent_id=agent_id,
                    intent=draft.intent,
                    value=float(distance) if distance is not None else None,
                )
            ],
            clock=clock,
        )
    return FeedbackView(row.id, draft_id, kind, distance, rating)
