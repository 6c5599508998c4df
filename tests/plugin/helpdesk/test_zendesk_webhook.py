from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from metrics.models import TicketEventRow
from plugin.accounts.scopes import Scope
from plugin.core.clock import FixedClock
from plugin.helpdesk.models import InboundWebhook
from tests.builders import TenantFixture, make_tenant
from tests.plugin.helpdesk.zendesk_payloads import (
    comment_added,
    encode,
    signed,
    status_changed,
    ticket_created,
)

SECRET = "whsec-test"


@pytest.fixture
def acme(session: Session, clock: FixedClock) -> TenantFixture:
    return make_tenant(session, clock, "acme", SECRET)


def deliver(
    client: TestClient,
    clock: FixedClock,
    payload: dict | bytes,
    *,
    tenant: str = "acme",
    secret: str = SECRET,
):
    body = payload if isinstance(payload, bytes) else encode(payload)
    return client.post(
        f"/api/v1/webhooks/zendesk/{tenant}", content=body, headers=signed(secret, body, clock.now())
    )


def counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(InboundWebhook)) or 0,
        session.scalar(select(func.count()).select_from(TicketEventRow)) or 0,
    )


def test_signed_delivery_becomes_canonical_events_visible_through_the_api(client, clock, acme):
    assert deliver(client, clock, ticket_created("ev-1", clock.now())).status_code == 200
    clock.advance(timedelta(minutes=1))
    message = comment_added("ev-2", clock.now(), comment_id="c1", body="Where is my card?", staff=False)
    assert deliver(client, clock, message).json()["events_recorded"] == 1
    clock.advance(timedelta(minutes=30))
    reply = comment_added("ev-3", clock.now(), comment_id="c2", body="It ships today.", staff=True)
    deliver(client, clock, reply)
    deliver(client, clock, status_changed("ev-4", clock.now(), previous="OPEN", current="SOLVED"))

    response = client.get("/api/v1/tickets/101/events", headers=acme.headers(Scope.AGENT))

    assert response.status_code == 200
    events = response.json()
    assert [event["event"] for event in events] == ["created", "customer_message", "agent_reply", "solved"]
    assert events[0]["channel"] == "web_form"
    assert events[2]["agent_id"] == "7" and events[2]["public"] is True


def test_bad_signature_is_rejected_with_401_and_nothing_stored(client, clock, acme, session):
    response = deliver(client, clock, ticket_created("ev-1", clock.now()), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert counts(session) == (0, 0)


def test_missing_signature_headers_are_rejected_with_401(client, clock, acme):
    response = client.post(
        "/api/v1/webhooks/zendesk/acme", content=encode(ticket_created("ev-1", clock.now()))
    )
    assert response.status_code == 401


def test_stale_timestamp_is_rejected_with_401(client, clock, acme, session):
    body = encode(ticket_created("ev-1", clock.now()))
    headers = signed(SECRET, body, clock.now() - timedelta(minutes=6))
    response = client.post("/api/v1/webhooks/zendesk/acme", content=body, headers=headers)
    assert response.status_code == 401
    assert "window" in response.json()["detail"]
    assert counts(session) == (0, 0)


def test_duplicate_delivery_answers_200_and_records_one_set_of_events(client, clock, acme, session):
    payload = comment_added("ev-9", clock.now(), comment_id="c1", body="hello", staff=False)
    first, second = deliver(client, clock, payload), deliver(client, clock, payload)
    assert first.status_code == second.status_code == 200
    assert first.json()["duplicate"] is False and second.json()["duplicate"] is True
    assert counts(session) == (1, 1)


def test_malformed_json_is_422_naming_the_problem(client, clock, acme, session):
    response = deliver(client, clock, b'{"type": "zen:event-type:ticket.created", ')
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]
    assert counts(session) == (0, 0)


def test_payload_missing_a_field_is_422_naming_the_field(client, clock, acme, session):
    payload = ticket_created("ev-1", clock.now())
    del payload["detail"]["id"]
    response = deliver(client, clock, payload)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("detail.id")
    assert counts(session) == (0, 0)


def test_comment_without_author_is_422_and_nothing_half_written(client, clock, acme, session):
    payload = comment_added("ev-1", clock.now(), comment_id="c1", body="hi", staff=False)
    del payload["event"]["comment"]["author"]
    assert deliver(client, clock, payload).status_code == 422
    assert counts(session) == (0, 0)


def test_unknown_event_type_is_accepted_stored_and_ignored(client, clock, acme, session):
    payload = ticket_created("ev-1", clock.now())
    payload["type"] = "zen:event-type:ticket.brand_changed"
    response = deliver(client, clock, payload)
    assert response.status_code == 200
    assert response.json() == {
        "event_id": "ev-1",
        "event_type": "zen:event-type:ticket.brand_changed",
        "duplicate": False,
        "handled": False,
        "events_recorded": 0,
    }
    assert counts(session) == (1, 0)


def test_oversized_body_is_rejected_with_413(client, clock, acme, session):
    payload = comment_added("ev-1", clock.now(), comment_id="c1", body="x" * 300_000, staff=False)
    response = deliver(client, clock, payload)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert counts(session) == (0, 0)


def test_unknown_tenant_is_404(client, clock, acme):
    assert deliver(client, clock, ticket_created("ev-1", clock.now()), tenant="nobody").status_code == 404


def test_reopen_and_private_note_and_csat_map_as_documented(client, clock, acme):
    deliver(client, clock, ticket_created("ev-1", clock.now()))
    deliver(
        client,
        clock,
        comment_added("ev-2", clock.now(), comment_id="n1", body="note", staff=True, public=False),
    )
    deliver(client, clock, status_changed("ev-3", clock.now(), previous="OPEN", current="SOLVED"))
    deliver(client, clock, status_changed("ev-4", clock.now(), previous="SOLVED", current="OPEN"))
    csat = ticket_created("ev-5", clock.now())
    csat["type"] = "zen:event-type:ticket.satisfaction_rating_changed"
    csat["event"] = {"current": {"score": "bad"}, "previous": {"score": "offered"}}
    deliver(client, clock, csat)

    events = client.get("/api/v1/tickets/101/events", headers=acme.headers()).json()

    assert [event["event"] for event in events] == ["created", "solved", "reopened", "csat"]
    assert events[-1]["value"] == 0.0


def test_event_time_without_timezone_is_422(client, clock, acme):
    payload = ticket_created("ev-1", clock.now())
    payload["time"] = "2026-11-02T09:00:00"
    assert deliver(client, clock, payload).status_code == 422
