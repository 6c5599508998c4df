"""The canonical ticket event vocabulary (DESIGN §5), shared by the log, imports and exports."""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventName(StrEnum):
    CREATED = "created"
    CUSTOMER_MESSAGE = "customer_message"
    AGENT_REPLY = "agent_reply"
    AI_REPLY = "ai_reply"
    DRAFT_DELIVERED = "draft_delivered"
    DRAFT_INSERTED = "draft_inserted"
    DRAFT_DISCARDED = "draft_discarded"
    SOLVED = "solved"
    REOPENED = "reopened"
    ESCALATED = "escalated"
    HANDLE_TIME = "handle_time"
    CSAT = "csat"


class Actor(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    AI = "ai"
    SYSTEM = "system"


@dataclass(frozen=True)
class TicketEvent:
    """One fact about a ticket; `key` makes re-deliveries of the same fact idempotent."""

    key: str
    ticket_id: str
    requester_id: str
    event: EventName
    occurred_at: datetime
    actor: Actor
    agent_id: str | None = None
    public: bool | None = None
    channel: str | None = None
    intent: str | None = None
    priority: str | None = None
    value: float | None = None
    arm: str | None = None
