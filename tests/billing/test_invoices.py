import csv
import io
import re
import zlib
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from billing import exports, invoices, service
from billing.errors import InvoiceFinalized, InvoiceNotFound, PeriodNotClosable
from billing.models import Invoice, InvoiceLine, LedgerEntry
from billing.money import round_half_away_from_zero
from tests.billing.builders import deliver_draft, resolve
from tests.builders import make_tenant

OCTOBER = date(2026, 10, 1)


def october_activity(session, clock, tenant_id):
    """Six drafts, two stuck resolutions, one pending at month end."""
    clock.set(datetime(2026, 10, 5, 9, tzinfo=UTC))
    for ticket in range(1, 7):
        deliver_draft(session, clock, tenant_id, f"T{ticket}")
    resolve(session, clock, tenant_id, "R1")
    resolve(session, clock, tenant_id, "R2", at=datetime(2026, 10, 10, tzinfo=UTC))
    resolve(session, clock, tenant_id, "R3", at=datetime(2026, 10, 30, tzinfo=UTC))
    clock.set(datetime(2026, 10, 31, 12, tzinfo=UTC))
    service.settle_due_resolutions(session, now=clock.now(), clock=clock)


def pdf_text(data: bytes) -> str:
    text = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            text.append(zlib.decompress(stream).decode("latin-1"))
        except zlib.error:
            text.append(stream.decode("latin-1"))
    return "".join(text)


def test_preview_shows_billed_lines_and_pending_resolutions_apart(session, clock):
    acme = make_tenant(session, clock)
    october_activity(session, clock, acme.id)
    view = invoices.preview(session, tenant_id=acme.id, now=clock.now())
    assert [(line.kind, line.quantity, line.amount_cents) for line in view.lines] == [
        ("draft", 6, 150),
        ("resolution", 2, 100),
    ]
    assert view.total_cents == 250
    assert view.pending is not None and view.pending.count == 1 and view.pending.potential_cents == 50
    assert view.pending.resolutions[0].ticket_id == "R3"


def test_period_cannot_close_before_the_grace_period_ends(session, clock):
    acme = make_tenant(session, clock)
    october_activity(session, clock, acme.id)
    clock.set(datetime(2026, 11, 3, 23, tzinfo=UTC))
    with pytest.raises(PeriodNotClosable):
        invoices.close_period(session, period_start=OCTOBER, clock=clock)


def test_close_finalizes_a_numbered_invoice_equal_to_its_ledger_line_by_line(session, clock):
    acme = make_tenant(session, clock)
    october_activity(session, clock, acme.id)
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    [invoice] = invoices.close_period(session, period_start=OCTOBER, clock=clock)
    assert invoice.number == f"OD-{acme.id:05d}-0001" and invoice.status == "finalized"
    sums = dict(
        session.execute(
            select(LedgerEntry.kind, func.sum(LedgerEntry.amount_micros))
            .where(LedgerEntry.tenant_id == acme.id, LedgerEntry.period_start == OCTOBER)
            .group_by(LedgerEntry.kind)
        ).all()
    )
    view = invoices.get_invoice(session, tenant_id=acme.id, invoice_id=invoice.id)
    assert {line.kind: line.amount_cents for line in view.lines} == {
        kind: round_half_away_from_zero(total) for kind, total in sums.items()
    }
    assert view.total_cents == sum(line.amount_cents for line in view.lines) == 250
    assert invoice.entry_count == 8


def test_closing_twice_is_idempotent_and_next_invoice_gets_the_next_number(session, clock):
    acme = make_tenant(session, clock)
    october_activity(session, clock, acme.id)
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    [_first] = invoices.close_period(session, period_start=OCTOBER, clock=clock)
    assert invoices.close_period(session, period_start=OCTOBER, clock=clock) == []
    deliver_draft(session, clock, acme.id, "N1")
    clock.set(datetime(2026, 12, 5, tzinfo=UTC))
    [second] = invoices.close_period(session, period_start=date(2026, 11, 1), clock=clock)
    assert second.number == f"OD-{acme.id:05d}-0002" and second.total_cents == 25


def test_finalized_invoice_and_its_lines_cannot_change(session, clock):
    acme = make_tenant(session, clock)
    october_activity(session, clock, acme.id)
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    [invoice] = invoices.close_period(session, period_start=OCTOBER, clock=clock)
    session.commit()
    with pytest.raises(InvoiceFinalized):
        invoices.amend_invoice(session, tenant_id=acme.id, invoice_id=invoice.id)
    invoice.total_cents = 1
    with pytest.raises(InvoiceFinalized):
        session.flush()
    session.rollback()
    line = session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)).first()
    line.amount_cents = 0
    with pytest.raises(InvoiceFinalized):
        session.flush()
    session.rollback()


