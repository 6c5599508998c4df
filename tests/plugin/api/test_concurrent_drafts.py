"""Concurrent draft requests on one event loop with SQLite: no transaction may stay open while a draft
waits on its sources, or the next request's BEGIN IMMEDIATE blocks the loop until SQLite gives up."""

import asyncio

import httpx
from sqlalchemy import event

from drafting import connectors
from metrics import service as metrics_service
from metrics.assignment import Unit
from plugin.accounts.scopes import Scope
from plugin.app import create_app
from plugin.core.clock import SystemClock
from plugin.core.config import Settings
from plugin.core.db import make_engine, make_session_factory, transaction
from plugin.migrate import upgrade
from tests.builders import make_tenant
from tests.fakes.usage_server import FakeUsage, running_usage

EMAIL = "ada@example.com"


def draft_body(n: int) -> dict[str, str]:
    return {
        "message_id": f"m-{n}",
        "text": "Where is my new card?",
        "requester_id": f"u-{n}",
        "requester_email": EMAIL,
    }


def test_two_drafts_waiting_on_a_slow_source_at_once_both_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.db'}"
    upgrade(url)
    engine = make_engine(url)

    @event.listens_for(engine, "connect")
    def _give_up_quickly(dbapi_connection, _record):
        # A blocked BEGIN fails after 2 s instead of 30: the failure this test guards against shows fast.
        dbapi_connection.execute("PRAGMA busy_timeout=2000")

    clock = SystemClock()
    usage = FakeUsage(latency_s=1.0)
    usage.seed(EMAIL, {"seats": 3})
    with running_usage(usage) as (usage_url, _):
        with transaction(make_session_factory(engine)) as session:
            tenant = make_tenant(session, clock, "acme")
            metrics_service.configure_experiment(
                session, tenant_id=tenant.id, unit=Unit.TICKET, assisted_share_bp=10_000, clock=clock
            )
            connectors.set_connector(
                session,
                tenant_id=tenant.id,
                kind="usage",
                settings={"base_url": usage_url},
                clock=clock,
                private_addresses_allowed=True,
            )
        app = create_app(Settings(database_url=url, context_timeout_seconds=1.5), engine=engine, clock=clock)

        async def both() -> list[httpx.Response]:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                headers = tenant.headers(Scope.AGENT)
                posts = (
                    client.post(f"/api/v1/tickets/T-{n}/drafts", json=draft_body(n), headers=headers)
                    for n in (1, 2)
                )
                return list(await asyncio.gather(*posts))

        responses = asyncio.run(both())
    engine.dispose()
    assert [r.status_code for r in responses] == [200, 200], [r.text for r in responses]
    assert all(r.json()["status"] == "drafted" for r in responses)
    # Both drafts waited on the slow source, each with its own request.
    assert usage.requests == 2
