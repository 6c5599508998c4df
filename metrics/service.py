from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from metrics import repository
from metrics.events import TicketEvent
from metrics.models import TicketEventRow
from plugin.core.clock import Clock


def record_events(session: Session, *, tenant_id: int, events: Sequence[TicketEvent], clock: Clock) -> int:
    """Append events to the log; events whose key is already there are skipped. Returns how many were new."""
    recorded_at = clock.now()
    rows = [
        {
            "tenant_id": tenant_id,
            "event_key": event.key,
            "ticket_id": event.ticket_id,
            "requester_id": event.requester_id,
            "event": event.event.value,
            "occurred_at": event.occurred_at,
            "actor": event.actor.value,
            "agent_id": event.agent_id,
            "public": event.public,
            "channel": event.channel,
            "intent": event.intent,
            "priority": event.priority,
            "value": event.value,
            "arm": event.arm,
            "recorded_at": recorded_at,
        }
        for event in events
    ]
    return repository.insert_events(session, rows)


def list_ticket_events(session: Session, *, tenant_id: int, ticket_id: str) -> list[TicketEventRow]:
    """The log of one ticket, oldest first."""
    return repository.ticket_events(session, tenant_id, ticket_id)


def list_events(
    session: Session, *, tenant_id: int, since: datetime | None, until: datetime | None, limit: int = 1000
) -> list[TicketEventRow]:
    """The tenant's events in a time window, oldest first."""
    return repository.events_between(session, tenant_id, since=since, until=until, limit=limit)
