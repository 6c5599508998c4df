"""The `outcomedesk` command line."""

from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from plugin.accounts import service as accounts_service
from plugin.accounts.scopes import Scope
from plugin.commands import billing as billing_commands
from plugin.commands import drafting as drafting_commands
from plugin.commands import metrics as metrics_commands
from plugin.commands import zaf as zaf_commands
from plugin.core.clock import SystemClock
from plugin.core.config import get_settings
from plugin.core.db import make_engine, make_session_factory, transaction
from plugin.migrate import upgrade

app = typer.Typer(
    help="outcomedesk: AI drafts and auto-resolution for helpdesks, billed by outcome.", no_args_is_help=True
)
tenant_app = typer.Typer(help="Tenants and their API tokens.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
app.add_typer(billing_commands.app, name="billing")
app.add_typer(metrics_commands.app, name="metrics")
drafting_commands.register(app)
app.add_typer(zaf_commands.app, name="plugin")


def session_factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(get_settings().database_url))


@app.command()
def migrate() -> None:
    """Apply every pending database migration."""
    upgrade(get_settings().database_url)
    typer.echo("database is at the newest schema")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
) -> None:
    """Run the HTTP API, the sidebar, the dashboard and the finance pages."""
    import uvicorn

    uvicorn.run("plugin.asgi:app", host=host, port=port, workers=workers, log_level="info")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="Drain what is due, then exit")] = False,
    poll_interval: Annotated[float, typer.Option(help="Seconds to wait when idle")] = 1.0,
) -> None:
    """Run background jobs (drafts, auto-resolutions, settlements); run as many as you like on PostgreSQL."""
    import asyncio

    from plugin.runtime import build_worker

    worker_ = build_worker(get_settings(), session_factory(), SystemClock())
    if once:
        typer.echo(f"{asyncio.run(worker_.drain_with_schedule())} jobs ran")
        return
    asyncio.run(worker_.run_with_schedule(poll_interval=poll_interval))


@tenant_app.command("create")
def tenant_create(
    slug: Annotated[str, typer.Argument(help="Helpdesk account id, e.g. the Zendesk subdomain")],
    name: Annotated[str, typer.Option(help="Display name")] = "",
) -> None:
    """Create a tenant and print its Zendesk webhook signing secret."""
    with transaction(session_factory()) as session:
        tenant = accounts_service.create_tenant(session, slug=slug, name=name or slug, clock=SystemClock())
        typer.echo(f"tenant {tenant.slug} created")
        typer.echo(f"zendesk webhook secret: {tenant.zendesk_webhook_secret}")


@tenant_app.command("token")
def tenant_token(
    slug: Annotated[str, typer.Argument(help="Tenant slug")],
    scope: Annotated[list[Scope], typer.Option(help="Scopes to grant (repeatable)")],
    name: Annotated[str, typer.Option(help="What the token is for")] = "cli",
) -> None:
    """Issue an API token; it is shown once and stored only as a hash."""
    with transaction(session_factory()) as session:
        tenant = accounts_service.get_tenant(session, slug)
        issued = accounts_service.issue_token(
            session, tenant=tenant, scopes=tuple(scope), name=name, clock=SystemClock()
        )
        typer.echo(issued.token)


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server afterwards")
    ] = True,
) -> None:
    """Migrate, seed the demo tenant, then serve."""
    from plugin.demo import seed_demo

    settings = get_settings()
    upgrade(settings.database_url)
    summary = seed_demo(session_factory(), settings=settings)
    base = f"http://{host}:{port}"
    typer.echo(summary.describe(base))
    if serve_after:
        serve(host=host, port=port, workers=1)


def main() -> None:
    app()
