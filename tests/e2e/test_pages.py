"""The page shells and the demo helpdesk's JSON, without a browser."""

import re

import pytest
import schemathesis
from fastapi import Request
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from plugin.accounts.scopes import Scope
from plugin.helpdesk import local
from plugin.web import routes
from tests.builders import make_tenant
from tests.e2e.conftest import with_pages

PAGES = ("/app/sidebar?ticket=7", "/app/dashboard", "/app/finance", "/helpdesk", "/helpdesk/tickets/7")


@pytest.fixture
def web(app):
    with TestClient(with_pages(app)) as client:
        yield client


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_uncached_shells_that_load_only_local_assets(web, path):
    response = web.get(path)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'self'" in policy
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert sources and all(source.startswith(("/", "#")) for source in sources), sources
    for source in sources:
        if source.startswith("/app/static/"):
            assert web.get(source).status_code == 200, source


def test_static_assets_cannot_escape_their_folder(web):
    assert web.get("/app/static/js/api.js").headers["content-type"].startswith("text/javascript")
    assert web.get("/app/static/vendor/chart.umd.min.js").status_code == 200
    assert web.get("/app/static/..%2Froutes.py").status_code == 404
    assert web.get("/app/static/%2E%2E/%2E%2E/core/config.py").status_code == 404
    assert web.get("/app/static/nothing.js").status_code == 404


def test_helpdesk_ticket_path_must_be_a_number(web):
    assert web.get("/helpdesk/tickets/..%2F..%2Fapp").status_code in (404, 422)


def test_zendesk_sidebar_gets_the_injected_token_and_the_zaf_sdk(app):
    scope = {"type": "http", "method": "POST", "path": "/zendesk/sidebar", "headers": [], "app": app}
    page = routes.render_sidebar(Request(scope), api_token='tok"<en>', host="zendesk", ticket_id="42")
    html = page.body.decode()
    assert 'data-token="tok&#34;&lt;en&gt;"' in html
    assert routes.ZAF_SDK_URL in html
    assert "https://*.zendesk.com" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_local_sidebar_loads_no_sdk(web):
    assert routes.ZAF_SDK_URL not in web.get("/app/sidebar?ticket=1&host=local").text


def test_helpdesk_api_lists_and_replies_within_the_tenant(web, session, clock):
    acme = make_tenant(session, clock, "acme")
    other = make_tenant(session, clock, "other")
    ticket = local.create_ticket(
        session,
        tenant_id=acme.id,
        subject="Where is my order?",
        requester_email="noah.brown7922@example.com",
        requester_name="Noah Brown",
        body="My keyboard has not arrived.",
        clock=clock,
    )
    session.commit()
    headers = acme.headers(Scope.AGENT)
    listed = web.get("/api/v1/helpdesk/tickets", headers=headers).json()
    assert [row["id"] for row in listed] == [ticket.ticket_id]
    assert web.get("/api/v1/helpdesk/tickets", headers=other.headers(Scope.AGENT)).json() == []
    assert (
        web.get(
            f"/api/v1/helpdesk/tickets/{ticket.ticket_id}", headers=other.headers(Scope.AGENT)
        ).status_code
        == 404
    )
    assert web.get("/api/v1/helpdesk/tickets").status_code == 401

    body = {"body": "It ships tomorrow.", "idempotency_key": "k-1", "status": "pending"}
    first = web.post(f"/api/v1/helpdesk/tickets/{ticket.ticket_id}/replies", json=body, headers=headers)
    again = web.post(f"/api/v1/helpdesk/tickets/{ticket.ticket_id}/replies", json=body, headers=headers)
    assert first.status_code == 200 and first.json() == again.json()
    conversation = web.get(f"/api/v1/helpdesk/tickets/{ticket.ticket_id}", headers=headers).json()
    assert [c["from_customer"] for c in conversation["comments"]] == [True, False]
    assert conversation["ticket"]["status"] == "pending"


def test_helpdesk_reply_with_a_bad_status_is_422(web, session, clock):
    acme = make_tenant(session, clock, "acme")
    response = web.post(
        "/api/v1/helpdesk/tickets/1/replies",
        json={"body": "hi", "status": "deleted"},
        headers=acme.headers(Scope.AGENT),
    )
    assert response.status_code == 422


def test_no_helpdesk_route_answers_a_server_error(app, session, clock):
    agent = make_tenant(session, clock, "fuzz").headers(Scope.AGENT)
    schema = schemathesis.openapi.from_asgi("/openapi.json", with_pages(app))
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith("/api/v1/helpdesk")
    ]
    assert len(operations) == 3

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def explore(case):
            response = case.call(headers=agent)
            case.validate_response(response, checks=[not_a_server_error])

        explore()
