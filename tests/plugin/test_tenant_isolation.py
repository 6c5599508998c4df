"""A token of tenant A never sees tenant B: every tenant-scoped GET route is probed with A's token."""

import pytest

from plugin.accounts.scopes import Scope
from tests.builders import make_tenant
from tests.plugin.helpdesk.zendesk_payloads import comment_added, encode, signed, ticket_created


@pytest.fixture
def two_tenants(client, session, clock):
    alpha = make_tenant(session, clock, "alpha", "secret-a")
    beta = make_tenant(session, clock, "beta", "secret-b")
    for payload in (
        ticket_created("b-1", clock.now(), ticket_id="555", requester_id="b-cust"),
        comment_added(
            "b-2", clock.now(), comment_id="b-c1", body="beta secret", staff=False, ticket_id="555"
        ),
    ):
        body = encode(payload)
        assert (
            client.post(
                "/api/v1/webhooks/zendesk/beta", content=body, headers=signed("secret-b", body, clock.now())
            ).status_code
            == 200
        )
    return alpha, beta


def test_alpha_cannot_read_beta_ticket_events(client, two_tenants):
    alpha, beta = two_tenants
    assert client.get("/api/v1/tickets/555/events", headers=beta.headers(Scope.AGENT)).status_code == 200
    assert client.get("/api/v1/tickets/555/events", headers=alpha.headers(Scope.ADMIN)).status_code == 404


def test_alpha_event_listing_never_contains_beta_events(client, two_tenants):
    alpha, beta = two_tenants
    assert len(client.get("/api/v1/events", headers=beta.headers()).json()) == 2
    assert client.get("/api/v1/events", headers=alpha.headers()).json() == []


def test_alpha_cannot_post_webhooks_signed_with_beta_secret_to_alpha(client, two_tenants, clock):
    body = encode(ticket_created("x-1", clock.now()))
    response = client.post(
        "/api/v1/webhooks/zendesk/alpha", content=body, headers=signed("secret-b", body, clock.now())
    )
    assert response.status_code == 401


def test_identity_reports_only_the_tokens_own_tenant(client, two_tenants):
    alpha, _beta = two_tenants
    assert client.get("/api/v1/me", headers=alpha.headers(Scope.FINANCE)).json() == {
        "tenant": "alpha",
        "scopes": ["finance"],
    }
