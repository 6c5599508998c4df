"""A product-usage JSON API fake: ``GET /usage?email=...`` with scriptable latency and failures."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import serve_in_thread


@dataclass
class FakeUsage:
    """Usage payloads by e-mail; ``requests`` counts calls so tests can see the cache working."""

    usage: dict[str, Any] = field(default_factory=dict)
    latency_s: float = 0.0
    token: str | None = None
    requests: int = 0
    failures: list[int] = field(default_factory=list)

    def seed(self, email: str, payload: Any) -> None:
        self.usage[email.lower()] = payload

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        self.failures.extend([status] * times)


def create_app(state: FakeUsage) -> Starlette:
    async def usage(request: Request) -> Response:
        state.requests += 1
        if state.latency_s:
            await asyncio.sleep(state.latency_s)
        if state.token and request.headers.get("authorization") != f"Bearer {state.token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if state.failures:
            return JSONResponse({"error": "internal"}, status_code=state.failures.pop(0))
        email = request.query_params.get("email", "").lower()
        if email not in state.usage:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(state.usage[email])

    return Starlette(routes=[Route("/usage", usage, methods=["GET"])])


@contextmanager
def running_usage(state: FakeUsage | None = None) -> Iterator[tuple[str, FakeUsage]]:
    """Serve a fake usage API on 127.0.0.1; yields (base_url, state)."""
    state = state or FakeUsage()
    with serve_in_thread(create_app(state)) as base_url:
        yield base_url, state
