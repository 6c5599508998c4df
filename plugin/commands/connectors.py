"""`outcomedesk tenant connect-source | disconnect-source | sources`: a tenant's own account-context sources."""

import json
import os
from typing import Annotated, NoReturn

import typer
from sqlalchemy.orm import Session, sessionmaker

from drafting import connectors
from plugin.accounts import service as accounts_service
from plugin.core.clock import SystemClock
from plugin.core.config import get_settings
from plugin.core.db import make_engine, make_session_factory, transaction
from plugin.core.errors import AppError


def register(tenant_app: typer.Typer) -> None:
    """Attach the connector commands to `outcomedesk tenant`."""
    tenant_app.command("connect-source")(connect_source)
    tenant_app.command("disconnect-source")(disconnect_source)
    tenant_app.command("sources")(list_sources)


def connect_source(
    slug: Annotated[str, typer.Argument(help="Tenant slug")],
    kind: Annotated[str, typer.Argument(help="hubspot, stripe or usage")],
    setting: Annotated[
        list[str] | None, typer.Option(help="NAME=VALUE, e.g. base_url=https://api.hubapi.com (repeatable)")
    ] = None,
    secret_env: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=ENV_VAR: take a secret from the environment, e.g. access_token=HUBSPOT_TOKEN"
        ),
    ] = None,
) -> None:
    """Connect a tenant's CRM, Stripe account or usage API (secrets are read from the environment)."""
    values = dict(_pair(item) for item in setting or [])
    for name, variable in (_pair(item) for item in secret_env or []):
        if not os.environ.get(variable):
            raise typer.BadParameter(f"environment variable {variable} (for {name}) is not set")
        values[name] = os.environ[variable]
    try:
        with transaction(_factory()) as session:
            tenant = accounts_service.get_tenant(session, slug)
            view = connectors.set_connector(
                session,
                tenant_id=tenant.id,
                kind=kind,
                settings=values,
                clock=SystemClock(),
                private_addresses_allowed=get_settings().connector_private_addresses,
            )
    except AppError as error:
        _fail(error)
    typer.echo(f"{slug} now drafts with its own {kind} source: {json.dumps(view.settings)}")


def disconnect_source(
    slug: Annotated[str, typer.Argument(help="Tenant slug")],
    kind: Annotated[str, typer.Argument(help="hubspot, stripe or usage")],
) -> None:
    """Remove one of a tenant's sources (with none left it uses the server's default sources)."""
    try:
        with transaction(_factory()) as session:
            tenant = accounts_service.get_tenant(session, slug)
            connectors.remove_connector(session, tenant_id=tenant.id, kind=kind)
    except AppError as error:
        _fail(error)
    typer.echo(f"{slug} no longer uses its {kind} source")


def list_sources(slug: Annotated[str, typer.Argument(help="Tenant slug")]) -> None:
    """A tenant's sources as JSON (secrets show their last four characters)."""
    try:
        with transaction(_factory()) as session:
            tenant = accounts_service.get_tenant(session, slug)
            views = connectors.list_connectors(session, tenant_id=tenant.id)
    except AppError as error:
        _fail(error)
    typer.echo(json.dumps([{"kind": v.kind, "settings": v.settings} for v in views], indent=2))


def _pair(item: str) -> tuple[str, str]:
    name, equals, value = item.partition("=")
    if not equals or not name.strip():
        raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}")
    return name.strip(), value


def _factory() -> sessionmaker[Session]:
    return make_session_factory(make_engine(get_settings().database_url))


def _fail(error: AppError) -> NoReturn:
    typer.echo(json.dumps({"error": error.error, "detail": error.detail}), err=True)
    raise typer.Exit(2) from error
