from datetime import UTC, datetime

import pytest

from billing import invoices
from plugin.accounts.scopes import Scope
from tests.billing.test_invoices import OCTOBER, october_activity, pdf_text
from tests.builders import make_tenant


@pytest.fixture
def two_tenants(session, clock):
    """acme and globex, each with a closed October invoice and some November usage."""
    acme = make_tenant(session, clock, "acme")
    globex = make_tenant(session, clock, "globex")
    october_activity(session, clock, acme.id)
    october_activity(session, clock, globex.id)
    clock.set(datetime(2026, 11, 4, tzinfo=UTC))
    closed = {i.tenant_id: i for i in invoices.close_period(session, period_start=OCTOBER, clock=clock)}
    session.commit()
    return acme, globex, closed[acme.id], closed[globex.id]


def finance_routes(invoice_id: int, line_id: int) -> list[tuple[str, str, dict | None]]:
    return [
        ("GET", "/api/v1/billing/usage", None),
        ("GET", "/api/v1/billing/invoices", None),
        ("GET", "/api/v1/billing/invoices/preview", None),
        ("GET", "/api/v1/billing/invoices/preview/export/csv", None),
        ("GET", f"/api/v1/billing/invoices/{invoice_id}", None),
        ("PATCH", f"/api/v1/billing/invoices/{invoice_id}", {"memo": "PO 7"}),
        ("GET", f"/api/v1/billing/invoices/{invoice_id}/lines/{line_id}/tickets", None),
        ("GET", f"/api/v1/billing/invoices/{invoice_id}/export/csv", None),
        ("GET", f"/api/v1/billing/invoices/{invoice_id}/export/html", None),
        ("GET", f"/api/v1/billing/invoices/{invoice_id}/export/pdf", None),
        ("GET", "/api/v1/billing/spend-cap", None),
        ("PUT", "/api/v1/billing/spend-cap", {"cap_cents": 1000, "mode": "off"}),
        ("GET", "/api/v1/billing/resolutions/pending", None),
    ]


def test_invoice_detail_has_lines_and_the_tickets_behind_them(client, two_tenants):
    acme, _, invoice, _ = two_tenants
    response = client.get(f"/api/v1/billing/invoices/{invoice.id}", headers=acme.headers(Scope.FINANCE))
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == invoice.number and body["total_cents"] == 250 and body["status"] == "finalized"
    drafts, resolutions = body["lines"]
    assert (drafts["quantity"], drafts["unit_price_cents"], drafts["amount_cents"]) == (6, "25", 150)
    assert [t["ticket_id"] for t in resolutions["tickets"]] == ["R1", "R2"]
    drill = client.get(
        f"/api/v1/billing/invoices/{invoice.id}/lines/{drafts['id']}/tickets?limit=2&offset=1",
        headers=acme.headers(Scope.FINANCE),
    )
    assert [t["ticket_id"] for t in drill.json()] == ["T2", "T3"]


def test_changing_a_finalized_invoice_is_409_invoice_finalized(client, two_tenants):
    acme, _, invoice, _ = two_tenants
    response = client.patch(
        f"/api/v1/billing/invoices/{invoice.id}", json={"memo": "PO 7"}, headers=acme.headers(Scope.FINANCE)
    )
    assert response.status_code == 409
    assert response.json()["error"] == "invoice_finalized" and invoice.number in response.json()["detail"]


def test_usage_shows_the_open_period_with_pending_resolutions_apart(client, clock, two_tenants):
    acme, *_ = two_tenants
    body = client.get("/api/v1/billing/usage", headers=acme.headers(Scope.FINANCE)).json()
    assert body["period_start"] == "2026-11-01"
    assert body["pending"]["count"] == 1 and body["pending"]["resolutions"][0]["ticket_id"] == "R3"
    assert body["spend"]["state"] == "ok" and body["spend"]["cap_cents"] is None


