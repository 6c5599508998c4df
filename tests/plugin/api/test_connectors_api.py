import pytest

from metrics import service as metrics_service
from metrics.assignment import Unit
from plugin.accounts.scopes import Scope
from tests.builders import make_tenant
from tests.fakes.hubspot_server import FakeHubSpot, running_hubspot

EMAIL = "noah.brown7922@example.com"


@pytest.fixture
def acme(session, clock):
    tenant = make_tenant(session, clock, "acme")
    metrics_service.configure_experiment(
        session, tenant_id=tenant.id, unit=Unit.REQUESTER, assisted_share_bp=10_000, clock=clock
    )
    session.commit()
    return tenant


@pytest.fixture
def globex(session, clock):
    tenant = make_tenant(session, clock, "globex")
    session.commit()
    return tenant


def crm(token: str, company: str) -> FakeHubSpot:
    state = FakeHubSpot(token=token)
    contact = state.seed_contact(EMAIL, firstname="Noah", lastname="Brown")
    state.seed_company(contact, name=company)
    return state


def connect_hubspot(client, tenant, base_url: str, token: str):
    return client.put(
        "/api/v1/connectors/hubspot",
        json={"settings": {"access_token": token, "base_url": base_url}},
        headers=tenant.headers(Scope.ADMIN),
    )


def facts(client, tenant) -> dict[str, str]:
    response = client.get(f"/api/v1/context?requester_email={EMAIL}", headers=tenant.headers(Scope.AGENT))
    assert response.status_code == 200, response.text
    return {fact["key"]: fact["value"] for fact in response.json()["facts"] if fact["source"] == "crm"}


def test_each_tenant_drafts_from_its_own_crm(client, acme, globex):
    with (
        running_hubspot(crm("pat-acme", "Acme Corp")) as (acme_url, acme_crm),
        running_hubspot(crm("pat-globex", "Globex Inc")) as (globex_url, globex_crm),
    ):
        assert connect_hubspot(client, acme, acme_url, "pat-acme").status_code == 200
        assert connect_hubspot(client, globex, globex_url, "pat-globex").status_code == 200
        assert facts(client, acme)["company"] == "Acme Corp"
        assert facts(client, globex)["company"] == "Globex Inc"
        draft = client.post(
            "/api/v1/tickets/T-1/drafts",
            json={
                "message_id": "m-1",
                "text": "Where is my card?",
                "requester_id": "u-1",
                "requester_email": EMAIL,
            },
            headers=acme.headers(Scope.AGENT),
        ).json()["draft"]
        assert {"key": "company", "value": "Acme Corp"}.items() <= next(
            f for f in draft["context"] if f["key"] == "company"
        ).items()
        assert sum(acme_crm.requests.values()) > 0 and sum(globex_crm.requests.values()) > 0


def test_connector_settings_are_write_only_secrets_and_per_tenant(client, acme, globex):
    response = connect_hubspot(client, acme, "https://api.hubapi.com", "pat-na1-very-secret-9876")
    assert response.status_code == 200
    assert response.json()["settings"] == {"access_token": "…9876", "base_url": "https://api.hubapi.com"}
    listed = client.get("/api/v1/connectors", headers=acme.headers(Scope.ADMIN)).json()
    assert [c["settings"]["access_token"] for c in listed] == ["…9876"]
    assert client.get("/api/v1/connectors", headers=globex.headers(Scope.ADMIN)).json() == []
    assert client.delete("/api/v1/connectors/hubspot", headers=globex.headers(Scope.ADMIN)).status_code == 404


def test_agents_cannot_change_connectors(client, acme):
    response = connect_hubspot(client, acme, "https://api.hubapi.com", "pat")
    assert response.status_code == 200
    agent = acme.headers(Scope.AGENT)
    assert client.get("/api/v1/connectors", headers=agent).status_code == 403
    assert client.delete("/api/v1/connectors/hubspot", headers=agent).status_code == 403


@pytest.mark.parametrize(
    ("kind", "values", "status", "named"),
    [
        ("stripe", {"api_key": "pk_live_x"}, 422, "sk_"),
        ("usage", {"base_url": "ftp://files.example"}, 422, "http(s)"),
        ("hubspot", {"token": "x"}, 422, "does not take"),
        ("salesforce", {"access_token": "x"}, 422, "kind"),
    ],
)
def test_bad_connector_settings_are_refused_and_nothing_is_stored(client, acme, kind, values, status, named):
    response = client.put(
        f"/api/v1/connectors/{kind}", json={"settings": values}, headers=acme.headers(Scope.ADMIN)
    )
    assert response.status_code == status
    assert named in response.json()["detail"]
    assert client.get("/api/v1/connectors", headers=acme.headers(Scope.ADMIN)).json() == []


def test_a_connector_pointing_inside_our_network_is_refused_unless_the_deployment_allows_it(
    app, client, acme
):
    app.state.settings = app.state.settings.model_copy(update={"connector_private_addresses": False})
    response = connect_hubspot(client, acme, "http://169.254.169.254/latest/meta-data", "pat")
    assert response.status_code == 422
    assert "CONNECTOR_PRIVATE_ADDRESSES" in response.json()["detail"]
    assert client.get("/api/v1/connectors", headers=acme.headers(Scope.ADMIN)).json() == []


def test_disconnecting_returns_the_tenant_to_the_default_sources(client, acme):
    with running_hubspot(crm("pat-acme", "Acme Corp")) as (url, _):
        connect_hubspot(client, acme, url, "pat-acme")
        assert facts(client, acme)["company"] == "Acme Corp"
        assert (
            client.delete("/api/v1/connectors/hubspot", headers=acme.headers(Scope.ADMIN)).status_code == 204
        )
    assert client.get("/api/v1/connectors", headers=acme.headers(Scope.ADMIN)).json() == []
