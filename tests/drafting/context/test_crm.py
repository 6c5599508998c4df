import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest

from drafting.context.base import AccountContext, CustomerRef, Fact
from drafting.context.crm import HubSpotSource
from drafting.context.gather import gather_context
from tests.fakes.hubspot_server import TOKEN, FakeHubSpot, running_hubspot

ANN = CustomerRef(email="ann@example.com")


@pytest.fixture
def hubspot() -> Iterator[tuple[str, FakeHubSpot]]:
    with running_hubspot() as running:
        yield running


def fetch(base_url: str, customer: CustomerRef = ANN, token: str = TOKEN) -> tuple[Fact, ...]:
    async def run() -> tuple[Fact, ...]:
        source = HubSpotSource(access_token=token, base_url=base_url)
        try:
            return await source.fetch(customer)
        finally:
            await source.aclose()

    return asyncio.run(run())


def gather(base_url: str, token: str = TOKEN) -> AccountContext:
    async def run() -> AccountContext:
        source = HubSpotSource(access_token=token, base_url=base_url)
        try:
            return await gather_context(ANN, [source])
        finally:
            await source.aclose()

    return asyncio.run(run())


def seed_ann(fake: FakeHubSpot) -> str:
    contact = fake.seed_contact(
        "ann@example.com", firstname="Ann", lastname="Lee", lifecyclestage="customer", churn_risk="high"
    )
    fake.seed_company(contact, label=None, name="Side Project LLC")
    fake.seed_company(contact, label="Primary", name="Acme Corp", tier="Enterprise", vip="true")
    fake.seed_deal(
        contact, dealname="Seat expansion", amount="1200.5", dealstage="contractsent", hs_is_closed="false"
    )
    fake.seed_deal(
        contact, dealname="Initial purchase", amount="900", dealstage="closedwon", hs_is_closed="true"
    )
    return contact


def test_contact_company_and_open_deals_become_display_facts(hubspot):
    base_url, fake = hubspot
    seed_ann(fake)

    facts = {fact.key: fact.value for fact in fetch(base_url)}

    assert facts == {
        "name": "Ann Lee",
        "first_name": "Ann",
        "email": "ann@example.com",
        "company": "Acme Corp",
        "lifecycle_stage": "Customer",
        "tier": "Enterprise",
        "vip": "yes",
        "churn_risk": "high",
        "open_deals": "1",
        "open_deal_1": "Seat expansion, $1,200.50, stage Contract sent",
    }


def test_contact_is_read_by_email_with_its_associations_then_company_and_deals_together(hubspot):
    base_url, fake = hubspot
    contact = seed_ann(fake)
    acme = fake.contacts[contact]["associatedcompanyid"]

    fetch(base_url)

    assert fake.requests == Counter(
        {
            "GET /crm/v3/objects/contacts/ann@example.com": 1,
            f"GET /crm/v3/objects/companies/{acme}": 1,
            "POST /crm/v3/objects/deals/batch/read": 1,
        }
    )


def test_primary_company_is_found_through_associations_when_the_contact_lacks_its_id(hubspot):
    base_url, fake = hubspot
    contact = seed_ann(fake)
    del fake.contacts[contact]["associatedcompanyid"]

    facts = {fact.key: fact.value for fact in fetch(base_url)}

    assert facts["company"] == "Acme Corp"
    assert fake.total_requests == 3


def test_plus_address_is_looked_up_as_typed(hubspot):
    base_url, fake = hubspot
    fake.seed_contact("ann+billing@example.com", firstname="Ann")

    facts = {fact.key: fact.value for fact in fetch(base_url, CustomerRef(email="ann+billing@example.com"))}

    assert facts["email"] == "ann+billing@example.com"


def test_facts_carry_the_source_name_for_citations(hubspot):
    base_url, fake = hubspot
    seed_ann(fake)

    first_name = next(fact for fact in fetch(base_url) if fact.key == "first_name")

    assert first_name.id == "fact:crm:first_name"


def test_contact_lookup_ignores_email_case(hubspot):
    base_url, fake = hubspot
    seed_ann(fake)

    facts = fetch(base_url, CustomerRef(email="ANN@Example.com"))

    assert any(fact.key == "name" and fact.value == "Ann Lee" for fact in facts)


def test_unknown_contact_gives_no_facts_and_no_further_calls(hubspot):
    base_url, fake = hubspot

    assert fetch(base_url, CustomerRef(email="nobody@example.com")) == ()
    assert fake.total_requests == 1


def test_contact_without_company_or_deals_still_gives_its_own_facts(hubspot):
    base_url, fake = hubspot
    fake.seed_contact("ann@example.com", firstname="Ann", tier="gold")

    facts = {fact.key: fact.value for fact in fetch(base_url)}

    assert facts == {"name": "Ann", "first_name": "Ann", "email": "ann@example.com", "tier": "gold"}


def test_rejected_token_leaves_a_flagged_partial_context_without_the_token(hubspot):
    base_url, fake = hubspot
    seed_ann(fake)

    context = gather(base_url, token="pat-wrong-secret")

    assert context.partial
    assert context.statuses[0].error == "HubSpot rejected the access token (HTTP 401)"
    assert "pat-wrong-secret" not in repr(context)


def test_server_error_leaves_a_flagged_partial_context(hubspot):
    base_url, fake = hubspot
    seed_ann(fake)
    fake.fail_next(500)

    context = gather(base_url)

    assert context.facts == ()
    # The requester's address stays out of the error an agent sees.
    assert context.statuses[0].error == "HubSpot returned HTTP 500 for GET /crm/v3/objects/contacts/{email}"


def test_unreachable_hubspot_is_reported_as_unreachable():
    context = gather("http://127.0.0.1:9")

    assert context.statuses[0].ok is False
    assert context.statuses[0].error is not None
    assert context.statuses[0].error.startswith("HubSpot unreachable")
