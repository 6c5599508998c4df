"""`outcomedesk billing close-period | invoice | sync-stripe | reconcile | settle-resolutions`."""

import json
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session, sessionmaker

from billing import exports, invoices, resolutions, stripe_sync
from billing.errors import StripeNotConfigured
from billing.gateway import BillingGateway
from billing.periods import parse_period, period_of, previous_period
from plugin.accounts import repository as accounts_repository
from plugin.accounts import service as accounts_service
from plugin.core.clock import Clock, SystemClock
from plugin.core.config import Settings, get_settings
from plugin.core.db import make_engine, make_session_factory, transaction
from plugin.core.errors import AppError
from plugin.wiring import build_billing_gateway

app = typer.Typer(help="Billing commands.", no_args_is_help=True)


def _factory(settings: Settings) -> sessionmaker[Session]:
    return make_session_factory(make_engine(settings.database_url))


def _gateway(settings: Settings) -> BillingGateway:
    gateway = build_billing_gateway(settings)
    if gateway is None:
        raise StripeNotConfigured("set STRIPE_API_KEY (and STRIPE_API_BASE for a non-default endpoint)")
    return gateway


def _fail(error: AppError) -> None:
    typer.echo(json.dumps({"error": error.error, "detail": error.detail}), err=True)
    raise typer.Exit(2)


def _echo(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


def close_period_command(
    factory: sessionmaker[Session], *, period: str | None, tenant: str | None, grace_days: float, clock: Clock
) -> list[dict[str, Any]]:
    """Shared by the CLI and tests: close the period and describe the invoices it finalized."""
    target = parse_period(period) if period else previous_period(period_of(clock.now()))
    with transaction(factory) as session:
        tenant_ids = [accounts_service.get_tenant(session, tenant).id] if tenant else None
        closed = invoices.close_period(
            session, period_start=target, clock=clock, tenant_ids=tenant_ids, grace=timedelta(days=grace_days)
        )
        return [
            {"number": i.number, "tenant_id": i.tenant_id, "period_start": i.period_start.isoformat(),
             "total_cents": i.total_cents, "entries": i.entry_count}
            for i in closed
        ]  # fmt: skip


def sync_stripe_command(
    factory: sessionmaker[Session], *, gateway: BillingGateway, clock: Clock, limit: int = 500
) -> list[stripe_sync.PushResult]:
    """Push every pending invoice, each in its own transaction, so one failure never undoes another."""
    with transaction(factory) as session:
        pending = stripe_sync.pending_push_invoice_ids(session, limit=limit)
        names = {t.id: t.name for t in accounts_repository.list_tenants(session)}
    results = []
    for invoice_id in pending:
        with transaction(factory) as session:
            tenant_id = stripe_sync.push_tenant(session, invoice_id)
            results.append(
                stripe_sync.push_invoice(
                    session,
                    invoice_id=invoice_id,
                    gateway=gateway,
                    clock=clock,
                    customer_name=names.get(tenant_id or 0),
                )
            )
    return results


@app.command("close-period")
def close_period(
    period: Annotated[str | None, typer.Option(help="YYYY-MM; defaults to last month")] = None,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant (slug)")] = None,
    grace_days: Annotated[float, typer.Option(help="Days after month end before a period may close")] = 3,
) -> None:
    """Finalize and number the invoices of a month (and any earlier month still open)."""
    try:
        closed = close_period_command(
            _factory(get_settings()), period=period, tenant=tenant, grace_days=grace_days, clock=SystemClock()
        )
    except (AppError, ValueError) as error:
        _fail(error if isinstance(error, AppError) else AppError(str(error)))
        return
    _echo({"closed": len(closed), "invoices": closed})


@app.command("invoice")
def invoice(
    tenant: Annotated[str, typer.Option(help="Tenant slug")],
    number: Annotated[
        str | None, typer.Option(help="Invoice number; default: the open period's preview")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, csv, html or pdf")] = "json",
    out: Annotated[Path | None, typer.Option(help="Write to this file instead of stdout")] = None,
) -> None:
    """Show or export one invoice (or the live preview of the open period)."""
    clock = SystemClock()
    try:
        with transaction(_factory(get_settings())) as session:
            tenant_id = accounts_service.get_tenant(session, tenant).id
            if number is None:
                view = invoices.preview(session, tenant_id=tenant_id, now=clock.now())
            else:
                found = next((i for i in invoices.list_invoices(session, tenant_id=tenant_id, limit=10_000)
                              if i.number == number), None)  # fmt: skip
                if found is None or found.id is None:
                    raise AppError(f"tenant {tenant} has no invoice {number}")
                view = invoices.get_invoice(session, tenant_id=tenant_id, invoice_id=found.id)
    except AppError as error:
        _fail(error)
        return
    rendered: str | bytes
    if fmt == "csv":
        rendered = exports.to_csv(view)
    elif fmt == "html":
        rendered = exports.to_html(view)
    elif fmt == "pdf":
        rendered = exports.to_pdf(view)
    else:
        rendered = json.dumps(asdict(view), indent=2, default=str)
    if out is not None:
        out.write_bytes(rendered if isinstance(rendered, bytes) else rendered.encode())
        typer.echo(f"wrote {out}")
    elif isinstance(rendered, bytes):
        raise typer.BadParameter("a PDF needs --out FILE")
    else:
        typer.echo(rendered)


@app.command("sync-stripe")
def sync_stripe(limit: Annotated[int, typer.Option(help="At most this many invoices")] = 500) -> None:
    """Push finalized invoices to Stripe (idempotent; safe to re-run after any failure)."""
    settings = get_settings()
    try:
        results = sync_stripe_command(
            _factory(settings), gateway=_gateway(settings), clock=SystemClock(), limit=limit
        )
    except AppError as error:
        _fail(error)
        return
    _echo({"pushed": [asdict(r) for r in results]})
    if any(r.state != "delivered" for r in results):
        raise typer.Exit(1)


@app.command("reconcile")
def reconcile(tenant: Annotated[str | None, typer.Option(help="Only this tenant (slug)")] = None) -> None:
    """Compare our finalized invoices with Stripe's, line by line; exit 1 if anything differs."""
    settings = get_settings()
    try:
        with transaction(_factory(settings)) as session:
            tenant_ids = [accounts_service.get_tenant(session, tenant).id] if tenant else None
            differences = stripe_sync.reconcile(session, gateway=_gateway(settings), tenant_ids=tenant_ids)
    except AppError as error:
        _fail(error)
        return
    _echo({"differences": [asdict(d) for d in differences]})
    if differences:
        raise typer.Exit(1)


@app.command("settle-resolutions")
def settle_resolutions(batch: Annotated[int, typer.Option(help="Resolutions per transaction")] = 100) -> None:
    """Bill every pending resolution whose confirmation window has passed."""
    clock = SystemClock()
    factory = _factory(get_settings())
    settled = 0
    while True:
        with transaction(factory) as session:
            done = resolutions.settle_due_resolutions(session, now=clock.now(), clock=clock, limit=batch)
        settled += len(done)
        if len(done) < batch:
            break
    _echo({"settled": settled})
