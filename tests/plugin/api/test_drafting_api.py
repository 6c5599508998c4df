import json

import pytest

from metrics import service as metrics_service
from metrics.assignment import Unit
from plugin.accounts.scopes import Scope
from tests.builders import make_tenant

BODY = {
    "message_id": "c-1",
    "text": "Hi, where is my order? I ordered a keyboard last week.",
    "requester_id": "u-1",
    "requester_email": "noah.brown7922@example.com",
}


@pytest.fixture
def acme(session, clock):
    tenant = make_tenant(session, clock, "acme")
    metrics_service.configure_experiment(
        session, tenant_id=tenant.id, unit=Unit.REQUESTER, assisted_share_bp=10_000, clock=clock
    )
    session.commit()
    return tenant


def test_agent_gets_a_delivered_billed_draft_with_sources(client, acme):
    response = client.post("/api/v1/tickets/T-9/drafts", json=BODY, headers=acme.headers(Scope.AGENT))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "drafted" and body["charge"] == "billed"
    assert body["draft"]["text"] and body["draft"]["sentences"]
    again = client.post("/api/v1/tickets/T-9/drafts", json=BODY, headers=acme.headers(Scope.AGENT)).json()
    assert again["draft"]["id"] == body["draft"]["id"] and again["charge"] == "duplicate"


def test_draft_stream_sends_deltas_then_the_draft(client, acme):
    with client.stream(
        "POST", "/api/v1/tickets/T-9/drafts/stream", json=BODY, headers=acme.headers(Scope.AGENT)
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = "".join(response.iter_text())
    events = [block.split("\n", 1) for block in raw.strip().split("\n\n")]
    names = [head.removeprefix("event: ") for head, _ in events]
    assert names[0] == "status" and names[-1] == "draft" and "delta" in names
    final = json.loads(events[-1][1].removeprefix("data: "))
    assert final["draft"]["text"]


def test_malformed_draft_request_is_422_naming_the_field(client, acme):
    response = client.post(
        "/api/v1/tickets/T-9/drafts",
        json={**BODY, "requester_email": "nope"},
        headers=acme.headers(Scope.AGENT),
    )
    assert response.status_code == 422
    assert "requester_email" in response.json()["detail"]


def test_feedback_on_another_tenants_draft_is_404(client, session, clock, acme):
    draft_id = client.post("/api/v1/tickets/T-9/drafts", json=BODY, headers=acme.headers(Scope.AGENT)).json()[
        "draft"
    ]["id"]
    other = make_tenant(session, clock, "other")
    response = client.post(
        f"/api/v1/drafts/{draft_id}/feedback", json={"kind": "inserted"}, headers=other.headers(Scope.AGENT)
    )
    assert response.status_code == 404
    assert (
        client.get("/api/v1/tickets/T-9/drafts/latest", headers=other.headers(Scope.AGENT)).status_code == 404
    )


def test_inserted_feedback_is_recorded(client, acme):
    draft_id = client.post("/api/v1/tickets/T-9/drafts", json=BODY, headers=acme.headers(Scope.AGENT)).json()[
        "draft"
    ]["id"]
    response = client.post(
        f"/api/v1/drafts/{draft_id}/feedback", json={"kind": "inserted"}, headers=acme.headers(Scope.AGENT)
    )
    assert response.status_code == 200 and response.json()["edit_distance"] == 0


def test_context_endpoint_shows_the_customers_facts_with_sources(client, acme):
    response = client.get(
        "/api/v1/context",
        params={"requester_email": BODY["requester_email"]},
        headers=acme.headers(Scope.AGENT),
    )
    assert response.status_code == 200
    facts = response.json()["facts"]
    assert any(fact["key"] == "name" for fact in facts)
    assert all(fact["source"] for fact in facts)


def test_autopilot_settings_need_admin_scope(client, acme):
    assert client.get("/api/v1/drafting/settings", headers=acme.headers(Scope.AGENT)).status_code == 403
    changed = client.put(
        "/api/v1/drafting/settings", json={"autopilot_enabled": True}, headers=acme.headers(Scope.ADMIN)
    )
    assert changed.status_code == 200 and changed.json()["autopilot_enabled"] is True