def test_late_entries_and_reversal_credits_land_in_the_open_period(session, clock):
    acme = make_tenant(session, clock)
    october_activity(session, clock, acme.id)
    resolve(session, clock, acme.id, "R4", at=datetime(2026, 10, 26, tzinfo=UTC))  # billed 2026-10-29
    service.settle_due_resolutions(session, now=clock.now(), clock=clock)
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    [october] = invoices.close_period(session, period_start=OCTOBER, clock=clock)
    deliver_draft(session, clock, acme.id, "LATE", at=datetime(2026, 10, 31, 22, tzinfo=UTC))
    service.reverse_on_reopen(
        session, tenant_id=acme.id, ticket_id="R4", reopened_at=clock.now(), clock=clock
    )
    assert invoices.get_invoice(session, tenant_id=acme.id, invoice_id=october.id).total_cents == 300
    view = invoices.preview(session, tenant_id=acme.id, now=clock.now())
    assert [(line.kind, line.quantity, line.amount_cents) for line in view.lines] == [
        ("draft", 1, 25),
        ("resolution_reversal", -1, -50),
    ]
    assert view.total_cents == -25 and view.credit_cents == 50


def test_every_line_drills_down_to_its_tickets(session, clock):
    acme = make_tenant(session, clock)
    october_activity(session, clock, acme.id)
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    [invoice] = invoices.close_period(session, period_start=OCTOBER, clock=clock)
    view = invoices.get_invoice(session, tenant_id=acme.id, invoice_id=invoice.id)
    drafts, resolutions = view.lines
    tickets = invoices.line_tickets(session, tenant_id=acme.id, invoice_id=invoice.id, line_id=drafts.id)
    assert [t.ticket_id for t in tickets] == ["T1", "T2", "T3", "T4", "T5", "T6"]
    assert sum(t.amount_micros for t in tickets) == 150_000_000
    resolved = invoices.line_tickets(
        session, tenant_id=acme.id, invoice_id=invoice.id, line_id=resolutions.id
    )
    assert [t.ticket_id for t in resolved] == ["R1", "R2"]
    with pytest.raises(InvoiceNotFound):
        invoices.line_tickets(session, tenant_id=acme.id, invoice_id=invoice.id, line_id=10**6)


def test_tenant_with_nothing_billed_gets_no_invoice_but_its_period_closes(session, clock):
    acme = make_tenant(session, clock)
    service.set_spend_cap(session, tenant_id=acme.id, cap_cents=None, mode="off", clock=clock)
    clock.set(datetime(2026, 12, 5, tzinfo=UTC))
    assert invoices.close_period(session, period_start=date(2026, 11, 1), clock=clock) == []
    assert session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_exports_render_csv_html_and_a_pdf_that_parses(session, clock):
    acme = make_tenant(session, clock)
    october_activity(session, clock, acme.id)
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    [invoice] = invoices.close_period(session, period_start=OCTOBER, clock=clock)
    view = invoices.get_invoice(session, tenant_id=acme.id, invoice_id=invoice.id)

    rows = list(csv.DictReader(io.StringIO(exports.to_csv(view))))
    assert [r["amount_cents"] for r in rows] == ["150", "100", "250"]
    assert rows[-1]["description"] == "Total" and rows[-1]["amount"] == "2.50"
    assert sum(int(r["amount_cents"]) for r in rows[:-1]) == int(rows[-1]["amount_cents"])

    tickets = {line.id: invoices.line_tickets(session, tenant_id=acme.id, invoice_id=invoice.id, line_id=line.id)
               for line in view.lines}  # fmt: skip
    detailed = list(csv.DictReader(io.StringIO(exports.to_csv(view, tickets))))
    assert [r["ticket_id"] for r in detailed if r["kind"] == "resolution"] == ["R1", "R2"]

    page = exports.to_html(view, tickets)
    assert "USD 2.50" in page and invoice.number in page and "R2" in page

    pdf = exports.to_pdf(view)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    text = pdf_text(pdf)
    assert "USD 2.50" in text and invoice.number in text and "AI drafts delivered to agents" in text


def test_html_export_escapes_ticket_ids(session, clock):
    acme = make_tenant(session, clock)
    clock.set(datetime(2026, 10, 5, tzinfo=UTC))
    deliver_draft(session, clock, acme.id, "<script>alert(1)</script>")
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    [invoice] = invoices.close_period(session, period_start=OCTOBER, clock=clock)
    view = invoices.get_invoice(session, tenant_id=acme.id, invoice_id=invoice.id)
    tickets = {view.lines[0].id: invoices.line_tickets(session, tenant_id=acme.id, invoice_id=invoice.id,
                                                       line_id=view.lines[0].id)}  # fmt: skip
    assert "<script>" not in exports.to_html(view, tickets)


def test_close_period_for_all_tenants_closes_each_one_separately(session, clock):
    acme = make_tenant(session, clock, "acme")
    globex = make_tenant(session, clock, "globex")
    clock.set(datetime(2026, 10, 5, tzinfo=UTC))
    deliver_draft(session, clock, acme.id, "A1")
    deliver_draft(session, clock, globex.id, "G1")
    deliver_draft(session, clock, globex.id, "G2")
    clock.set(datetime(2026, 11, 4, tzinfo=UTC) + timedelta(hours=1))
    closed = invoices.close_period(session, period_start=OCTOBER, clock=clock)
    assert sorted((i.tenant_id, i.total_cents) for i in closed) == [(acme.id, 25), (globex.id, 50)]
