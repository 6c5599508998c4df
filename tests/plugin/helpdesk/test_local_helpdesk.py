import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from metrics import service as metrics_service
from metrics.events import EventName
from plugin.core.clock import FixedClock
from plugin.core.db import transaction
from plugin.core.errors import Conflict, NotFound
from plugin.helpdesk.base import Helpdesk, latest_customer_message
from plugin.helpdesk.local import LOCAL_AI_AUTHOR_ID, LocalHelpdesk, requester_id_for
from plugin.helpdesk.local_models import LocalComment, LocalWebhook
from plugin.helpdesk.service import receive_zendesk_webhook
from plugin.helpdesk.zendesk_events import parse_webhook, to_ticket_events
from tests.builders import TenantFixture, make_tenant
from tests.plugin.helpdesk.zendesk_payloads import signed

AI = frozenset({LOCAL_AI_AUTHOR_ID})


@pytest.fixture
def acme(session, clock) -> TenantFixture:
    return make_tenant(session, clock, "acme", "whsec-acme")


@pytest.fixture
def deliveries() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def helpdesk(session_factory, clock, acme, deliveries) -> LocalHelpdesk:
    return LocalHelpdesk(session_factory, tenant_id=acme.id, clock=clock, on_event=deliveries.append)


def canonical(payloads: list[dict[str, Any]]) -> list[str]:
    return [
        event.event.value
        for payload in payloads
        for event in to_ticket_events(parse_webhook(payload), ai_author_ids=AI)
    ]


def open_ticket(helpdesk: LocalHelpdesk, body: str = "Where is my card?") -> str:
    ticket = helpdesk.create_ticket(
        subject="Card not arrived",
        requester_email="Rosa@Example.com",
        requester_name="Rosa Diaz",
        body=body,
        channel="email",
        priority="high",
    )
    return ticket.ticket_id


def test_the_demo_helpdesk_implements_the_helpdesk_interface(helpdesk):
    implementation: Helpdesk = helpdesk
    assert implementation is helpdesk


def test_new_ticket_is_delivered_as_zendesk_created_then_customer_message(helpdesk, deliveries, acme):
    ticket_id = open_ticket(helpdesk)

    assert [payload["type"] for payload in deliveries] == [
        "zen:event-type:ticket.created",
        "zen:event-type:ticket.comment_added",
    ]
    events = [event for payload in deliveries for event in to_ticket_events(parse_webhook(payload))]
    assert [event.event for event in events] == [EventName.CREATED, EventName.CUSTOMER_MESSAGE]
    assert {event.ticket_id for event in events} == {ticket_id}
    assert {event.requester_id for event in events} == {requester_id_for(acme.id, "rosa@example.com")}
    assert (events[0].channel, events[0].priority) == ("email", "high")
    assert deliveries[0]["detail"]["status"] == "NEW" and deliveries[0]["account_id"] == acme.id


def test_ai_reply_with_the_same_idempotency_key_posts_one_comment(helpdesk, deliveries):
    ticket_id = open_ticket(helpdesk)
    deliveries.clear()

    first = asyncio.run(helpdesk.post_reply(ticket_id, "It ships today.", idempotency_key="reply:1"))
    again = asyncio.run(helpdesk.post_reply(ticket_id, "It ships today.", idempotency_key="reply:1"))

    assert again == first
    replies = [comment for comment in helpdesk.comments(ticket_id) if not comment.from_customer]
    assert [(reply.comment_id, reply.author_id) for reply in replies] == [
        (first.comment_id, LOCAL_AI_AUTHOR_ID)
    ]
    assert canonical(deliveries) == ["ai_reply"]


def test_an_idempotency_key_cannot_be_reused_on_another_ticket(helpdesk):
    first, second = open_ticket(helpdesk), open_ticket(helpdesk)
    asyncio.run(helpdesk.post_reply(first, "Done.", idempotency_key="reply:1"))

    with pytest.raises(Conflict):
        asyncio.run(helpdesk.post_reply(second, "Done.", idempotency_key="reply:1"))


def test_agent_reply_opens_a_new_ticket_and_maps_to_agent_reply(helpdesk, deliveries):
    ticket_id = open_ticket(helpdesk)
    deliveries.clear()

    helpdesk.staff_comment(ticket_id, "Let me check.", author_id="agent-7", status="pending")

    assert helpdesk.ticket(ticket_id).status == "pending"
    assert [payload["event"].get("current") for payload in deliveries[1:]] == ["PENDING"]
    events = [
        event
        for payload in deliveries
        for event in to_ticket_events(parse_webhook(payload), ai_author_ids=AI)
    ]
    assert [(event.event, event.agent_id, event.public) for event in events] == [
        (EventName.AGENT_REPLY, "agent-7", True)
    ]


def test_internal_note_is_delivered_but_maps_to_no_canonical_event(helpdesk, deliveries):
    ticket_id = open_ticket(helpdesk)
    deliveries.clear()

    posted = asyncio.run(helpdesk.add_note(ticket_id, "Refund guardrail hit.", idempotency_key="note:1"))

    assert posted.public is False
    assert deliveries[0]["event"]["comment"]["is_public"] is False
    assert canonical(deliveries) == []
    newest = latest_customer_message(helpdesk.comments(ticket_id))
    assert newest is not None and newest.body == "Where is my card?"


