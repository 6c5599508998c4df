"""A tenant's own account-context sources: the kinds there are, what each needs, and the sources built from them.

Each tenant connects its own CRM (HubSpot), Stripe account and product-usage API; a tenant with none uses
the process's sources (environment settings, or the demo's local data). Secrets are write-only through
the API: reads show their last four characters.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from drafting import repository
from drafting.context.base import ContextSource
from plugin.core.clock import Clock
from plugin.core.errors import InvalidPayload, NotFound

ConnectorKind = Literal["hubspot", "stripe", "usage"]
KINDS: tuple[str, ...] = get_args(ConnectorKind)
MAX_VALUE_LENGTH = 2000


@dataclass(frozen=True)
class ConnectorSpec:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()


SPECS: dict[str, ConnectorSpec] = {
    "hubspot": ConnectorSpec(("access_token",), ("base_url",), ("access_token",), ("base_url",)),
    "stripe": ConnectorSpec(("api_key",), ("base_url",), ("api_key",), ("base_url",)),
    "usage": ConnectorSpec(("base_url",), ("token", "path"), ("token",), ("base_url",)),
}


@dataclass(frozen=True)
class ConnectorView:
    kind: str
    settings: dict[str, str]
    """Secrets masked."""
    updated_at: datetime


ConnectorConfig = tuple[tuple[str, str], ...]
"""A tenant's connectors as ``(kind, settings JSON)`` pairs in kind order: what sources are built from."""


class InvalidConnector(InvalidPayload):
    error = "invalid_connector"


def validate_settings(
    kind: str, settings: Mapping[str, object], *, private_addresses_allowed: bool = False
) -> dict[str, str]:
    """The settings as stored, or ``InvalidConnector`` naming what is wrong.

    Addresses are tenant-supplied and fetched by our servers, so by default they must lead to the public
    internet: a private, loopback or link-local address (the cloud metadata service, our own database)
    is refused unless the deployment allows it (on-premises usage APIs, tests).
    """
    spec = SPECS.get(kind)
    if spec is None:
        raise InvalidConnector(f"unknown connector {kind!r}; one of {list(KINDS)}")
    unknown = sorted(set(settings) - set(spec.required) - set(spec.optional))
    if unknown:
        raise InvalidConnector(f"{kind} does not take {unknown}; it takes {[*spec.required, *spec.optional]}")
    missing = [name for name in spec.required if not settings.get(name)]
    if missing:
        raise InvalidConnector(f"{kind} needs {missing}")
    clean: dict[str, str] = {}
    for name, value in settings.items():
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_VALUE_LENGTH:
            raise InvalidConnector(
                f"{kind}.{name} must be a non-empty string of at most {MAX_VALUE_LENGTH} characters"
            )
        clean[name] = value.strip()
    for name in spec.urls:
        if name in clean:
            _check_url(kind, name, clean[name], private_addresses_allowed)
    if "path" in clean and not clean["path"].startswith("/"):
        raise InvalidConnector(f"{kind}.path must start with '/'")
    if kind == "stripe" and not clean["api_key"].startswith(("sk_", "rk_")):
        raise InvalidConnector("stripe.api_key must be a secret (sk_...) or restricted (rk_...) key")
    return clean


def _check_url(kind: str, name: str, url: str, private_addresses_allowed: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InvalidConnector(f"{kind}.{name} must be an http(s) address, not {url!r}")
    if private_addresses_allowed:
        return
    for address in resolved_addresses(parts.hostname):
        if not address.is_global:
            raise InvalidConnector(
                f"{kind}.{name} leads to {address}, which is not a public address "
                "(private, loopback and link-local addresses are refused unless CONNECTOR_PRIVATE_ADDRESSES=1)"
            )


def resolved_addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """What ``host`` resolves to now; nothing when it does not resolve (the source then fails when used
    and the draft's context is flagged partial, so an unknown name cannot reach anything either)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers]


def masked(kind: str, settings: Mapping[str, str]) -> dict[str, str]:
    secrets = SPECS[kind].secrets
    return {name: "…" + value[-4:] if name in secrets else value for name, value in settings.items()}


def set_connector(
    session: Session,
    *,
    tenant_id: int,
    kind: str,
    settings: Mapping[str, object],
    clock: Clock,
    private_addresses_allowed: bool = False,
) -> ConnectorView:
    """Connect (or reconnect) one of the tenant's context sources."""
    clean = validate_settings(kind, settings, private_addresses_allowed=private_addresses_allowed)
    now = clock.now()
    repository.put_connector(session, tenant_id=tenant_id, kind=kind, settings=json.dumps(clean), now=now)
    return ConnectorView(kind, masked(kind, clean), now)


def list_connectors(session: Session, *, tenant_id: int) -> list[ConnectorView]:
    """The tenant's connectors, secrets masked."""
    return [
        ConnectorView(row.kind, masked(row.kind, json.loads(row.settings)), row.updated_at)
        for row in repository.connectors(session, tenant_id)
        if row.kind in SPECS
    ]


def remove_connector(session: Session, *, tenant_id: int, kind: str) -> None:
    """Disconnect one of the tenant's context sources."""
    if not repository.delete_connector(session, tenant_id, kind):
        raise NotFound(f"no {kind} connector for this tenant")


def tenant_config(session: Session, *, tenant_id: int) -> ConnectorConfig:
    """What the tenant's sources are built from; empty when it connected none."""
    return tuple(
        (row.kind, row.settings) for row in repository.connectors(session, tenant_id) if row.kind in SPECS
    )


def build_sources(config: ConnectorConfig) -> tuple[ContextSource, ...]:
    return tuple(build_source(kind, json.loads(settings)) for kind, settings in config)


def build_source(kind: str, settings: Mapping[str, str]) -> ContextSource:
    if kind == "hubspot":
        from drafting.context.crm import HUBSPOT_API, HubSpotSource

        return HubSpotSource(
            access_token=settings["access_token"], base_url=settings.get("base_url", HUBSPOT_API)
        )
    if kind == "stripe":
        from drafting.context.stripe_source import StripeSource

        return StripeSource(api_key=settings["api_key"], base_url=settings.get("base_url"))
    if kind == "usage":
        from drafting.context.product import HttpUsageSource

        return HttpUsageSource(
            base_url=settings["base_url"], token=settings.get("token"), path=settings.get("path", "/usage")
        )
    raise InvalidConnector(f"unknown connector {kind!r}")