def test_spend_cap_can_be_set_and_read_back(client, two_tenants):
    acme, *_ = two_tenants
    put = client.put("/api/v1/billing/spend-cap", json={"cap_cents": 5000, "mode": "off"},
                     headers=acme.headers(Scope.FINANCE))  # fmt: skip
    assert put.status_code == 200 and put.json()["cap_cents"] == 5000 and put.json()["mode"] == "off"
    assert (
        client.get("/api/v1/billing/spend-cap", headers=acme.headers(Scope.FINANCE)).json()["cap_cents"]
        == 5000
    )
    bad = client.put("/api/v1/billing/spend-cap", json={"cap_cents": -1}, headers=acme.headers(Scope.FINANCE))
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_payload"


def test_exports_have_the_right_content_types_and_content(client, two_tenants):
    acme, _, invoice, _ = two_tenants
    headers = acme.headers(Scope.FINANCE)
    csv = client.get(f"/api/v1/billing/invoices/{invoice.id}/export/csv?tickets=true", headers=headers)
    assert csv.headers["content-type"].startswith("text/csv") and "R2" in csv.text
    html = client.get(f"/api/v1/billing/invoices/{invoice.id}/export/html", headers=headers)
    assert html.headers["content-type"].startswith("text/html") and "USD 2.50" in html.text
    pdf = client.get(f"/api/v1/billing/invoices/{invoice.id}/export/pdf", headers=headers)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert "USD 2.50" in pdf_text(pdf.content)
    assert (
        client.get(f"/api/v1/billing/invoices/{invoice.id}/export/xlsx", headers=headers).status_code == 422
    )


@pytest.mark.parametrize("scope", [Scope.AGENT, Scope.MANAGER])
def test_finance_routes_refuse_tokens_without_the_finance_scope(client, two_tenants, scope):
    acme, _, invoice, _ = two_tenants
    for method, path, body in finance_routes(invoice.id, 1):
        response = client.request(method, path, json=body, headers=acme.headers(scope))
        assert response.status_code == 403, (method, path)
    assert client.get("/api/v1/billing/usage").status_code == 401


def test_tenant_isolation_on_every_finance_route(client, two_tenants):
    acme, globex, acme_invoice, globex_invoice = two_tenants
    headers = acme.headers(Scope.FINANCE)
    for method, path, body in finance_routes(globex_invoice.id, 1):
        response = client.request(method, path, json=body, headers=headers)
        if f"/invoices/{globex_invoice.id}" in path:
            assert response.status_code == 404, (method, path)
            assert response.json()["error"] == "invoice_not_found"
        else:
            assert response.status_code == 200, (method, path)
            assert "globex" not in response.text.lower()
            assert globex_invoice.number not in response.text
    listed = client.get("/api/v1/billing/invoices", headers=headers).json()
    assert [i["number"] for i in listed] == [acme_invoice.number]
    usage = client.get("/api/v1/billing/usage", headers=globex.headers(Scope.FINANCE)).json()
    assert usage["spend"]["cap_cents"] is None  # acme's cap (set above) never leaks into globex's


def test_line_of_another_invoice_is_not_found(client, two_tenants):
    acme, globex, acme_invoice, globex_invoice = two_tenants
    globex_view = client.get(
        f"/api/v1/billing/invoices/{globex_invoice.id}", headers=globex.headers(Scope.FINANCE)
    )
    globex_line = globex_view.json()["lines"][0]["id"]
    response = client.get(f"/api/v1/billing/invoices/{acme_invoice.id}/lines/{globex_line}/tickets",
                          headers=acme.headers(Scope.FINANCE))  # fmt: skip
    assert response.status_code == 404


def test_admin_token_may_read_finance_routes(client, two_tenants):
    acme, *_ = two_tenants
    assert client.get("/api/v1/billing/invoices", headers=acme.headers(Scope.ADMIN)).status_code == 200
