import pytest

from plugin.accounts.models import ApiToken
from plugin.accounts.scopes import Scope
from tests.builders import make_tenant

PUBLIC_ROUTES = {
    "/healthz",
    "/openapi.json",
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/api/v1/webhooks/zendesk/{tenant}",
    "/api/v1/billing/stripe/webhook",
    "/zendesk/sidebar",
    "/zendesk/dashboard",
}


def test_missing_token_is_401_with_the_error_shape(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json() == {"error": "unauthorized", "detail": "missing bearer token"}


def test_unknown_token_is_401(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer od_nope"})
    assert response.status_code == 401


def test_token_is_stored_only_as_a_hash(session, clock):
    acme = make_tenant(session, clock)
    stored = {row.token_hash for row in session.query(ApiToken).all()}
    assert all(token not in stored for token in acme.tokens.values())
    assert all(len(value) == 64 for value in stored)


def test_agent_token_lacks_manager_scope(client, session, clock):
    acme = make_tenant(session, clock)
    response = client.get("/api/v1/events", headers=acme.headers(Scope.AGENT))
    assert response.status_code == 403
    assert "manager" in response.json()["detail"]


def test_admin_token_carries_every_scope(client, session, clock):
    acme = make_tenant(session, clock)
    assert client.get("/api/v1/events", headers=acme.headers(Scope.ADMIN)).status_code == 200


def concrete_routes(routes):
    """Every route, looking inside included routers (FastAPI keeps them as wrappers)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        yield from concrete_routes(inner.routes) if inner is not None else (route,)


def test_every_route_outside_the_public_list_requires_a_token(app, client):
    routes = list(concrete_routes(app.routes))
    assert len([r for r in routes if getattr(r, "path", "").startswith("/api/")]) >= 20
    for route in routes:
        path = getattr(route, "path", "")
        methods = getattr(route, "methods", set()) or set()
        if path in PUBLIC_ROUTES or not path.startswith("/api/"):
            continue
        for method in methods - {"HEAD", "OPTIONS"}:
            concrete = path.replace("{", "").replace("}", "")
            response = client.request(method, concrete)
            assert response.status_code in {401, 404, 405}, f"{method} {path} answered {response.status_code}"
            if response.status_code != 401:
                pytest.fail(f"{method} {path} did not ask for a token")


def test_unknown_route_answers_404_in_the_error_shape(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_value_the_database_refuses_is_422_not_500(client, session, clock):
    acme = make_tenant(session, clock)
    response = client.get("/api/v1/tickets/bad%00id/events", headers=acme.headers(Scope.AGENT))
    assert response.status_code in {404, 422}
    assert response.json()["error"] in {"not_found", "invalid_payload"}
