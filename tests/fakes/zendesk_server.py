"""A Zendesk Support API v2-compatible fake for tests: the real httpx adapter talks to it over loopback.

Faithful where our code depends on it: `{email}/token:{api_token}` basic auth (401 `Couldn't authenticate
you` otherwise), the ticket JSON and update semantics (`comment`, `status`, `additional_tags`, `tags`, an
`audit` whose events carry the new comment's id), adding tags with `PUT .../tags.json`, comments with
sideloaded users (`include=users`) and `next_page` pagination, and `Idempotency-Key` replay on ticket
writes (same key and body: the first answer again with `x-idempotency-lookup: hit`; same key, other body:
400 `IdempotentRequestError`). Faults are injected with `inject`: a status (with `Retry-After`), a delay,
before or after the update is applied (after: the write happened but the client does not learn it).

Public API:
    with running_zendesk() as (base_url, fake):
        ticket_id = fake.seed_ticket(subject=..., body=..., status="open")
        fake.inject(status=429, retry_after="0.05"), fake.inject(status=500, times=2),
        fake.inject(delay_s=0.5, after_apply=True, method="PUT"), fake.forget_idempotency_keys()
        fake.requests (every request, oldest first), fake.comments[ticket_id], fake.tickets[ticket_id],
        fake.reset() (an empty account again, to share one server between tests)
"""

import asyncio
import base64
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.fakes.server import serve_in_thread

EMAIL = "bot@acme.example"
API_TOKEN = "zd-api-token-6wiIBWbGkBMo1mRDMuVwkw1EPsNkeUj95PIz2akv"
AGENT_ID = 7001
BOT_ID = 7002
PAGE_SIZE = 100


