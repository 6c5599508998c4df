"""Product-usage facts from the product's own database (SQLAlchemy) or from an HTTP JSON endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from drafting.context.base import CustomerRef, Fact
from drafting.context.gather import PerLoop, fact, format_date, format_number
from plugin.core.errors import UpstreamFailed, UpstreamTimeout


class SqlUsageSource:
    """Runs one parameterised query (``:email`` and ``:external_id`` are bound) against the product database.

    The query returns either rows of ``key, value`` (optionally ``label``), one fact per row, or a single
    row whose columns are the facts. Keys are prefixed ``usage_`` unless they already are.
    """

    def __init__(
        self, *, url: str | None = None, engine: Engine | None = None, query: str, name: str = "usage"
    ) -> None:
        if (url is None) == (engine is None):
            raise ValueError("SqlUsageSource needs exactly one of url or engine")
        self.name = name
        self._engine = engine if engine is not None else create_engine(url or "", pool_pre_ping=True)
        self._query = text(query)

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        # The sync engine runs in a worker thread so a slow database never blocks the event loop.
        rows = await asyncio.to_thread(self._rows, customer)
        if not rows:
            return ()
        columns = set(rows[0])
        if {"key", "value"} <= columns:
            return tuple(
                _usage_fact(self.name, str(row["key"]), row.get("label"), row["value"])
                for row in rows
                if row["value"] is not None
            )
        return tuple(
            _usage_fact(self.name, column, None, value)
            for column, value in rows[0].items()
            if value is not None
        )

    def _rows(self, customer: CustomerRef) -> list[dict[str, Any]]:
        try:
            with self._engine.connect() as connection:
                result = connection.execute(
                    self._query, {"email": customer.email, "external_id": customer.external_id}
                )
                return [dict(row) for row in result.mappings()]
        except SQLAlchemyError as exc:
            # SQLAlchemy messages quote the SQL and its parameters; the type is enough for the agent.
            raise UpstreamFailed(f"usage database query failed ({type(exc).__name__})") from exc


class HttpUsageSource:
    """``GET {base_url}/usage?email=...``: ``{"facts": [{"key", "value", "label"}]}`` or a flat object."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str | None = None,
        path: str = "/usage",
        name: str = "usage",
        client: httpx.AsyncClient | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.name = name
        self._url = f"{base_url.rstrip('/')}{path}"
        self._headers = {"Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._client = client
        self._owned = PerLoop(httpx.AsyncClient, lambda owned: owned.aclose())
        self._timeout = timeout_s

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        params = {"email": customer.email}
        if customer.external_id:
            params["external_id"] = customer.external_id
        client = self._client or self._owned.get()
        try:
            response = await client.get(
                self._url, params=params, headers=self._headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout("usage service did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamFailed(f"usage service unreachable ({type(exc).__name__})") from exc
        if response.status_code == 404:
            return ()
        if response.status_code >= 400:
            raise UpstreamFailed(f"usage service returned HTTP {response.status_code}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise UpstreamFailed("usage service returned a body that is not JSON") from exc
        return self._facts(payload)

    async def aclose(self) -> None:
        await self._owned.aclose()

    def _facts(self, payload: object) -> tuple[Fact, ...]:
        if not isinstance(payload, Mapping):
            raise UpstreamFailed("usage service returned an unexpected JSON shape")
        items = payload.get("facts")
        if isinstance(items, list):
            return tuple(
                _usage_fact(self.name, str(item["key"]), item.get("label"), item["value"])
                for item in items
                if isinstance(item, Mapping) and "key" in item and item.get("value") is not None
            )
        return tuple(
            _usage_fact(self.name, str(key), None, value)
            for key, value in payload.items()
            if value is not None and not isinstance(value, Mapping | list)
        )


def _usage_fact(source: str, key: str, label: object, value: object) -> Fact:
    bare = key.removeprefix("usage_")
    shown_label = str(label) if label else bare.replace("_", " ").capitalize()
    return fact(source, f"usage_{bare}", shown_label, _display(value))


def _display(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return format_date(value)
    if isinstance(value, int | float | Decimal):
        return format_number(value)
    return str(value).strip()
