from datetime import timedelta

import pytest
from sqlalchemy import func, select

from metrics import service
from metrics.assignment import Unit, assign_arm
from metrics.models import Assignment, TicketArm
from plugin.core.errors import InvalidPayload
from tests.builders import make_tenant
from tests.metrics.builders import ticket


def test_default_experiment_is_created_lazily_as_fifty_fifty_by_requester(session, clock):
    tenant = make_tenant(session, clock)
    experiment = service.get_experiment(session, tenant_id=tenant.id, clock=clock)
    assert (experiment.unit, experiment.assisted_share_bp, experiment.version) == ("requester", 5_000, 1)
    assert service.get_experiment(session, tenant_id=tenant.id, clock=clock).id == experiment.id


def test_assign_ticket_is_idempotent_and_follows_the_hash(session, clock):
    tenant = make_tenant(session, clock)
    arm = service.assign_ticket(session, tenant_id=tenant.id, ticket_id="t1", requester_id="ann", clock=clock)
    experiment = service.get_experiment(session, tenant_id=tenant.id, clock=clock)
    assert arm == assign_arm(experiment.salt, "ann").value
    for _ in range(3):
        assert (
            service.assign_ticket(
                session, tenant_id=tenant.id, ticket_id="t1", requester_id="ann", clock=clock
            )
            == arm
        )
    assert session.scalar(select(func.count()).select_from(TicketArm)) == 1
    assert session.scalar(select(func.count()).select_from(Assignment)) == 1


def test_repeat_contacts_of_a_requester_stay_in_one_arm(session, clock):
    tenant = make_tenant(session, clock)
    arms = {
        service.assign_ticket(
            session, tenant_id=tenant.id, ticket_id=f"t{index}", requester_id="ann", clock=clock
        )
        for index in range(5)
    }
    assert len(arms) == 1


def test_changing_the_split_never_moves_an_assigned_ticket(session, clock):
    tenant = make_tenant(session, clock)
    first = service.assign_ticket(
        session, tenant_id=tenant.id, ticket_id="t1", requester_id="ann", clock=clock
    )
    service.configure_experiment(
        session,
        tenant_id=tenant.id,
        unit=Unit.TICKET,
        assisted_share_bp=10_000 if first == "control" else 0,
        clock=clock,
    )
    assert (
        service.assign_ticket(session, tenant_id=tenant.id, ticket_id="t1", requester_id="ann", clock=clock)
        == first
    )
    other = service.assign_ticket(
        session, tenant_id=tenant.id, ticket_id="t2", requester_id="ann", clock=clock
    )
    assert other != first


def test_agent_unit_needs_an_agent(session, clock):
    tenant = make_tenant(session, clock)
    service.configure_experiment(
        session, tenant_id=tenant.id, unit=Unit.AGENT, assisted_share_bp=5_000, clock=clock
    )
    with pytest.raises(InvalidPayload):
        service.assign_ticket(session, tenant_id=tenant.id, ticket_id="t1", requester_id="ann", clock=clock)
    assert service.assign_ticket(
        session, tenant_id=tenant.id, ticket_id="t1", requester_id="ann", agent_id="agent-7", clock=clock
    ) in {"assisted", "control"}


def test_report_over_the_log_uses_recorded_arms_and_the_window(session, clock):
    tenant = make_tenant(session, clock)
    start = clock.now()
    arms = {}
    for index in range(40):
        ticket_id = f"t{index}"
        arms[ticket_id] = service.assign_ticket(
            session, tenant_id=tenant.id, ticket_id=ticket_id, requester_id=f"r{index}", clock=clock
        )
        events = ticket(
            ticket_id,
            created=start + timedelta(hours=index),
            requester=f"r{index}",
            arm=None,
            reply_after=timedelta(minutes=10 if arms[ticket_id] == "assisted" else 50),
            solved_after=timedelta(hours=1),
            handle_seconds=600,
        )
        service.record_events(session, tenant_id=tenant.id, events=events, clock=clock)
    report = service.build_report(
        session, tenant_id=tenant.id, since=None, until=None, clock=clock, cost_per_agent_hour_cents=6_000
    )
    assisted = sum(1 for arm in arms.values() if arm == "assisted")
    assert report["arms"]["assisted"]["tickets"] == assisted
    assert report["arms"]["control"]["tickets"] == 40 - assisted
    assert report["arms"]["assisted"]["frt_median_s"] == 600
    assert report["arms"]["control"]["frt_median_s"] == 3000
    assert report["arms"]["control"]["cost_per_conversation_cents"] == pytest.approx(1_000)
    windowed = service.build_report(
        session,
        tenant_id=tenant.id,
        since=start + timedelta(hours=10),
        until=start + timedelta(hours=20),
        clock=clock,
        include_segments=False,
        include_trends=False,
    )
    assert windowed["tickets"] == 10


def test_business_hours_report_uses_the_tenant_schedule(session, clock):
    from metrics.business_hours import Schedule

    tenant = make_tenant(session, clock)
    service.set_schedule(session, tenant_id=tenant.id, schedule=Schedule(timezone="UTC"), clock=clock)
    saturday = clock.now() + timedelta(days=5)  # the fixture clock is Monday 09:00 UTC
    events = ticket("t1", created=saturday, arm="assisted", reply_after=timedelta(days=2, hours=1))
    service.record_events(session, tenant_id=tenant.id, events=events, clock=clock)
    report = service.build_report(
        session, tenant_id=tenant.id, since=None, until=None, clock=clock, business_hours=True
    )
    assert report["arms"]["assisted"]["frt_median_s"] == 3600


def test_tickets_never_assigned_get_their_hashed_arm_in_the_report(session, clock):
    tenant = make_tenant(session, clock)
    experiment = service.get_experiment(session, tenant_id=tenant.id, clock=clock)
    for index in range(30):
        events = ticket(
            f"t{index}", created=clock.now() + timedelta(minutes=index), requester=f"r{index}", arm=None
        )
        service.record_events(session, tenant_id=tenant.id, events=events, clock=clock)
    report = service.build_report(
        session,
        tenant_id=tenant.id,
        since=None,
        until=None,
        clock=clock,
        include_segments=False,
        include_trends=False,
    )
    expected = sum(1 for index in range(30) if assign_arm(experiment.salt, f"r{index}") == "assisted")
    assert report["unassigned_tickets"] == 0
    assert report["arms"]["assisted"]["tickets"] == expected
    assert report["arms"]["control"]["tickets"] == 30 - expected
