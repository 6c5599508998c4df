"""A HubSpot CRM v3-compatible fake: contact search and reads (by id or e-mail, with associations), company and
deal reads, bearer auth."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import serve_in_thread

TOKEN = "pat-na1-test-token"


@dataclass
class FakeHubSpot:
    """The fake's state; tests seed it and read ``requests`` to see what the client did."""

    token: str = TOKEN
    latency_s: float = 0.0
    contacts: dict[str, dict[str, str]] = field(default_factory=dict)
    companies: dict[str, dict[str, str]] = field(default_factory=dict)
    deals: dict[str, dict[str, str]] = field(default_factory=dict)
    contact_companies: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    contact_deals: dict[str, list[str]] = field(default_factory=dict)
    requests: Counter[str] = field(default_factory=Counter)
    failures: list[int] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(101))

    def seed_contact(self, email: str, **properties: str) -> str:
        contact_id = str(next(self._ids))
        self.contacts[contact_id] = {"email": email, "hs_object_id": contact_id, **properties}
        return contact_id

    def seed_company(self, contact_id: str, *, label: str | None = "Primary", **properties: str) -> str:
        company_id = str(next(self._ids))
        self.companies[company_id] = {"hs_object_id": company_id, **properties}
        self.contact_companies.setdefault(contact_id, []).append((company_id, label))
        if label == "Primary":
            # HubSpot mirrors the primary association into the contact's associatedcompanyid property.
            self.contacts[contact_id]["associatedcompanyid"] = company_id
        return company_id

    def seed_deal(self, contact_id: str, **properties: str) -> str:
        deal_id = str(next(self._ids))
        self.deals[deal_id] = {"hs_object_id": deal_id, **properties}
        self.contact_deals.setdefault(contact_id, []).append(deal_id)
        return deal_id

    def fail_next(self, status: int = 500, times: int = 1) -> None:
        self.failures.extend([status] * times)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


def _object(object_id: str, properties: dict[str, str], wanted: list[str] | None) -> dict[str, Any]:
    shown = properties if wanted is None else {name: properties.get(name) for name in wanted}
    return {
        "id": object_id,
        "properties": {**shown, "hs_object_id": object_id},
        "createdAt": "2024-01-02T03:04:05.000Z",
        "updatedAt": "2024-01-02T03:04:05.000Z",
        "archived": False,
    }


def _error(status: int, message: str, category: str) -> JSONResponse:
    return JSONResponse(
        {"status": "error", "message": message, "correlationId": "00000000-fake", "category": category},
        status_code=status,
    )


def create_app(state: FakeHubSpot) -> Starlette:
    async def guard(request: Request) -> JSONResponse | None:
        state.requests[f"{request.method} {request.url.path}"] += 1
        if state.latency_s:
            await asyncio.sleep(state.latency_s)
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
        if state.failures:
            return _error(state.failures.pop(0), "Internal error", "INTERNAL_ERROR")
        return None

    async def search_contacts(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        body = await request.json()
        matches = []
        for contact_id, properties in state.contacts.items():
            for group in body.get("filterGroups", []):
                if all(_matches(properties, condition) for condition in group.get("filters", [])):
                    matches.append(_object(contact_id, properties, body.get("properties")))
                    break
        limit = int(body.get("limit", 10))
        return JSONResponse({"total": len(matches), "results": matches[:limit]})

    async def read_contact(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        key, id_property = request.path_params["contact_id"], request.query_params.get("idProperty")
        if id_property is None:
            contact_id = key if key in state.contacts else None
        elif id_property == "email":
            # Like search, the read by e-mail ignores the address's case.
            contact_id = next(
                (found for found, properties in state.contacts.items() if _same_email(properties, key)), None
            )
        else:
            return _error(400, f"{id_property} is not a unique identifier property", "VALIDATION_ERROR")
        if contact_id is None:
            return _error(404, f"Object {key} not found", "OBJECT_NOT_FOUND")
        wanted = request.query_params.get("properties")
        body = _object(contact_id, state.contacts[contact_id], wanted.split(",") if wanted else None)
        kinds = request.query_params.get("associations")
        links = {
            kind: {"results": results}
            for kind in (kinds.split(",") if kinds else [])
            if (results := _contact_links(state, contact_id, kind))
        }
        if links:
            body["associations"] = links
        return JSONResponse(body)

    async def company(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        company_id = request.path_params["company_id"]
        if company_id not in state.companies:
            return _error(404, f"Object {company_id} not found", "OBJECT_NOT_FOUND")
        wanted = request.query_params.get("properties")
        return JSONResponse(
            _object(company_id, state.companies[company_id], wanted.split(",") if wanted else None)
        )

    async def read_deals(request: Request) -> JSONResponse:
        if (denied := await guard(request)) is not None:
            return denied
        body = await request.json()
        wanted = body.get("properties")
        results = [
            _object(item["id"], state.deals[item["id"]], wanted)
            for item in body["inputs"]
            if item["id"] in state.deals
        ]
        return JSONResponse({"status": "COMPLETE", "results": results, "startedAt": "", "completedAt": ""})

    return Starlette(
        routes=[
            Route("/crm/v3/objects/contacts/search", search_contacts, methods=["POST"]),
            Route("/crm/v3/objects/contacts/{contact_id}", read_contact, methods=["GET"]),
            Route("/crm/v3/objects/companies/{company_id}", company, methods=["GET"]),
            Route("/crm/v3/objects/deals/batch/read", read_deals, methods=["POST"]),
        ]
    )


def _contact_links(state: FakeHubSpot, contact_id: str, kind: str) -> list[dict[str, str]]:
    """A contact's associations as v3 reads list them: once per association type, ids as strings."""
    if kind == "companies":
        links = []
        for company_id, label in state.contact_companies.get(contact_id, []):
            if label == "Primary":
                links.append({"id": company_id, "type": "contact_to_company"})
            links.append({"id": company_id, "type": "contact_to_company_unlabeled"})
        return links
    if kind == "deals":
        return [
            {"id": deal_id, "type": "contact_to_deal"} for deal_id in state.contact_deals.get(contact_id, [])
        ]
    return []


def _same_email(properties: dict[str, str], address: str) -> bool:
    return (properties.get("email") or "").lower() == address.lower()


def _matches(properties: dict[str, str], condition: dict[str, Any]) -> bool:
    value = properties.get(condition["propertyName"])
    if condition.get("operator", "EQ") != "EQ":
        raise ValueError(f"fake supports EQ only, got {condition['operator']}")
    # HubSpot compares e-mail addresses case-insensitively.
    return value is not None and value.lower() == str(condition["value"]).lower()


@contextmanager
def running_hubspot(state: FakeHubSpot | None = None) -> Iterator[tuple[str, FakeHubSpot]]:
    """Serve a fake HubSpot on 127.0.0.1; yields (base_url, state)."""
    state = state or FakeHubSpot()
    with serve_in_thread(create_app(state)) as base_url:
        yield base_url, state
