"""A worker killed with SIGKILL in the middle of an auto-resolution: after recovery the customer has
exactly one public reply and the ticket exactly one resolution."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from billing.models import Resolution
from drafting.models import Draft
from plugin.accounts import service as accounts_service
from plugin.core.clock import SystemClock
from plugin.core.db import make_engine, make_session_factory, transaction
from plugin.jobs import service as jobs
from plugin.jobs.models import Job
from plugin.jobs.service import NewJob
from plugin.migrate import upgrade
from plugin.pipeline import EXECUTE_AUTO_RESOLUTION
from tests.fakes.zendesk_server import API_TOKEN, EMAIL, running_zendesk

REPLY = "Your card is on its way and arrives within 5 working days."


def seed(url: str, zendesk_url: str, ticket_id: int) -> int:
    factory = make_session_factory(make_engine(url))
    clock = SystemClock()
    with transaction(factory) as session:
        tenant = accounts_service.create_tenant(session, slug="crashco", name="Crash Co", clock=clock)
        tenant.helpdesk = "zendesk"
        tenant.zendesk_subdomain, tenant.zendesk_email, tenant.zendesk_api_token = (
            zendesk_url,
            EMAIL,
            API_TOKEN,
        )
        draft = Draft(
            tenant_id=tenant.id,
            ticket_id=str(ticket_id),
            message_id="m1",
            attempt=1,
            requester_id="r1",
            requester_email="rosa@example.com",
            text=REPLY,
            sentences="[]",
            citations="[]",
            intent="card_arrival",
            confidence=0.99,
            action="auto_resolve",
            reasons="[]",
            grounded=True,
            ungrounded="[]",
            guardrails="[]",
            context=json.dumps({"facts": [], "sources": []}),
            context_partial=False,
            drafter="embedded",
            prompt_version="embedded-v1",
            model="embedded-v1",
            latency_ms=1.0,
            created_at=datetime.now(UTC),
        )
        session.add(draft)
        session.flush()
        jobs.enqueue(
            session,
            jobs=[NewJob(tenant.id, EXECUTE_AUTO_RESOLUTION, f"crash:{draft.id}", {"draft_id": draft.id})],
            clock=clock,
        )
        return tenant.id


def worker(url: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url}
    command = [
        sys.executable,
        "-m",
        "plugin.cli",
        "worker",
        "--lease-seconds",
        "2",
        "--poll-interval",
        "0.2",
        *extra,
    ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_sigkill_mid_auto_resolution_leaves_one_reply_and_one_resolution(tmp_path):
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    upgrade(url)
    with running_zendesk() as (zendesk_url, fake):
        ticket = fake.seed_ticket()
        tenant_id = seed(url, zendesk_url, ticket)
        # Zendesk applies the reply but answers only after a long pause: the worker dies waiting.
        fake.inject(method="PUT", delay_s=60, after_apply=True)
        first = worker(url)
        try:
            wait_for(lambda: len(fake.public_comments(ticket)) == 2, 60, "the AI reply to reach Zendesk")
        except BaseException:
            first.kill()
            print(first.stdout.read().decode() if first.stdout else "")
            raise
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)

        engine = make_engine(url)
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(Resolution)) == 0
            assert connection.scalar(select(Job.status).where(Job.tenant_id == tenant_id)) == "running"

        time.sleep(2.5)  # the dead worker's lease runs out
        second = worker(url, "--once")
        assert second.wait(timeout=120) == 0, second.stdout.read().decode() if second.stdout else ""

        assert [c["body"] for c in fake.public_comments(ticket)].count(REPLY) == 1
        assert fake.tickets[ticket]["status"] == "solved"
        with engine.connect() as connection:
            assert connection.scalar(select(func.count()).select_from(Resolution)) == 1
            assert connection.scalar(select(Job.status).where(Job.tenant_id == tenant_id)) == "done"
        engine.dispose()
