import json
import re

import pytest

from drafting import connectors
from drafting.context.crm import HubSpotSource
from drafting.context.product import HttpUsageSource
from drafting.context.stripe_source import StripeSource
from drafting.models import ContextConnector
from plugin.core.errors import NotFound

TENANT, OTHER = 11, 12


def test_connecting_a_source_stores_it_and_shows_only_the_secrets_last_four(session, clock):
    view = connectors.set_connector(
        session,
        tenant_id=TENANT,
        kind="hubspot",
        settings={"access_token": "pat-na1-secret-abcd", "base_url": "http://127.0.0.1:9/"},
        clock=clock,
        private_addresses_allowed=True,
    )
    assert view.settings == {"access_token": "…abcd", "base_url": "http://127.0.0.1:9/"}
    stored = session.query(ContextConnector).filter_by(tenant_id=TENANT).one()
    assert json.loads(stored.settings)["access_token"] == "pat-na1-secret-abcd"
    assert [v.settings for v in connectors.list_connectors(session, tenant_id=TENANT)] == [view.settings]


def test_reconnecting_replaces_the_settings_instead_of_adding_a_row(session, clock):
    for key in ("sk_test_first", "sk_test_second"):
        connectors.set_connector(
            session, tenant_id=TENANT, kind="stripe", settings={"api_key": key}, clock=clock
        )
    rows = session.query(ContextConnector).filter_by(tenant_id=TENANT, kind="stripe").all()
    assert [json.loads(r.settings)["api_key"] for r in rows] == ["sk_test_second"]


def test_tenants_see_and_build_only_their_own_connectors(session, clock):
    connectors.set_connector(
        session, tenant_id=TENANT, kind="usage", settings={"base_url": "https://u.example"}, clock=clock
    )
    assert connectors.list_connectors(session, tenant_id=OTHER) == []
    assert connectors.tenant_config(session, tenant_id=OTHER) == ()
    (source,) = connectors.build_sources(connectors.tenant_config(session, tenant_id=TENANT))
    assert isinstance(source, HttpUsageSource)


def test_each_kind_builds_its_adapter():
    config = (
        ("hubspot", json.dumps({"access_token": "t"})),
        ("stripe", json.dumps({"api_key": "sk_test_x", "base_url": "http://127.0.0.1:9"})),
        ("usage", json.dumps({"base_url": "http://127.0.0.1:9", "token": "u", "path": "/v2/usage"})),
    )
    kinds = [type(source) for source in connectors.build_sources(config)]
    assert kinds == [HubSpotSource, StripeSource, HttpUsageSource]


def test_removing_a_connector_that_is_not_there_is_not_found(session, clock):
    connectors.set_connector(
        session, tenant_id=TENANT, kind="hubspot", settings={"access_token": "t"}, clock=clock
    )
    connectors.remove_connector(session, tenant_id=TENANT, kind="hubspot")
    with pytest.raises(NotFound):
        connectors.remove_connector(session, tenant_id=TENANT, kind="hubspot")


@pytest.mark.parametrize(
    ("kind", "settings", "named"),
    [
        ("salesforce", {"access_token": "t"}, "unknown connector"),
        ("hubspot", {}, "needs ['access_token']"),
        ("hubspot", {"access_token": "t", "password": "x"}, "does not take ['password']"),
        ("hubspot", {"access_token": "t", "base_url": "file:///etc/passwd"}, "http(s) address"),
        ("hubspot", {"access_token": 42}, "non-empty string"),
        ("hubspot", {"access_token": "   "}, "non-empty string"),
        ("stripe", {"api_key": "pk_live_publishable"}, "secret (sk_...)"),
        ("usage", {"base_url": "https://u.example", "path": "usage"}, "must start with '/'"),
        ("usage", {"base_url": "https://u.example", "token": "x" * 2001}, "at most 2000"),
    ],
)
def test_bad_settings_are_refused_with_what_is_wrong(session, clock, kind, settings, named):
    with pytest.raises(connectors.InvalidConnector, match=re.escape(named)):
        connectors.set_connector(session, tenant_id=TENANT, kind=kind, settings=settings, clock=clock)
    assert connectors.list_connectors(session, tenant_id=TENANT) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
        "http://127.0.0.1:5432",
        "http://localhost:8000/api",
        "http://10.0.0.7/usage",
        "http://[::1]:8080/",
        "http://0.0.0.0/",
    ],
)
def test_addresses_off_the_public_internet_are_refused_by_default(session, clock, url):
    with pytest.raises(connectors.InvalidConnector, match="not a public address"):
        connectors.set_connector(
            session, tenant_id=TENANT, kind="usage", settings={"base_url": url}, clock=clock
        )
    assert connectors.list_connectors(session, tenant_id=TENANT) == []
    view = connectors.set_connector(
        session,
        tenant_id=TENANT,
        kind="usage",
        settings={"base_url": url},
        clock=clock,
        private_addresses_allowed=True,
    )
    assert view.settings == {"base_url": url}


def test_public_and_unresolvable_hosts_pass_the_address_check():
    assert connectors.validate_settings("usage", {"base_url": "http://93.184.215.14/usage"})
    # A name that does not resolve reaches nothing: the source fails when used, flagged as partial context.
    assert connectors.validate_settings("usage", {"base_url": "https://usage.invalid"})