@dataclass
class Fault:
    status: int | None
    delay_s: float
    retry_after: str | None
    after_apply: bool
    method: str | None
    times: int


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    idempotency_key: str | None
    idempotency_lookup: str | None = None
    status: int = 0


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeZendesk:
    """In-memory account state; tickets, comments and users are plain dicts shaped like Zendesk's JSON."""

    base_url: str = ""
    email: str = EMAIL
    api_token: str = API_TOKEN
    tickets: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    requests: list[LoggedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    idempotent: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    page_size: int = PAGE_SIZE
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1001))

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to an empty account, so one running server can serve many tests."""
        for collection in (self.tickets, self.comments, self.users, self.idempotent):
            collection.clear()
        self.requests.clear()
        self.faults.clear()
        self.page_size = PAGE_SIZE
        self.users[AGENT_ID] = {"id": AGENT_ID, "name": "Ada Agent", "email": self.email, "role": "agent"}
        self.users[BOT_ID] = {
            "id": BOT_ID,
            "name": "Outcomedesk",
            "email": "ai@acme.example",
            "role": "agent",
        }

    def seed_ticket(
        self,
        *,
        subject: str = "Card not arrived",
        body: str = "Where is my card?",
        requester_name: str = "Rosa Diaz",
        requester_email: str = "rosa@example.com",
        status: str = "open",
        priority: str | None = "normal",
        tags: tuple[str, ...] = (),
        channel: str = "web",
    ) -> int:
        requester_id = next(self._ids)
        self.users[requester_id] = {
            "id": requester_id,
            "name": requester_name,
            "email": requester_email,
            "role": "end-user",
        }
        ticket_id = next(self._ids)
        now = _now()
        self.tickets[ticket_id] = {
            "url": f"{self.base_url}/api/v2/tickets/{ticket_id}.json",
            "id": ticket_id,
            "subject": subject,
            "description": body,
            "status": status,
            "priority": priority,
            "requester_id": requester_id,
            "submitter_id": requester_id,
            "assignee_id": None,
            "tags": list(tags),
            "via": {"channel": channel, "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": now,
            "updated_at": now,
        }
        self.comments[ticket_id] = []
        self._add_comment(ticket_id, author_id=requester_id, body=body, public=True)
        return ticket_id

    def inject(
        self,
        *,
        status: int | None = None,
        delay_s: float = 0.0,
        retry_after: str | None = None,
        after_apply: bool = False,
        method: str | None = None,
        times: int = 1,
    ) -> None:
        self.faults.append(Fault(status, delay_s, retry_after, after_apply, method, times))

    def forget_idempotency_keys(self) -> None:
        """What Zendesk does once a key is older than its retention window."""
        self.idempotent.clear()

    def writes(self, method: str = "PUT") -> list[LoggedRequest]:
        return [request for request in self.requests if request.method == method]

    def public_comments(self, ticket_id: int) -> list[dict[str, Any]]:
        return [comment for comment in self.comments[ticket_id] if comment["public"]]

    def _add_comment(self, ticket_id: int, *, author_id: int, body: str, public: bool) -> dict[str, Any]:
        comment = {
            "id": next(self._ids),
            "type": "Comment",
            "author_id": author_id,
            "body": body,
            "html_body": f"<div class='zd-comment'><p>{body}</p></div>",
            "plain_body": body,
            "public": public,
            "attachments": [],
            "via": {"channel": "api"},
            "created_at": _now(),
        }
        self.comments[ticket_id].append(comment)
        return comment

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method in (None, method):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _authenticated(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.email}/token:{self.api_token}".encode()).decode()
        return header == f"Basic {expected}"

    def _update(self, ticket_id: int, change: dict[str, Any]) -> dict[str, Any]:
        ticket = self.tickets[ticket_id]
        events: list[dict[str, Any]] = []
        comment = change.get("comment")
        if isinstance(comment, dict) and comment.get("body"):
            author = int(comment.get("author_id") or AGENT_ID)
            added = self._add_comment(
                ticket_id,
                author_id=author,
                body=str(comment["body"]),
                public=bool(comment.get("public", True)),
            )
            events.append(
                {
                    "id": added["id"],
                    "type": "Comment",
                    "author_id": author,
                    "body": added["body"],
                    "public": added["public"],
                    "attachments": [],
                }
            )
            if author != ticket["requester_id"] and ticket["status"] == "new":
                change.setdefault("status", "open")
        if "tags" in change:
            ticket["tags"] = sorted(set(change["tags"]))
        for tag in change.get("additional_tags") or ():
            if tag not in ticket["tags"]:
                ticket["tags"].append(tag)
        status = change.get("status")
        if status and status != ticket["status"]:
            events.append(
                {
                    "id": next(self._ids),
                    "type": "Change",
                    "field_name": "status",
                    "value": status,
                    "previous_value": ticket["status"],
                }
            )
            ticket["status"] = status
        ticket["updated_at"] = _now()
        audit = {
            "id": next(self._ids),
            "ticket_id": ticket_id,
            "created_at": ticket["updated_at"],
            "author_id": AGENT_ID,
            "events": events,
        }
        return {"ticket": dict(ticket), "audit": audit}


def _error(status: int, error: str, description: str | None = None) -> JSONResponse:
    body: dict[str, Any] = {"error": error}
    if description:
        body["description"] = description
    return JSONResponse(body, status_code=status)


def create_app(fake: FakeZendesk) -> FastAPI:
    app = FastAPI(openapi_url=None)

    async def handle(request: Request, ticket_id: int, operation: str) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        key = request.headers.get("idempotency-key")
        logged = LoggedRequest(
            request.method, request.url.path, request.url.query, dict(request.headers), body, key
        )
        fake.requests.append(logged)
        response = await respond(request, ticket_id, operation, body, key, logged)
        logged.status = response.status_code
        return response

    async def respond(
        request: Request, ticket_id: int, operation: str, body: Any, key: str | None, logged: LoggedRequest
    ) -> Response:
        if not fake._authenticated(request.headers.get("authorization")):
            return _error(401, "Couldn't authenticate you")
        fault = fake._take_fault(request.method)
        if fault and not fault.after_apply:
            await asyncio.sleep(fault.delay_s)
            if fault.status:
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
                return JSONResponse({"error": "injected"}, status_code=fault.status, headers=headers)
        if ticket_id not in fake.tickets:
            return _error(404, "RecordNotFound", "Not found")
        writes = request.method in {"PUT", "POST"} and operation == "ticket"
        fingerprint = json.dumps([request.method, request.url.path, body], sort_keys=True)
        if writes and key:
            stored = fake.idempotent.get(key)
            if stored is not None:
                if stored[0] != fingerprint:
                    return _error(
                        400,
                        "IdempotentRequestError",
                        "The request parameters differ from the original request",
                    )
                logged.idempotency_lookup = "hit"
                return JSONResponse(stored[2], status_code=stored[1], headers={"x-idempotency-lookup": "hit"})
            logged.idempotency_lookup = "miss"
        status, document = 200, apply(request.method, ticket_id, operation, body, request)
        if isinstance(document, Response):
            return document
        if writes and key:
            fake.idempotent[key] = (fingerprint, status, document)
        if fault and fault.after_apply:
            await asyncio.sleep(fault.delay_s)
            if fault.status:
                return JSONResponse({"error": "injected"}, status_code=fault.status)
        headers = {"x-idempotency-lookup": "miss"} if writes and key else None
        return JSONResponse(document, status_code=status, headers=headers)

    def apply(method: str, ticket_id: int, operation: str, body: Any, request: Request) -> Any:
        ticket = fake.tickets[ticket_id]
        if operation == "ticket" and method == "GET":
            document: dict[str, Any] = {"ticket": ticket}
            if request.query_params.get("include") == "users":
                document["users"] = [fake.users[ticket["requester_id"]]]
            return document
        if operation == "ticket":
            change = body.get("ticket") if isinstance(body, dict) else None
            if not isinstance(change, dict):
                return _error(400, "InvalidEndpoint", "ticket is required")
            if ticket["status"] == "closed":
                return _error(422, "RecordInvalid", "Status: closed prevents ticket update")
            return fake._update(ticket_id, change)
        if operation == "tags":
            tags = body.get("tags") if isinstance(body, dict) else None
            if not isinstance(tags, list):
                return _error(400, "InvalidEndpoint", "tags is required")
            fake._update(ticket_id, {"additional_tags": tags})
            return {"tags": ticket["tags"]}
        page = int(request.query_params.get("page", "1"))
        everything = fake.comments[ticket_id]
        chunk = everything[(page - 1) * fake.page_size : page * fake.page_size]
        include = request.query_params.get("include")
        following = f"{fake.base_url}/api/v2/tickets/{ticket_id}/comments.json?page={page + 1}"
        if include:
            following += f"&include={include}"
        document = {
            "comments": chunk,
            "next_page": following if page * fake.page_size < len(everything) else None,
            "previous_page": None,
            "count": len(everything),
        }
        if include == "users":
            authors = {comment["author_id"] for comment in chunk}
            document["users"] = [fake.users[author] for author in sorted(authors) if author in fake.users]
        return document

    @app.api_route("/api/v2/tickets/{ticket_id:int}.json", methods=["GET", "PUT"])
    async def ticket(request: Request, ticket_id: int) -> Response:
        return await handle(request, ticket_id, "ticket")

    @app.put("/api/v2/tickets/{ticket_id:int}/tags.json")
    async def tags(request: Request, ticket_id: int) -> Response:
        return await handle(request, ticket_id, "tags")

    @app.get("/api/v2/tickets/{ticket_id:int}/comments.json")
    async def comments(request: Request, ticket_id: int) -> Response:
        return await handle(request, ticket_id, "comments")

    return app


@contextmanager
def running_zendesk(fake: FakeZendesk | None = None) -> Iterator[tuple[str, FakeZendesk]]:
    """Serve a fake Zendesk account on loopback; yields its base URL and its state."""
    fake = fake or FakeZendesk()
    with serve_in_thread(create_app(fake)) as base_url:
        fake.base_url = base_url
        yield base_url, fake
