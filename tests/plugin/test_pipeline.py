"""The autopilot loop through the real pipeline: demo helpdesk -> events -> jobs -> draft -> write-back -> ledger."""

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from billing.models import LedgerEntry, Resolution
from drafting import service as drafting_service
from drafting import training
from metrics import service as metrics_service
from metrics.assignment import Unit
from metrics.models import TicketEventRow
from plugin.core.config import Settings
from plugin.helpdesk.local import LOCAL_AI_AUTHOR_ID
from plugin.helpdesks import HelpdeskFactory
from plugin.jobs.models import Job
from plugin.runtime import build_worker
from plugin.wiring import KitFactory
from tests.builders import make_tenant
from tests.drafting.builders import INTENTS, banking_examples, knowledge

CUSTOMER = {"requester_email": "noah.brown7922@example.com", "requester_name": "Noah Brown"}


@pytest.fixture
def demo(session, session_factory, clock, settings):
    tenant = make_tenant(session, clock, "shop").tenant
    tenant.helpdesk = "local"
    training.import_knowledge(session, tenant_id=tenant.id, passages=knowledge().passages, clock=clock)
    training.train_intent_model(session, tenant_id=tenant.id, examples=banking_examples(), clock=clock)
    drafting_service.update_settings(
        session, tenant_id=tenant.id, clock=clock, autopilot_enabled=True, intent_allowlist=list(INTENTS)
    )
    drafting_service.tenant_settings(session, tenant_id=tenant.id, clock=clock).threshold = 0.5
    session.commit()
    helpdesks = HelpdeskFactory(session_factory, clock)
    worker = build_worker(settings, session_factory, clock, kits=KitFactory(Settings()), helpdesks=helpdesks)
    return tenant, helpdesks.local(tenant), worker


def split(session, tenant_id, clock, share_bp):
    metrics_service.configure_experiment(
        session, tenant_id=tenant_id, unit=Unit.REQUESTER, assisted_share_bp=share_bp, clock=clock
    )
    session.commit()


def drain(worker) -> int:
    return asyncio.run(worker.drain_with_schedule())


def events_of(session, tenant_id, ticket_id) -> list[str]:
    rows = session.scalars(
        select(TicketEventRow.event)
        .where(TicketEventRow.tenant_id == tenant_id, TicketEventRow.ticket_id == ticket_id)
        .order_by(TicketEventRow.id)
    )
    return list(rows)


def resolution_entries(session, tenant_id) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry).where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.kind == "resolution")
        )
    )


def test_confident_ticket_is_answered_solved_and_billed_once_the_window_passes(session, clock, demo):
    tenant, helpdesk, worker = demo
    split(session, tenant.id, clock, 10_000)
    ticket = helpdesk.create_ticket(
        subject="Card", body="My new card still has not arrived, when will it come?", **CUSTOMER
    )

    assert drain(worker) >= 2
    comments = helpdesk.comments(ticket.ticket_id)
    ai_replies = [c for c in comments if c.author_id == LOCAL_AI_AUTHOR_ID and c.public]
    assert len(ai_replies) == 1
    assert helpdesk.ticket(ticket.ticket_id).status == "solved"
    assert events_of(session, tenant.id, ticket.ticket_id) == [
        "created",
        "customer_message",
        "ai_reply",
        "solved",
    ]
    resolution = session.scalar(select(Resolution).where(Resolution.tenant_id == tenant.id))
    assert resolution.state == "pending" and resolution_entries(session, tenant.id) == []

    clock.advance(timedelta(hours=73))
    drain(worker)
    entries = resolution_entries(session, tenant.id)
    assert len(entries) == 1 and entries[0].amount_micros == 50 * 1_000_000  # 50 cents


def test_customer_reply_inside_the_window_cancels_the_pending_resolution(session, clock, demo):
    tenant, helpdesk, worker = demo
    split(session, tenant.id, clock, 10_000)
    ticket = helpdesk.create_ticket(
        subject="Card", body="My new card still has not arrived, when will it come?", **CUSTOMER
    )
    drain(worker)
    clock.advance(timedelta(hours=2))
    helpdesk.customer_message(ticket.ticket_id, "That did not help, it is still missing.")
    clock.advance(timedelta(hours=80))
    drain(worker)
    session.expire_all()
    assert session.scalar(select(Resolution.state).where(Resolution.tenant_id == tenant.id)) == "cancelled"
    assert resolution_entries(session, tenant.id) == []


def test_control_ticket_never_gets_an_ai_reply_or_a_job(session, clock, demo):
    tenant, helpdesk, worker = demo
    split(session, tenant.id, clock, 0)
    ticket = helpdesk.create_ticket(
        subject="Card", body="My new card still has not arrived, when will it come?", **CUSTOMER
    )
    drain(worker)
    assert [c for c in helpdesk.comments(ticket.ticket_id) if c.author_id == LOCAL_AI_AUTHOR_ID] == []
    kinds = session.scalars(select(Job.kind).where(Job.tenant_id == tenant.id)).all()
    assert "draft_message" not in kinds


def test_the_daily_recalibration_runs_and_keeps_the_trained_threshold_until_outcomes_suffice(
    session, clock, demo
):
    tenant, helpdesk, worker = demo
    split(session, tenant.id, clock, 10_000)
    helpdesk.create_ticket(
        subject="Card", body="My new card still has not arrived, when will it come?", **CUSTOMER
    )
    drain(worker)
    jobs = session.execute(
        select(Job.status, Job.dedupe_key).where(
            Job.tenant_id == tenant.id, Job.kind == "recalibrate_threshold"
        )
    ).all()
    assert [(status, key) for status, key in jobs] == [
        ("done", f"recalibrate_threshold:{tenant.id}:{clock.now():%Y%m%d}")
    ]
    assert drafting_service.tenant_settings(session, tenant_id=tenant.id, clock=clock).threshold == 0.5
