"""Zendesk webhook payloads (event-subscription schema) mapped onto canonical ticket events.

Mapping, documented for admins wiring the webhook:
- `ticket.created` -> `created` (the first message arrives as its own `comment_added`);
- `ticket.comment_added` by an end user -> `customer_message`; public by staff -> `agent_reply`
  (or `ai_reply` when the author is our bot user); private staff notes are stored but not mapped;
- `ticket.status_changed` to solved -> `solved`; from solved/closed back to new/open/pending -> `reopened`;
- `ticket.group_assignment_changed` away from an existing group -> `escalated`;
- `ticket.satisfaction_rating_changed` (sent by a trigger, score good/bad) -> `csat` 1/0.
Anything else is stored raw and otherwise ignored.
"""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from metrics.events import Actor, EventName, TicketEvent
from plugin.core.errors import InvalidPayload

TYPE_PREFIX = "zen:event-type:"
SOLVED_STATUSES = {"solved", "closed"}
OPEN_STATUSES = {"new", "open", "pending", "hold"}
TRACKED_TYPES = {
    "ticket.created",
    "ticket.comment_added",
    "ticket.status_changed",
    "ticket.group_assignment_changed",
    "ticket.satisfaction_rating_changed",
}


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True)


class ZendeskVia(_Lenient):
    channel: str | None = None


class ZendeskTicket(_Lenient):
    id: str = Field(min_length=1, max_length=64)
    requester_id: str | None = Field(default=None, max_length=64)
    status: str | None = None
    priority: str | None = None
    via: ZendeskVia | None = None


class ZendeskAuthor(_Lenient):
    id: str = Field(max_length=64)
    is_staff: bool = False


class ZendeskComment(_Lenient):
    id: str = Field(min_length=1, max_length=64)
    body: str = ""
    is_public: bool = True
    author: ZendeskAuthor


class ZendeskWebhook(_Lenient):
    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=200)
    time: datetime
    account_id: str | None = None
    subject: str | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    event: dict[str, Any] = Field(default_factory=dict)


def _problem(error: ValidationError, where: str) -> InvalidPayload:
    first = error.errors()[0]
    location = ".".join(str(part) for part in (where, *first["loc"]) if part != "")
    return InvalidPayload(f"{location}: {first['msg']}", extra={"errors": len(error.errors())})


def parse_webhook(document: Any) -> ZendeskWebhook:
    """Validate the envelope every Zendesk event shares."""
    try:
        payload = ZendeskWebhook.model_validate(document)
    except ValidationError as error:
        raise _problem(error, "") from error
    if payload.time.tzinfo is None:
        raise InvalidPayload("time: must carry a time zone (ISO 8601 with Z or an offset)")
    return payload


def _status(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("status")
    return str(value or "").lower()


def is_tracked(payload: ZendeskWebhook) -> bool:
    return payload.type.removeprefix(TYPE_PREFIX) in TRACKED_TYPES


def to_ticket_events(
    payload: ZendeskWebhook, *, ai_author_ids: frozenset[str] = frozenset()
) -> list[TicketEvent]:
    """The canonical events one delivery stands for; empty for event types we do not track."""
    kind = payload.type.removeprefix(TYPE_PREFIX)
    if kind not in TRACKED_TYPES:
        return []
    try:
        ticket = ZendeskTicket.model_validate(payload.detail)
    except ValidationError as error:
        raise _problem(error, "detail") from error
    base: dict[str, Any] = {
        "ticket_id": ticket.id,
        "requester_id": ticket.requester_id or "unknown",
        "occurred_at": payload.time,
        "channel": ticket.via.channel if ticket.via else None,
        "priority": ticket.priority.lower() if ticket.priority else None,
    }
    key = f"zendesk:{payload.id}"
    match kind:
        case "ticket.created":
            return [TicketEvent(key=key, event=EventName.CREATED, actor=Actor.CUSTOMER, **base)]
        case "ticket.comment_added":
            try:
                comment = ZendeskComment.model_validate(payload.event.get("comment"))
            except ValidationError as error:
                raise _problem(error, "event.comment") from error
            key = f"zendesk:comment:{comment.id}"
            if not comment.author.is_staff:
                return [
                    TicketEvent(
                        key=key, event=EventName.CUSTOMER_MESSAGE, actor=Actor.CUSTOMER, public=True, **base
                    )
                ]
            if not comment.is_public:
                return []
            is_ai = comment.author.id in ai_author_ids
            return [
                TicketEvent(
                    key=key,
                    event=EventName.AI_REPLY if is_ai else EventName.AGENT_REPLY,
                    actor=Actor.AI if is_ai else Actor.AGENT,
                    agent_id=None if is_ai else comment.author.id,
                    public=True,
                    **base,
                )
            ]
        case "ticket.status_changed":
            current, previous = _status(payload.event.get("current")), _status(payload.event.get("previous"))
            if current == "solved" and previous != "solved":
                return [TicketEvent(key=key, event=EventName.SOLVED, actor=Actor.AGENT, **base)]
            if previous in SOLVED_STATUSES and current in OPEN_STATUSES:
                return [TicketEvent(key=key, event=EventName.REOPENED, actor=Actor.CUSTOMER, **base)]
            return []
        case "ticket.group_assignment_changed":
            if payload.event.get("previous") not in (None, "", "0", 0):
                return [TicketEvent(key=key, event=EventName.ESCALATED, actor=Actor.AGENT, **base)]
            return []
        case "ticket.satisfaction_rating_changed":
            rating = payload.event.get("current")
            score = str((rating.get("score") if isinstance(rating, dict) else rating) or "").lower()
            if score not in {"good", "bad"}:
                return []
            return [
                TicketEvent(
                    key=key,
                    event=EventName.CSAT,
                    actor=Actor.CUSTOMER,
                    value=1.0 if score == "good" else 0.0,
                    **base,
                )
            ]
    return []
