"""Invoice exports for finance: CSV (lines, or lines with their tickets), HTML and PDF."""

import csv
import html
import io
from collections.abc import Mapping, Sequence
from datetime import timedelta

from fpdf import FPDF

from billing.invoice_repository import TicketCharge
from billing.invoices import InvoiceView, LineView
from billing.money import format_money, format_rate, minor_exponent

TicketsByLine = Mapping[int, Sequence[TicketCharge]]


def _major(amount_minor: int, currency: str) -> str:
    exponent = minor_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{major}.{minor:0{exponent}d}" if exponent else f"{sign}{major}"


def _unit(line: LineView) -> str:
    return format_rate(line.unit_price_micros, line.currency).split(" ", 1)[1]


def _title(invoice: InvoiceView) -> str:
    name = invoice.number or "Preview (open period)"
    last_day = invoice.period_end - timedelta(days=1)
    return f"Invoice {name}: {invoice.period_start:%Y-%m-%d} to {last_day:%Y-%m-%d}"


def to_csv(invoice: InvoiceView, tickets: TicketsByLine | None = None) -> str:
    """One row per line (or per line and ticket when `tickets` is given), then a total row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["invoice", "period_start", "line", "kind", "description", "quantity", "unit_price", "amount",
              "amount_cents", "currency"]  # fmt: skip
    if tickets is not None:
        header += ["ticket_id", "ticket_quantity", "ticket_amount"]
    writer.writerow(header)
    for line in invoice.lines:
        base = [invoice.number or "preview", invoice.period_start.isoformat(), line.position, line.kind,
                line.description, line.quantity, _unit(line), _major(line.amount_cents, line.currency),
                line.amount_cents, line.currency]  # fmt: skip
        if tickets is None:
            writer.writerow(base)
            continue
        for charge in tickets.get(line.id or 0, []):
            amount = format_rate(charge.amount_micros, line.currency).split(" ", 1)[1]
            writer.writerow([*base, charge.ticket_id, charge.quantity, amount])
    total = [invoice.number or "preview", invoice.period_start.isoformat(), "", "total", "Total", "", "",
             _major(invoice.total_cents, invoice.currency), invoice.total_cents, invoice.currency]  # fmt: skip
    writer.writerow(total + ([""] * 3 if tickets is not None else []))
    return buffer.getvalue()


def to_html(invoice: InvoiceView, tickets: TicketsByLine | None = None) -> str:
    """A standalone printable page; every value is escaped."""
    rows = []
    for line in invoice.lines:
        detail = ""
        if tickets is not None and tickets.get(line.id or 0):
            names = ", ".join(html.escape(charge.ticket_id) for charge in tickets[line.id or 0])
            detail = f'<div class="tickets">Tickets: {names}</div>'
        rows.append(
            "<tr>"
            f"<td>{line.position}</td><td>{html.escape(line.description)}{detail}</td>"
            f'<td class="num">{line.quantity}</td><td class="num">{html.escape(_unit(line))}</td>'
            f'<td class="num">{html.escape(format_money(line.amount_cents, line.currency))}</td>'
            "</tr>"
        )
    pending = ""
    if invoice.pending is not None and invoice.pending.count:
        pending = (
            f'<p class="pending">{invoice.pending.count} resolution(s) pending confirmation, up to '
            f"{html.escape(format_money(invoice.pending.potential_cents, invoice.currency))} "
            "(not included in the total).</p>"
        )
    title = html.escape(_title(invoice))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        "<style>body{font-family:sans-serif;margin:2rem}table{border-collapse:collapse;width:100%}"
        "td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}.num{text-align:right}"
        ".tickets{color:#666;font-size:.8rem}</style></head><body>"
        f"<h1>{title}</h1><p>Status: {html.escape(invoice.status)}</p>"
        "<table><thead><tr><th>#</th><th>Description</th><th class=num>Qty</th><th class=num>Unit price</th>"
        "<th class=num>Amount</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody><tfoot><tr><th></th><th>Total</th><th></th><th></th>"
        f'<th class="num">{html.escape(format_money(invoice.total_cents, invoice.currency))}</th></tr></tfoot>'
        f"</table>{pending}</body></html>"
    )


def to_pdf(invoice: InvoiceView) -> bytes:
    """A one-page (or more) PDF rendered with fpdf2's core fonts."""
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(_title(invoice)))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 14)
    pdf.cell(0, 10, _latin1(_title(invoice)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    pdf.cell(
        0,
        6,
        _latin1(f"Status: {invoice.status}   Entries: {invoice.entry_count}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    widths = (10, 95, 20, 25, 35)
    pdf.set_font("Helvetica", "B", 9)
    for width, label in zip(widths, ("#", "Description", "Qty", "Unit price", "Amount"), strict=True):
        pdf.cell(width, 7, label, border="B", align="R" if label in ("Qty", "Unit price", "Amount") else "L")
    pdf.ln()
    pdf.set_font("Helvetica", size=9)
    for line in invoice.lines:
        values = (str(line.position), line.description, str(line.quantity), _unit(line),
                  format_money(line.amount_cents, line.currency))  # fmt: skip
        for position, (width, value) in enumerate(zip(widths, values, strict=True)):
            pdf.cell(width, 6, _latin1(value), align="R" if position >= 2 else "L")
        pdf.ln()
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(sum(widths[:4]), 8, "Total", border="T")
    pdf.cell(
        widths[4], 8, _latin1(format_money(invoice.total_cents, invoice.currency)), border="T", align="R"
    )
    pdf.ln()
    if invoice.pending is not None and invoice.pending.count:
        pdf.set_font("Helvetica", "I", 8)
        note = f"{invoice.pending.count} resolution(s) pending confirmation, not included in the total."
        pdf.cell(0, 6, _latin1(note), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")
