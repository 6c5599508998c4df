"""The `outcomedesk` command line."""

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from plugin.accounts import service as accounts_service
from plugin.accounts.scopes import Scope
from plugin.commands import billing as billing_commands
from plugin.commands import connectors as connector_commands
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
tenant_app = typer.Typer(help="Tenants, their API tokens and their connections.", no_args_is_help=True)
app.add_typer(tenant_app, name="tenant")
secrets_app = typer.Typer(help="Stored credentials (sealed at rest).", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")
app.add_typer(billing_commands.app, name="billing")
app.add_typer(metrics_commands.app, name="metrics")
drafting_commands.register(app)
connector_commands.register(tenant_app)
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
    lease_seconds: Annotated[
        int, typer.Option(min=1, help="How long a claimed job is ours before others may retry it")
    ] = 120,
) -> None:
    """Run background jobs (drafts, auto-resolutions, settlements); run as many as you like on PostgreSQL."""
    import asyncio
    from datetime import timedelta

    from plugin.runtime import build_worker
    from plugin.wiring import share_cores_between_drafts

    share_cores_between_drafts()
    worker_ = build_worker(
        get_settings(), session_factory(), SystemClock(), lease=timedelta(seconds=lease_seconds)
    )
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


@tenant_app.command("grant")
def tenant_grant(
    slug: Annotated[str, typer.Argument(help="Tenant slug (the Zendesk subdomain)")],
    zendesk_user: Annotated[int, typer.Option(help="Zendesk user id")],
    role: Annotated[Scope, typer.Option(help="Role to grant")] = Scope.MANAGER,
) -> None:
    """Let a Zendesk user open the pages of a role (e.g. the manager dashboard in the nav bar)."""
    from plugin.api.zendesk_app import zendesk_user_email

    with transaction(session_factory()) as session:
        tenant = accounts_service.get_tenant(session, slug)
        accounts_service.grant_role(
            session,
            tenant=tenant,
            email=zendesk_user_email(slug, zendesk_user),
            role=role,
            clock=SystemClock(),
        )
    typer.echo(f"Zendesk user {zendesk_user} of {slug} is now {role.value}")


@tenant_app.command("connect-zendesk")
def tenant_connect_zendesk(
    slug: Annotated[str, typer.Argument(help="Tenant slug (the Zendesk subdomain)")],
    email: Annotated[str, typer.Option(help="Zendesk API user (agent) email")],
    api_token_env: Annotated[
        str, typer.Option(help="Name of the environment variable holding the API token")
    ] = "ZENDESK_API_TOKEN",
    app_public_key: Annotated[
        Path | None, typer.Option(help="PEM of the app's public key (signed URLs)")
    ] = None,
    installation_id: Annotated[int | None, typer.Option(help="The app installation id")] = None,
    bot_user_id: Annotated[str | None, typer.Option(help="Zendesk user the AI replies as")] = None,
) -> None:
    """Connect a tenant to its Zendesk account (REST API credentials and the app's signing key)."""
    import os

    token = os.environ.get(api_token_env)
    if not token:
        raise typer.BadParameter(
            f"set {api_token_env} to the Zendesk API token (it is not read from the command line)"
        )
    with transaction(session_factory()) as session:
        tenant = accounts_service.get_tenant(session, slug)
        tenant.helpdesk = "zendesk"
        tenant.zendesk_subdomain, tenant.zendesk_email, tenant.zendesk_api_token = slug, email, token
        tenant.bot_user_id = bot_user_id
        tenant.zendesk_installation_id = installation_id
        if app_public_key is not None:
            tenant.zendesk_app_public_key = app_public_key.read_text()
    typer.echo(f"{slug} now uses Zendesk {slug}.zendesk.com")


@app.command()
def simulate(
    days: Annotated[int, typer.Option(min=1, max=365, help="Days of traffic, ending now")] = 30,
    tickets_per_day: Annotated[int, typer.Option(min=1, max=5000)] = 40,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
) -> None:
    """Simulate customers and agents on the demo tenant, through the real pipeline, in both arms."""
    from plugin.demo import seed_demo
    from plugin.simulation import SimulationConfig, run_simulation

    settings = get_settings()
    upgrade(settings.database_url)
    factory = session_factory()
    seed_demo(factory, data_dir=settings.data_dir, clock=SystemClock())
    result = run_simulation(
        factory,
        settings=settings,
        config=SimulationConfig(days=days, tickets_per_day=tickets_per_day, seed=seed),
    )
    typer.echo(result.describe())


@app.command()
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    days: Annotated[int, typer.Option(min=0, max=365, help="Days of simulated traffic (0: none)")] = 30,
    tickets_per_day: Annotated[int, typer.Option(min=1, max=5000)] = 40,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Start the server afterwards")
    ] = True,
) -> None:
    """Migrate, seed the demo tenant, simulate a month of traffic through the real pipeline, then serve."""
    from plugin.demo import seed_demo
    from plugin.simulation import SimulationConfig, run_simulation, simulated_already

    settings = get_settings()
    upgrade(settings.database_url)
    factory = session_factory()
    summary = seed_demo(factory, data_dir=settings.data_dir, clock=SystemClock())
    if days and not simulated_already(factory):
        result = run_simulation(
            factory, settings=settings, config=SimulationConfig(days=days, tickets_per_day=tickets_per_day)
        )
        typer.echo(result.describe())
    typer.echo(summary.describe(f"http://{host}:{port}"))
    if serve_after:
        # One process serves the pages and drains the outbox, so tickets written in the demo helpdesk get drafts.
        os.environ["RUN_WORKER"] = "1"
        get_settings.cache_clear()
        serve(host=host, port=port, workers=1)


@secrets_app.command("reseal")
def secrets_reseal() -> None:
    """Seal every stored credential with the first key of SECRET_KEYS (after adding a key, or to seal values
    stored before sealing existed); then older keys can be dropped."""
    from plugin.core.db import Base
    from plugin.core.sealing import process_keyring, reseal_all
    from plugin.models import load_all_models

    load_all_models()
    with transaction(session_factory()) as session:
        rewritten = reseal_all(session, Base.metadata, process_keyring())
    typer.echo(f"{rewritten} stored secrets sealed with the newest key")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
