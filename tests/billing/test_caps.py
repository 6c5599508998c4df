from datetime import timedelta

from sqlalchemy import select

from billing import invoices, service
from billing.caps import CapMode, CapState
from billing.ledger import OutcomeStatus
from billing.models import LedgerEntry
from tests.billing.builders import deliver_draft, resolve
from tests.builders import make_tenant


def test_spend_cap_reached_mid_day_bills_nothing_past_the_cap_and_steps_the_ai_down(session, clock):
    acme = make_tenant(session, clock)
    service.set_spend_cap(session, tenant_id=acme.id, cap_cents=100, mode="off", clock=clock)
    statuses = []
    for hour in range(6):
        clock.advance(timedelta(hours=1))
        statuses.append(deliver_draft(session, clock, acme.id, f"t{hour}").status)
        if hour == 2:
            assert service.spend_status(session, acme.id, clock.now()).state is CapState.OK  # 75 of 100
    assert statuses == [OutcomeStatus.BILLED] * 4 + [OutcomeStatus.WAIVED_SPEND_CAP] * 2
    status = service.spend_status(session, acme.id, clock.now())
    assert (status.spent_cents, status.cap_cents, status.state, status.mode) == (
        100,
        100,
        CapState.REACHED,
        CapMode.OFF,
    )
    waived = session.scalars(select(LedgerEntry).where(LedgerEntry.waived_reason == "spend_cap")).all()
    assert len(waived) == 2 and all(entry.amount_micros == 0 for entry in waived)
    preview = invoices.preview(session, tenant_id=acme.id, now=clock.now())
    assert preview.total_cents == 100
    assert [(line.quantity, line.amount_cents, line.waived_reason) for line in preview.lines] == [
        (4, 100, None),
        (2, 0, "spend_cap"),
    ]


def test_warns_from_80_percent_of_the_cap(session, clock):
    acme = make_tenant(session, clock)
    service.set_spend_cap(session, tenant_id=acme.id, cap_cents=125, mode="suggest_only", clock=clock)
    for ticket in ("1", "2", "3"):
        deliver_draft(session, clock, acme.id, ticket)
    assert service.spend_status(session, acme.id, clock.now()).state is CapState.OK  # 75 of 125 = 60%
    deliver_draft(session, clock, acme.id, "4")
    status = service.spend_status(session, acme.id, clock.now())
    assert status.state is CapState.WARN and status.spent_cents == 100  # 80%


def test_cap_that_cannot_fit_the_next_outcome_turns_it_away_and_reports_reached(session, clock):
    acme = make_tenant(session, clock)
    service.set_spend_cap(session, tenant_id=acme.id, cap_cents=60, mode="suggest_only", clock=clock)
    deliver_draft(session, clock, acme.id, "1")
    deliver_draft(session, clock, acme.id, "2")
    assert deliver_draft(session, clock, acme.id, "3").status is OutcomeStatus.WAIVED_SPEND_CAP
    status = service.spend_status(session, acme.id, clock.now())
    assert status.spent_cents == 50 and status.state is CapState.REACHED


def test_setting_a_cap_mid_month_counts_what_was_already_spent(session, clock):
    acme = make_tenant(session, clock)
    for ticket in ("1", "2", "3"):
        deliver_draft(session, clock, acme.id, ticket)
    status = service.set_spend_cap(
        session, tenant_id=acme.id, cap_cents=100, mode="suggest_only", clock=clock
    )
    assert status.spent_cents == 75 and status.state is CapState.OK
    assert deliver_draft(session, clock, acme.id, "4").status is OutcomeStatus.BILLED
    assert deliver_draft(session, clock, acme.id, "5").status is OutcomeStatus.WAIVED_SPEND_CAP


def test_resolution_settling_past_the_cap_is_waived(session, clock):
    acme = make_tenant(session, clock)
    service.set_spend_cap(session, tenant_id=acme.id, cap_cents=25, mode="off", clock=clock)
    deliver_draft(session, clock, acme.id, "1")
    resolve(session, clock, acme.id, "2")
    [settled] = service.settle_due_resolutions(session, now=clock.now() + timedelta(days=3), clock=clock)
    assert settled.status is OutcomeStatus.WAIVED_SPEND_CAP and settled.amount_micros == 0


def test_removing_the_cap_bills_again_and_a_duplicate_never_counts_twice(session, clock):
    acme = make_tenant(session, clock)
    service.set_spend_cap(session, tenant_id=acme.id, cap_cents=50, mode="off", clock=clock)
    deliver_draft(session, clock, acme.id, "1")
    deliver_draft(session, clock, acme.id, "1")
    assert service.spend_status(session, acme.id, clock.now()).spent_cents == 25
    service.set_spend_cap(session, tenant_id=acme.id, cap_cents=None, mode="off", clock=clock)
    assert deliver_draft(session, clock, acme.id, "2").status is OutcomeStatus.BILLED
    assert deliver_draft(session, clock, acme.id, "3").status is OutcomeStatus.BILLED
    assert service.spend_status(session, acme.id, clock.now()).state is CapState.OK
