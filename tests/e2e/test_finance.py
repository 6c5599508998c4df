"""Finance sees usage so far, drills into an invoice and downloads a CSV that equals the ledger."""

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from billing import invoices as billing_invoices
from billing import resolutions
from billing.models import LedgerEntry
from billing.money import round_half_away_from_zero
from billing.periods import period_of, period_start_at, previous_period
from plugin.accounts.scopes import Scope
from plugin.core.clock import FixedClock, SystemClock
from plugin.core.db import transaction
from tests.billing.builders import deliver_draft, resolve
from tests.builders import make_tenant
from tests.e2e.conftest import assert_accessible_basics, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def books(e2e_sessions):
    now = datetime.now(UTC)
    closed = previous_period(previous_period(period_of(now)))
    with transaction(e2e_sessions) as session:
        tenant = make_tenant(session, SystemClock(), "initech")
        for index in range(12):
            at = period_start_at(closed) + timedelta(days=1 + index, hours=3)
            clock = FixedClock(at)
            deliver_draft(session, clock, tenant.id, f"{100 + index % 5}", message=f"m{index}", at=at)
            if index in (3, 7):
                ticket = f"{200 + index}"
                resolve(session, clock, tenant.id, ticket, at=at)
                resolutions.confirm_resolution(
                    session,
                    tenant_id=tenant.id,
                    ticket_id=ticket,
                    confirmed_at=at + timedelta(hours=1),
                    clock=clock,
                )
        billing_invoices.close_period(
            session, period_start=closed, clock=SystemClock(), tenant_ids=[tenant.id]
        )
        for index in range(3):
            deliver_draft(
                session, SystemClock(), tenant.id, f"{300 + index}", at=now - timedelta(minutes=index)
            )
        resolve(session, SystemClock(), tenant.id, "399", at=now - timedelta(hours=1))
    return tenant, closed


def ledger(e2e_sessions, tenant_id, period):
    with transaction(e2e_sessions) as session:
        rows = session.scalars(
            select(LedgerEntry).where(LedgerEntry.tenant_id == tenant_id, LedgerEntry.period_start == period)
        ).all()
        return [(row.kind, row.ticket_id, row.quantity, row.amount_micros) for row in rows]


def test_finance_downloads_an_invoice_csv_that_equals_the_ledger(page, live_server, e2e_sessions, books):
    tenant, period = books
    page.goto(f"{live_server}/app/finance#token={tenant.tokens[Scope.FINANCE]}")
    page.wait_for_selector("body[data-loaded=true]")
    assert "$0.75" in page.locator("#usage-summary").inner_text()
    assert "pending resolutions" in page.locator("#usage-summary").inner_text()
    assert page.locator("#pending-table tbody tr").count() == 1
    assert "#399" in page.locator("#pending-table").inner_text()

    page.locator("#invoices-table a[data-invoice]").first.click()
    page.locator("#invoice-lines details").first.wait_for()
    assert "?invoice=" in page.url
    page.locator("#invoice-lines details summary").first.click()
    assert page.locator("#invoice-lines details[open] tbody tr").count() >= 1
    screenshot(page, "finance-invoice")

    with page.expect_download() as info:
        page.locator("#invoice-downloads").get_by_role("button", name="CSV with tickets").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    entries = ledger(e2e_sessions, tenant.id, period)
    assert entries, "the seeded period has ledger entries"

    per_kind_quantity: Counter[str] = Counter()
    per_kind_micros: Counter[str] = Counter()
    per_ticket: Counter[tuple[str, str]] = Counter()
    for kind, ticket_id, quantity, micros in entries:
        per_kind_quantity[kind] += quantity
        per_kind_micros[kind] += micros
        per_ticket[(kind, ticket_id)] += quantity
    lines = {row["kind"]: row for row in rows if row["kind"] != "total"}
    assert set(lines) == set(per_kind_quantity)
    for kind, row in lines.items():
        assert int(row["quantity"]) == per_kind_quantity[kind]
        assert int(row["amount_cents"]) == round_half_away_from_zero(per_kind_micros[kind])
    assert {
        (row["kind"], row["ticket_id"]): int(row["ticket_quantity"]) for row in rows if row["ticket_id"]
    } == dict(per_ticket)
    total = next(row for row in rows if row["kind"] == "total")
    assert int(total["amount_cents"]) == sum(int(row["amount_cents"]) for row in lines.values())

    with page.expect_download() as info:
        page.locator("#invoice-downloads").get_by_role("button", name="PDF").click()
    assert Path(info.value.path()).read_bytes().startswith(b"%PDF")


def test_finance_sets_a_spend_cap(page, live_server, books):
    tenant, _ = books
    page.goto(f"{live_server}/app/finance#token={tenant.tokens[Scope.FINANCE]}")
    page.wait_for_selector("body[data-loaded=true]")
    page.get_by_label("Monthly cap (USD)").fill("0.90")
    page.get_by_label("When the cap is reached").select_option("off")
    page.get_by_role("button", name="Save cap").click()
    page.locator("#cap-status", has_text="Cap saved").wait_for()
    page.locator("#spend-banner", has_text="of the spend cap used").wait_for()
    assert "$0.75 of $0.90" in page.locator("#usage-summary").inner_text()
    assert_accessible_basics(page)
    screenshot(page, "finance-usage")
