from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing import service
from billing.errors import LedgerIsAppendOnly
from billing.ledger import EntryRequest, OutcomeStatus
from billing.models import LedgerEntry, PriceRow
from billing.money import rate_to_micros
from billing.pricing import OutcomeKind
from plugin.core.errors import InvalidPayload
from tests.billing.builders import deliver_draft
from tests.builders import make_tenant


def entries(session, tenant_id):
    return list(
        session.scalars(
            select(LedgerEntry).where(LedgerEntry.tenant_id == tenant_id).order_by(LedgerEntry.id)
        )
    )


def test_delivered_draft_is_billed_25_cents_in_the_month_it_occurred(session, clock):
    acme = make_tenant(session, clock)
    result = deliver_draft(session, clock, acme.id, "101")
    assert result.status is OutcomeStatus.BILLED
    [entry] = entries(session, acme.id)
    assert (entry.kind, entry.quantity, entry.amount_micros, entry.currency) == (
        "draft",
        1,
        25_000_000,
        "USD",
    )
    assert entry.period_start == clock.now().date().replace(day=1)
    assert entry.ticket_id == "101" and entry.draft_id == "d-101-m1"


def test_retried_draft_with_the_same_key_gives_one_entry_and_reports_duplicate(session, clock):
    acme = make_tenant(session, clock)
    first = deliver_draft(session, clock, acme.id, "101")
    again = deliver_draft(session, clock, acme.id, "101")
    regenerated = deliver_draft(session, clock, acme.id, "101", at=clock.now() + timedelta(seconds=30))
    assert again.status is OutcomeStatus.DUPLICATE and again.entry_id == first.entry_id
    assert regenerated.status is OutcomeStatus.DUPLICATE
    assert len(entries(session, acme.id)) == 1


def test_same_key_in_two_tenants_bills_each_tenant_once(session, clock):
    acme = make_tenant(session, clock, "acme")
    globex = make_tenant(session, clock, "globex")
    assert deliver_draft(session, clock, acme.id, "7").status is OutcomeStatus.BILLED
    assert deliver_draft(session, clock, globex.id, "7").status is OutcomeStatus.BILLED


def test_control_arm_draft_is_never_charged_and_writes_nothing(session, clock):
    acme = make_tenant(session, clock)
    result = deliver_draft(session, clock, acme.id, "101", arm="control")
    assert result.status is OutcomeStatus.CONTROL_ARM and not result.charged
    assert entries(session, acme.id) == []


def test_control_arm_resolution_is_never_charged(session, clock):
    acme = make_tenant(session, clock)
    result = service.record_outcome(
        session, tenant_id=acme.id, kind="resolution", ticket_id="9", draft_id=None,
        idempotency_key="resolution:9", occurred_at=clock.now(), arm="control", clock=clock,
    )  # fmt: skip
    assert result.status is OutcomeStatus.CONTROL_ARM
    assert service.settle_due_resolutions(session, now=clock.now() + timedelta(days=30), clock=clock) == []


def test_unknown_kind_arm_or_naive_time_is_rejected_as_invalid_payload(session, clock):
    acme = make_tenant(session, clock)
    common = dict(tenant_id=acme.id, ticket_id="1", draft_id=None, idempotency_key="k", clock=clock)
    with pytest.raises(InvalidPayload):
        service.record_outcome(session, kind="upsell", occurred_at=clock.now(), arm="assisted", **common)
    with pytest.raises(InvalidPayload):
        service.record_outcome(session, kind="draft", occurred_at=clock.now(), arm="treatment", **common)
    with pytest.raises(InvalidPayload):
        service.record_outcome(
            session, kind="draft", occurred_at=datetime(2026, 11, 1), arm="assisted", **common
        )
    with pytest.raises(InvalidPayload):
        service.record_outcome(
            session, kind="resolution_reversal", occurred_at=clock.now(), arm="assisted", **common
        )


def test_price_book_change_applies_from_its_effective_date(session, clock):
    acme = make_tenant(session, clock)
    session.add(
        PriceRow(tenant_id=acme.id, kind="draft", unit_price_micros=rate_to_micros(Decimal("12.5")), currency="USD",
                 effective_from=clock.now() + timedelta(days=1), created_at=clock.now())
    )  # fmt: skip
    session.flush()
    before = deliver_draft(session, clock, acme.id, "1")
    after = deliver_draft(session, clock, acme.id, "2", at=clock.now() + timedelta(days=2))
    assert before.amount_micros == 25_000_000
    assert after.amount_micros == 12_500_000


def test_each_draft_is_priced_by_the_latest_draft_price_in_force_at_its_moment(session, clock):
    acme = make_tenant(session, clock)
    for kind, days, rate in (("draft", 1, "12.5"), ("draft", 3, "10"), ("resolution", 0, "5")):
        session.add(
            PriceRow(tenant_id=acme.id, kind=kind, unit_price_micros=rate_to_micros(Decimal(rate)), currency="USD",
                     effective_from=clock.now() + timedelta(days=days), created_at=clock.now())
        )  # fmt: skip
    session.flush()
    amounts = [
        deliver_draft(session, clock, acme.id, str(days), at=clock.now() + timedelta(days=days)).amount_micros
        for days in (0, 2, 4)
    ]
    assert amounts == [25_000_000, 12_500_000, 10_000_000]


def test_ledger_entries_cannot_be_updated_or_deleted_through_the_orm(session, clock):
    acme = make_tenant(session, clock)
    deliver_draft(session, clock, acme.id, "1")
    [entry] = entries(session, acme.id)
    entry.amount_micros = 0
    with pytest.raises(LedgerIsAppendOnly):
        session.flush()
    session.rollback()


def test_batched_backfill_inserts_each_key_once_and_reports_duplicates(session, clock):
    acme = make_tenant(session, clock)
    deliver_draft(session, clock, acme.id, "t3")
    when = clock.now() - timedelta(hours=1)
    requests = [
        EntryRequest(acme.id, OutcomeKind.DRAFT, f"draft:t{i}:m1", f"t{i}", when, f"d{i}")
        for i in (5, 1, 3, 2, 5)
    ]
    results = service.record_outcomes(session, drafts=requests, clock=clock)
    assert [r.status for r in results] == [
        OutcomeStatus.BILLED, OutcomeStatus.BILLED, OutcomeStatus.DUPLICATE, OutcomeStatus.BILLED,
        OutcomeStatus.DUPLICATE,
    ]  # fmt: skip
    count = session.scalar(select(func.count()).where(LedgerEntry.tenant_id == acme.id))
    assert count == 4


def test_late_draft_for_a_closed_month_lands_in_the_open_period(session, clock):
    from billing import invoices

    acme = make_tenant(session, clock)
    deliver_draft(session, clock, acme.id, "oct-1", at=datetime(2026, 10, 20, tzinfo=UTC))
    clock.set(datetime(2026, 11, 5, tzinfo=UTC))
    invoices.close_period(session, period_start=datetime(2026, 10, 1).date(), clock=clock)
    late = deliver_draft(session, clock, acme.id, "oct-2", at=datetime(2026, 10, 31, 23, 0, tzinfo=UTC))
    assert late.status is OutcomeStatus.BILLED
    assert late.period_start == datetime(2026, 11, 1).date()
