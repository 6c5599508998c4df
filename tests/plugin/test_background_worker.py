"""RUN_WORKER=1: the web process drains the outbox itself, so the demo helpdesk gets drafts with one process."""

import time

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from drafting.models import Draft
from metrics import service as metrics_service
from metrics.assignment import Unit
from plugin.accounts import service as accounts_service
from plugin.app import create_app
from plugin.core.clock import SystemClock
from plugin.core.config import Settings
from plugin.core.db import make_engine, make_session_factory, transaction
from plugin.helpdesks import HelpdeskFactory
from plugin.migrate import upgrade


def test_in_process_worker_drafts_a_new_demo_ticket(tmp_path):
    url = f"sqlite:///{tmp_path / 'bg.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    clock = SystemClock()
    with transaction(factory) as session:
        tenant = accounts_service.create_tenant(session, slug="bg", name="Bg", clock=clock)
        tenant.helpdesk = "local"
        metrics_service.configure_experiment(
            session, tenant_id=tenant.id, unit=Unit.REQUESTER, assisted_share_bp=10_000, clock=clock
        )
    app = create_app(Settings(database_url=url, run_worker=True), engine=engine)
    with TestClient(app):
        with transaction(factory) as session:
            tenant = accounts_service.get_tenant(session, "bg")
        HelpdeskFactory(factory, clock).local(tenant).create_ticket(
            subject="Card",
            requester_email="noah.brown7922@example.com",
            requester_name="Noah Brown",
            body="Where is my new card? It has not arrived yet.",
        )
        deadline = time.monotonic() + 60
        drafts = 0
        while drafts == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            with engine.connect() as connection:
                drafts = connection.scalar(select(func.count()).select_from(Draft)) or 0
    engine.dispose()
    assert drafts == 1