def test_solve_then_customer_reply_reopens_the_ticket(helpdesk, deliveries, clock):
    ticket_id = open_ticket(helpdesk)
    asyncio.run(helpdesk.post_reply(ticket_id, "It ships today.", idempotency_key="reply:1"))
    asyncio.run(helpdesk.solve(ticket_id))
    asyncio.run(helpdesk.solve(ticket_id))
    clock.advance(timedelta(hours=2))

    helpdesk.customer_message(ticket_id, "It did not arrive.")

    assert canonical(deliveries) == [
        "created",
        "customer_message",
        "ai_reply",
        "solved",
        "customer_message",
        "reopened",
    ]
    assert helpdesk.ticket(ticket_id).status == "open"
    newest = latest_customer_message(asyncio.run(helpdesk.list_comments(ticket_id)))
    assert newest is not None and newest.body == "It did not arrive."


def test_agent_reopen_of_a_solved_ticket_maps_to_reopened(helpdesk, deliveries):
    ticket_id = open_ticket(helpdesk)
    helpdesk.set_status(ticket_id, "solved", actor_id="agent-7")
    deliveries.clear()

    helpdesk.reopen(ticket_id, actor_id="agent-7")

    assert canonical(deliveries) == ["reopened"]


def test_tags_are_normalised_added_once_and_delivered_untracked(helpdesk, deliveries):
    ticket_id = open_ticket(helpdesk)
    deliveries.clear()

    asyncio.run(helpdesk.add_tags(ticket_id, ["Auto Resolved", "vip"]))
    asyncio.run(helpdesk.add_tags(ticket_id, ["vip"]))

    assert asyncio.run(helpdesk.get_ticket(ticket_id)).tags == ("auto_resolved", "vip")
    assert [payload["type"] for payload in deliveries] == ["zen:event-type:ticket.tags_changed"]
    assert canonical(deliveries) == []


def test_list_tickets_filters_by_status_and_stays_inside_the_tenant(
    helpdesk, session, session_factory, clock
):
    first = open_ticket(helpdesk)
    clock.advance(timedelta(minutes=1))
    second = open_ticket(helpdesk)
    clock.advance(timedelta(minutes=1))
    helpdesk.set_status(first, "solved", actor_id="agent-7")
    other = make_tenant(session, clock, "globex", "whsec-globex")
    elsewhere = LocalHelpdesk(session_factory, tenant_id=other.id, clock=clock)

    assert [ticket.ticket_id for ticket in helpdesk.tickets()] == [first, second]
    assert [ticket.ticket_id for ticket in helpdesk.tickets(statuses=["new", "open"])] == [second]
    assert elsewhere.tickets() == []
    with pytest.raises(NotFound):
        elsewhere.ticket(first)
    with pytest.raises(NotFound):
        asyncio.run(elsewhere.post_reply(first, "Hi", idempotency_key="x"))


def test_a_failing_sink_keeps_deliveries_pending_and_redelivers_them_in_order(
    session_factory, clock, acme, session
):
    received: list[dict[str, Any]] = []
    broken = True

    def flaky(payload: dict[str, Any]) -> None:
        if broken:
            raise ConnectionError("receiver down")
        received.append(payload)

    helpdesk = LocalHelpdesk(session_factory, tenant_id=acme.id, clock=clock, on_event=flaky)
    ticket_id = open_ticket(helpdesk)
    assert (
        session.scalar(
            select(func.count()).select_from(LocalWebhook).where(LocalWebhook.delivered_at.is_(None))
        )
        == 2
    )

    broken = False
    helpdesk.staff_comment(ticket_id, "On it.", author_id="agent-7")

    assert canonical(received) == ["created", "customer_message", "agent_reply"]
    assert helpdesk.deliver_pending() == 0


def test_local_deliveries_pass_through_the_real_signed_webhook_receiver(session_factory, clock, acme):
    def receive(payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        headers = signed("whsec-acme", body, clock.now())
        with transaction(session_factory) as session:
            receive_zendesk_webhook(
                session,
                tenant_slug="acme",
                body=body,
                signature=headers["X-Zendesk-Webhook-Signature"],
                timestamp=headers["X-Zendesk-Webhook-Signature-Timestamp"],
                clock=clock,
                tolerance=timedelta(minutes=5),
                max_body_bytes=256 * 1024,
            )

    helpdesk = LocalHelpdesk(session_factory, tenant_id=acme.id, clock=clock, on_event=receive)
    ticket_id = open_ticket(helpdesk)
    clock.advance(timedelta(minutes=20))
    helpdesk.staff_comment(ticket_id, "It ships today.", author_id="agent-7")
    helpdesk.set_status(ticket_id, "solved", actor_id="agent-7")

    with transaction(session_factory) as session:
        log = metrics_service.list_ticket_events(session, tenant_id=acme.id, ticket_id=ticket_id)
        stored = session.scalar(
            select(func.count()).select_from(LocalComment).where(LocalComment.tenant_id == acme.id)
        )
    assert [row.event for row in log] == ["created", "customer_message", "agent_reply", "solved"]
    assert log[2].occurred_at - log[0].occurred_at == timedelta(minutes=20)
    assert stored == 2


def test_clock_is_the_only_source_of_time(helpdesk, deliveries, clock: FixedClock):
    open_ticket(helpdesk)

    assert {payload["time"] for payload in deliveries} == {"2026-11-02T09:00:00Z"}


@pytest.mark.parametrize("ticket_id", ["424242", "99999999999999999999", "abc", "١٢"])
def test_ids_that_name_no_ticket_are_not_found(helpdesk, ticket_id):
    with pytest.raises(NotFound):
        helpdesk.ticket(ticket_id)
    with pytest.raises(NotFound):
        helpdesk.customer_message(ticket_id, "Hello?")
