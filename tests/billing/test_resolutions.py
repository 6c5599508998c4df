from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from billing import invoices, service
from billing.errors import ResolutionStateConflict
from billing.ledger import OutcomeStatus
from billing.models import LedgerEntry
from billing.resolutions import ChangeAction, ResolutionState
from tests.billing.builders import resolve
from tests.builders import make_tenant


def ledger(session, tenant_id):
    return list(
        session.scalars(
            select(LedgerEntry).where(LedgerEntry.tenant_id == tenant_id).order_by(LedgerEntry.id)
        )
    )


def test_resolution_is_pending_and_not_billed_until_the_window_passes(session, clock):
    acme = make_tenant(session, clock)
    result = resolve(session, clock, acme.id, "55")
    assert result.status is OutcomeStatus.PENDING and result.entry_id is None
    assert service.settle_due_resolutions(session, now=clock.now() + timedelta(hours=71), clock=clock) == []
    assert ledger(session, acme.id) == []
    [settled] = service.settle_due_resolutions(session, now=clock.now() + timedelta(hours=72), clock=clock)
    assert settled.status is OutcomeStatus.BILLED and settled.amount_micros == 50_000_000
    [entry] = ledger(session, acme.id)
    assert entry.kind == "resolution" and entry.occurred_at == clock.now() + timedelta(hours=72)


def test_at_most_one_resolution_per_ticket(session, clock):
    acme = make_tenant(session, clock)
    first = resolve(session, clock, acme.id, "55")
    second = resolve(session, clock, acme.id, "55", at=clock.now() + timedelta(days=1))
    assert second.status is OutcomeStatus.DUPLICATE and second.resolution_id == first.resolution_id
    settled = service.settle_due_resolutions(session, now=clock.now() + timedelta(days=10), clock=clock)
    assert len(settled) == 1 and len(ledger(session, acme.id)) == 1


@pytest.mark.parametrize("reason", ["customer_reply", "human_takeover"])
def test_customer_reply_or_takeover_inside_the_window_means_no_charge(session, clock, reason):
    acme = make_tenant(session, clock)
    resolve(session, clock, acme.id, "55")
    change = service.cancel_resolution(
        session,
        tenant_id=acme.id,
        ticket_id="55",
        reason=reason,
        at=clock.now() + timedelta(hours=5),
        clock=clock,
    )
    assert change.action is ChangeAction.CANCELLED and change.state is ResolutionState.CANCELLED
    assert service.settle_due_resolutions(session, now=clock.now() + timedelta(days=5), clock=clock) == []
    assert ledger(session, acme.id) == []


def test_reopen_inside_the_confirmation_window_cancels_without_any_entry(session, clock):
    acme = make_tenant(session, clock)
    resolve(session, clock, acme.id, "55")
    change = service.reverse_on_reopen(
        session, tenant_id=acme.id, ticket_id="55", reopened_at=clock.now() + timedelta(hours=30), clock=clock
    )
    assert change.action is ChangeAction.CANCELLED
    assert ledger(session, acme.id) == []


def test_customer_confirmation_bills_immediately_and_once(session, clock):
    acme = make_tenant(session, clock)
    resolve(session, clock, acme.id, "55")
    confirmed = service.confirm_resolution(
        session, tenant_id=acme.id, ticket_id="55", confirmed_at=clock.now() + timedelta(hours=2), clock=clock
    )
    again = service.confirm_resolution(
        session, tenant_id=acme.id, ticket_id="55", confirmed_at=clock.now() + timedelta(hours=3), clock=clock
    )
    assert confirmed.status is OutcomeStatus.BILLED and again.status is OutcomeStatus.DUPLICATE
    assert service.settle_due_resolutions(session, now=clock.now() + timedelta(days=5), clock=clock) == []
    assert len(ledger(session, acme.id)) == 1


def test_confirming_a_cancelled_resolution_is_a_conflict(session, clock):
    acme = make_tenant(session, clock)
    resolve(session, clock, acme.id, "55")
    service.cancel_resolution(session, tenant_id=acme.id, ticket_id="55", reason="customer_reply", at=clock.now(),
                              clock=clock)  # fmt: skip
    with pytest.raises(ResolutionStateConflict):
        service.confirm_resolution(
            session, tenant_id=acme.id, ticket_id="55", confirmed_at=clock.now(), clock=clock
        )


