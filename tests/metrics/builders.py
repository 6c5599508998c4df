"""Canonical events for one ticket, built from offsets after its creation."""

from datetime import datetime, timedelta

from metrics.events import Actor, EventName, TicketEvent


def ticket(
    ticket_id: str,
    *,
    created: datetime,
    requester: str | None = None,
    arm: str | None = "assisted",
    reply_after: timedelta | None = None,
    ai_reply: bool = False,
    solved_after: timedelta | None = None,
    reopened_after: timedelta | None = None,
    extra_replies: int = 0,
    handle_seconds: float | None = None,
    csat: float | None = None,
    escalated: bool = False,
    intent: str | None = "billing",
    channel: str | None = "email",
) -> list[TicketEvent]:
    common = {
        "ticket_id": ticket_id,
        "requester_id": requester or f"requester-{ticket_id}",
        "arm": arm,
        "intent": intent,
        "channel": channel,
    }
    events = [
        TicketEvent(
            key=f"{ticket_id}:created",
            event=EventName.CREATED,
            occurred_at=created,
            actor=Actor.CUSTOMER,
            **common,
        )
    ]  # type: ignore[arg-type]

    def add(suffix: str, name: EventName, after: timedelta, actor: Actor, **fields: object) -> None:
        events.append(
            TicketEvent(
                key=f"{ticket_id}:{suffix}",
                event=name,
                occurred_at=created + after,
                actor=actor,
                **common,
                **fields,
            )  # type: ignore[arg-type]
        )

    if reply_after is not None:
        name, actor = (EventName.AI_REPLY, Actor.AI) if ai_reply else (EventName.AGENT_REPLY, Actor.AGENT)
        add("reply", name, reply_after, actor, public=True, agent_id=None if ai_reply else "agent-1")
        for index in range(extra_replies):
            add(
                f"reply-{index}",
                EventName.AGENT_REPLY,
                reply_after + timedelta(minutes=index + 1),
                Actor.AGENT,
                public=True,
            )
    if handle_seconds is not None:
        add("handle", EventName.HANDLE_TIME, timedelta(minutes=1), Actor.AGENT, value=handle_seconds)
    if escalated:
        add("escalated", EventName.ESCALATED, timedelta(minutes=2), Actor.AGENT)
    if solved_after is not None:
        add("solved", EventName.SOLVED, solved_after, Actor.AGENT)
    if reopened_after is not None:
        add("reopened", EventName.REOPENED, reopened_after, Actor.CUSTOMER)
    if csat is not None:
        add(
            "csat",
            EventName.CSAT,
            (solved_after or timedelta(0)) + timedelta(hours=1),
            Actor.CUSTOMER,
            value=csat,
        )
    return events
