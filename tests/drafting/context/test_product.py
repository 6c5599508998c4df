import asyncio
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from drafting.context.base import CustomerRef, Fact
from drafting.context.product import HttpUsageSource, SqlUsageSource
from plugin.core.errors import UpstreamFailed
from tests.fakes.usage_server import running_usage

ANN = CustomerRef(email="ann@example.com", external_id="u-1")


@pytest.fixture
def usage_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'product.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE accounts (email TEXT, seats INTEGER, storage_gb REAL, last_login DATE)")
        )
        connection.execute(text("CREATE TABLE metrics (email TEXT, key TEXT, value TEXT, label TEXT)"))
        connection.execute(text("INSERT INTO accounts VALUES ('ann@example.com', 12, 3.50, '2024-03-03')"))
        connection.execute(
            text(
                "INSERT INTO metrics VALUES ('ann@example.com', 'api_calls', '48210', 'API calls this month'),"
                " ('ann@example.com', 'usage_projects', '7', NULL)"
            )
        )
    engine.dispose()
    return url


def fetch(source: SqlUsageSource | HttpUsageSource, customer: CustomerRef = ANN) -> tuple[Fact, ...]:
    return asyncio.run(source.fetch(customer))


def test_sql_single_row_columns_become_usage_facts(usage_db):
    source = SqlUsageSource(
        url=usage_db, query="SELECT seats, storage_gb, last_login FROM accounts WHERE email = :email"
    )

    facts = fetch(source)

    assert [(fact.key, fact.value, fact.label) for fact in facts] == [
        ("usage_seats", "12", "Seats"),
        ("usage_storage_gb", "3.5", "Storage gb"),
        ("usage_last_login", "2024-03-03", "Last login"),
    ]
    assert facts[0].id == "fact:usage:usage_seats"


def test_sql_key_value_rows_become_one_fact_each(usage_db):
    source = SqlUsageSource(url=usage_db, query="SELECT key, value, label FROM metrics WHERE email = :email")

    facts = fetch(source)

    assert [(fact.key, fact.value, fact.label) for fact in facts] == [
        ("usage_api_calls", "48210", "API calls this month"),
        ("usage_projects", "7", "Projects"),
    ]


def test_sql_query_for_an_unknown_customer_gives_no_facts(usage_db):
    source = SqlUsageSource(url=usage_db, query="SELECT seats FROM accounts WHERE email = :email")

    assert fetch(source, CustomerRef(email="nobody@example.com")) == ()


def test_sql_error_is_translated_without_the_statement(usage_db):
    source = SqlUsageSource(url=usage_db, query="SELECT seats FROM missing_table WHERE email = :email")

    with pytest.raises(UpstreamFailed) as raised:
        fetch(source)

    assert raised.value.detail == "usage database query failed (OperationalError)"


def test_sql_source_needs_exactly_one_of_url_or_engine():
    with pytest.raises(ValueError):
        SqlUsageSource(query="SELECT 1")


def test_http_usage_facts_list_is_read_with_labels():
    with running_usage() as (base_url, fake):
        fake.seed(
            "ann@example.com",
            {
                "facts": [
                    {"key": "seats", "value": 12, "label": "Seats in use"},
                    {"key": "sso", "value": True},
                ]
            },
        )

        facts = asyncio.run(_fetch_http(base_url))

    assert [(fact.key, fact.value, fact.label) for fact in facts] == [
        ("usage_seats", "12", "Seats in use"),
        ("usage_sso", "yes", "Sso"),
    ]


def test_http_usage_flat_object_skips_nested_values():
    with running_usage() as (base_url, fake):
        fake.seed("ann@example.com", {"storage_gb": 2.25, "workspaces": [1, 2], "owner": {"id": 1}})

        facts = asyncio.run(_fetch_http(base_url))

    assert [(fact.key, fact.value) for fact in facts] == [("usage_storage_gb", "2.25")]


def test_http_usage_sends_the_bearer_token_and_treats_404_as_no_data():
    with running_usage() as (base_url, fake):
        fake.token = "usage-token"

        facts = asyncio.run(_fetch_http(base_url, token="usage-token"))

        assert fake.requests == 1
    assert facts == ()


def test_http_usage_server_error_raises_our_upstream_error():
    with running_usage() as (base_url, fake):
        fake.fail_next(503)

        with pytest.raises(UpstreamFailed, match="HTTP 503"):
            asyncio.run(_fetch_http(base_url))


async def _fetch_http(base_url: str, token: str | None = None) -> tuple[Fact, ...]:
    source = HttpUsageSource(base_url=base_url, token=token)
    try:
        return await source.fetch(ANN)
    finally:
        await source.aclose()


def test_http_usage_source_keeps_working_across_event_loops():
    with running_usage() as (base_url, fake):
        fake.seed(ANN.email, {"seats": 4})
        source = HttpUsageSource(base_url=base_url)

        results = [asyncio.run(source.fetch(ANN)) for _ in range(3)]

    assert all(facts and facts[0].value == "4" for facts in results)