def test_reopen_within_7_days_after_billing_appends_a_reversal_credit_in_the_later_period(session, clock):
    acme = make_tenant(session, clock)
    resolved_at = datetime(2026, 10, 26, 12, tzinfo=UTC)
    resolve(session, clock, acme.id, "55", at=resolved_at)
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    service.settle_due_resolutions(session, now=clock.now(), clock=clock)
    invoices.close_period(session, period_start=date(2026, 10, 1), clock=clock)
    reopened = resolved_at + timedelta(hours=72) + timedelta(days=6)  # 2026-11-04 12:00, inside 7 days
    change = service.reverse_on_reopen(
        session, tenant_id=acme.id, ticket_id="55", reopened_at=reopened, clock=clock
    )
    assert change.action is ChangeAction.REVERSED and change.credit_micros == -50_000_000
    charge, credit = ledger(session, acme.id)
    assert charge.period_start == date(2026, 10, 1)
    assert credit.kind == "resolution_reversal" and credit.reverses_entry_id == charge.id
    assert credit.period_start == date(2026, 11, 1) and credit.amount_micros == -50_000_000
    again = service.reverse_on_reopen(
        session, tenant_id=acme.id, ticket_id="55", reopened_at=reopened, clock=clock
    )
    assert again.action is ChangeAction.KEPT and len(ledger(session, acme.id)) == 2


def test_reopen_more_than_7_days_after_billing_keeps_the_charge(session, clock):
    acme = make_tenant(session, clock)
    resolve(session, clock, acme.id, "55")
    billed_at = clock.now() + timedelta(hours=72)
    service.settle_due_resolutions(session, now=billed_at, clock=clock)
    change = service.reverse_on_reopen(
        session,
        tenant_id=acme.id,
        ticket_id="55",
        reopened_at=billed_at + timedelta(days=7, minutes=1),
        clock=clock,
    )
    assert change.action is ChangeAction.KEPT and change.state is ResolutionState.BILLED
    assert [e.kind for e in ledger(session, acme.id)] == ["resolution"]


def test_reopen_arriving_after_the_window_settles_then_credits(session, clock):
    acme = make_tenant(session, clock)
    resolve(session, clock, acme.id, "55")
    late = clock.now() + timedelta(hours=80)  # window passed, settle job has not run yet
    change = service.reverse_on_reopen(
        session, tenant_id=acme.id, ticket_id="55", reopened_at=late, clock=clock
    )
    assert change.action is ChangeAction.REVERSED
    assert [e.amount_micros for e in ledger(session, acme.id)] == [50_000_000, -50_000_000]


def test_resolution_confirmed_after_month_end_is_billed_in_the_month_it_stuck(session, clock):
    acme = make_tenant(session, clock)
    clock.set(datetime(2026, 10, 30, 18, tzinfo=UTC))
    resolve(session, clock, acme.id, "55")
    clock.set(datetime(2026, 11, 1, 9, tzinfo=UTC))
    result = service.confirm_resolution(session, tenant_id=acme.id, ticket_id="55", confirmed_at=clock.now(),
                                        clock=clock)  # fmt: skip
    assert result.period_start == date(2026, 11, 1)
    clock.set(datetime(2026, 11, 5, tzinfo=UTC))
    october = invoices.close_period(session, period_start=date(2026, 10, 1), clock=clock)
    assert october == []  # nothing stuck in October, so no October invoice
    preview = invoices.preview(session, tenant_id=acme.id, now=clock.now())
    assert [(line.kind, line.amount_cents) for line in preview.lines] == [("resolution", 50)]


def test_resolution_whose_window_ends_after_a_closed_month_lands_in_the_open_period(session, clock):
    acme = make_tenant(session, clock)
    clock.set(datetime(2026, 10, 29, 12, tzinfo=UTC))
    resolve(session, clock, acme.id, "55")  # window ends 2026-11-01 12:00
    clock.set(datetime(2026, 11, 10, tzinfo=UTC))
    [settled] = service.settle_due_resolutions(session, now=clock.now(), clock=clock)
    assert settled.period_start == date(2026, 11, 1)
