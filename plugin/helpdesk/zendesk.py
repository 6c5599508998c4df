"""The Zendesk Support REST adapter (API v2 over httpx): replies, notes, solve, tags, reading a ticket.

Failures are bounded and translated: a 429 waits the `Retry-After` Zendesk sends (a wait longer than
`max_retry_after_s` fails at once, so the job is rescheduled instead of holding a worker), 409 update
conflicts, 5xx, timeouts and dropped connections back off exponentially, all within `attempts`; what is
left becomes `UpstreamTimeout` (504) or `UpstreamFailed` (502). The API token is only ever in the
`Authorization` header, never in a message, log line or repr.

A reply or note is posted once however often it is retried: each write sends `Idempotency-Key` (Zendesk
replays the first answer for a while instead of applying the update again) and adds a marker tag derived
from the key in the same update; the marker is checked before writing, which also covers a job retried
after a crash or after Zendesk has forgotten the key.
"""

import asyncio
import hashlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from plugin.core.errors import UpstreamFailed, UpstreamTimeout
from plugin.helpdesk.base import HelpdeskComment, HelpdeskTicket, PostedComment

logger = logging.getLogger(__name__)

MARKER_PREFIX = "outcomedesk_"
RETRYABLE_STATUSES = frozenset({409, 500, 502, 503, 504})
MAX_COMMENT_PAGES = 50

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    max_retry_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")

    def backoff(self, failed_attempt: int) -> float:
        """Exponential backoff with jitter, so workers that failed together do not retry together."""
        ceiling = min(self.backoff_max_s, self.backoff_initial_s * 2 ** (failed_attempt - 1))
        return random.uniform(ceiling / 2, ceiling)


def reply_marker(idempotency_key: str) -> str:
    """The tag that records on the ticket itself that the write with this key happened."""
    return MARKER_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()[:20]


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds from now; it may be delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def _timestamp(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _lower(value: Any) -> str | None:
    return str(value).lower() if value else None


def _describe(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return ""
    if not isinstance(document, dict):
        return ""
    error: Any = document.get("error")
    description: Any = document.get("description")
    if isinstance(error, dict):
        error, description = error.get("title"), error.get("message")
    text = ": ".join(str(part) for part in (error, description) if part)
    return f" ({text[:200]})" if text else ""


def _document(response: httpx.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        document = response.json()
    except ValueError as error:
        raise UpstreamFailed("zendesk answered with a body that is not JSON") from error
    if not isinstance(document, dict):
        raise UpstreamFailed("zendesk answered with JSON that is not an object")
    return document


def parse_ticket(document: dict[str, Any], users: dict[str, dict[str, Any]] | None = None) -> HelpdeskTicket:
    via = document.get("via") or {}
    requester_id = str(document.get("requester_id") or "")
    requester = (users or {}).get(requester_id, {})
    return HelpdeskTicket(
        ticket_id=str(document["id"]),
        subject=str(document.get("subject") or ""),
        status=_lower(document.get("status")) or "new",
        priority=_lower(document.get("priority")),
        requester_id=requester_id,
        channel=via.get("channel") if isinstance(via, dict) else None,
        tags=tuple(str(tag) for tag in document.get("tags") or ()),
        created_at=_timestamp(document["created_at"]),
        updated_at=_timestamp(document.get("updated_at") or document["created_at"]),
        requester_name=requester.get("name"),
        requester_email=requester.get("email"),
    )


def parse_comment(
    document: dict[str, Any], ticket_id: str, roles: dict[str, str], requester_id: str | None
) -> HelpdeskComment:
    author_id = str(document.get("author_id") or "")
    role = roles.get(author_id)
    return HelpdeskComment(
        comment_id=str(document["id"]),
        ticket_id=ticket_id,
        author_id=author_id,
        body=str(document.get("plain_body") or document.get("body") or ""),
        public=bool(document.get("public", True)),
        from_customer=role == "end-user" if role else author_id == requester_id,
        created_at=_timestamp(document["created_at"]),
    )


class ZendeskHelpdesk:
    """One Zendesk account, authenticated as `{email}/token` with an API token."""

    def __init__(
        self,
        base_url: str,
        *,
        email: str,
        api_token: str,
        bot_user_id: str | None = None,
        timeout_s: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._email = email
        self._bot_user_id = bot_user_id
        self._retry = retry
        self._sleep = sleep
        self._client = httpx.AsyncClient(
            base_url=self._base_url,
            auth=httpx.BasicAuth(f"{email}/token", api_token),
            timeout=timeout_s,
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "outcomedesk"},
        )

    @classmethod
    def for_subdomain(cls, subdomain: str, *, email: str, api_token: str, **options: Any) -> Self:
        return cls(f"https://{subdomain}.zendesk.com", email=email, api_token=api_token, **options)

    def __repr__(self) -> str:
        return f"ZendeskHelpdesk({self._base_url!r}, email={self._email!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def post_reply(self, ticket_id: str, body: str, *, idempotency_key: str) -> PostedComment:
        """Post a public comment (as the bot user when one is configured)."""
        return await self._comment(ticket_id, body, public=True, idempotency_key=idempotency_key)

    async def add_note(self, ticket_id: str, body: str, *, idempotency_key: str) -> PostedComment:
        """Add an internal note, visible to agents only."""
        return await self._comment(ticket_id, body, public=False, idempotency_key=idempotency_key)

    async def solve(self, ticket_id: str) -> None:
        """Set the ticket to solved; solving a solved ticket changes nothing."""
        await self._request("PUT", f"/api/v2/tickets/{ticket_id}.json", json={"ticket": {"status": "solved"}})

    async def add_tags(self, ticket_id: str, tags: list[str]) -> None:
        """Add tags, keeping the ticket's others (PUT adds; POST would replace them all)."""
        await self._request("PUT", f"/api/v2/tickets/{ticket_id}/tags.json", json={"tags": tags})

    async def get_ticket(self, ticket_id: str) -> HelpdeskTicket:
        document = await self._request(
            "GET", f"/api/v2/tickets/{ticket_id}.json", params={"include": "users"}
        )
        users = {str(user.get("id")): user for user in document.get("users") or ()}
        return self._parsed(lambda: parse_ticket(document["ticket"], users))

    async def list_comments(self, ticket_id: str) -> list[HelpdeskComment]:
        """Every comment of the ticket, oldest first, following pagination on this account only."""
        pages: list[dict[str, Any]] = []
        path: str | None = f"/api/v2/tickets/{ticket_id}/comments.json"
        params: dict[str, str] | None = {"include": "users"}
        while path is not None and len(pages) < MAX_COMMENT_PAGES:
            pages.append(await self._request("GET", path, params=params))
            path, params = self._next_page(pages[-1]), None
        roles = {
            str(user.get("id")): str(user.get("role")) for page in pages for user in page.get("users") or ()
        }
        items = [item for page in pages for item in page.get("comments") or ()]
        requester_id = None
        if any(str(item.get("author_id")) not in roles for item in items):
            requester_id = (await self.get_ticket(ticket_id)).requester_id
        return self._parsed(lambda: [parse_comment(item, ticket_id, roles, requester_id) for item in items])

    async def _comment(
        self, ticket_id: str, body: str, *, public: bool, idempotency_key: str
    ) -> PostedComment:
        marker = reply_marker(idempotency_key)
        already = await self._find_marked_comment(ticket_id, marker, body, public=public)
        if already is not None:
            logger.info(
                "zendesk ticket %s already has the comment for this key; not posting again", ticket_id
            )
            return already
        comment: dict[str, Any] = {"body": body, "public": public}
        if self._bot_user_id:
            comment["author_id"] = (
                int(self._bot_user_id) if self._bot_user_id.isdigit() else self._bot_user_id
            )
        document = await self._request(
            "PUT",
            f"/api/v2/tickets/{ticket_id}.json",
            json={"ticket": {"comment": comment, "additional_tags": [marker]}},
            idempotency_key=idempotency_key,
        )
        events = (document.get("audit") or {}).get("events") or ()
        comment_id = next((str(event["id"]) for event in events if event.get("type") == "Comment"), None)
        if comment_id is None:
            found = await self._find_marked_comment(ticket_id, marker, body, public=public)
            comment_id = found.comment_id if found else ""
        return PostedComment(comment_id=comment_id, ticket_id=ticket_id, public=public)

    async def _find_marked_comment(
        self, ticket_id: str, marker: str, body: str, *, public: bool
    ) -> PostedComment | None:
        if marker not in (await self.get_ticket(ticket_id)).tags:
            return None
        staff = [
            comment
            for comment in await self.list_comments(ticket_id)
            if not comment.from_customer and comment.public == public
        ]
        same_text = [comment for comment in staff if comment.body.strip() == body.strip()]
        candidates = same_text or staff
        return PostedComment(candidates[-1].comment_id if candidates else "", ticket_id, public)

    def _next_page(self, document: dict[str, Any]) -> str | None:
        following = document.get("next_page")
        if not following and (document.get("meta") or {}).get("has_more"):
            following = (document.get("links") or {}).get("next")
        if not following:
            return None
        # Credentials go with every request: never follow a link off this account.
        if not str(following).startswith(self._base_url + "/"):
            logger.warning("zendesk pagination pointed off the account; stopping")
            return None
        return str(following)

    @staticmethod
    def _parsed(build: Callable[[], T]) -> T:
        try:
            return build()
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise UpstreamFailed(
                f"zendesk answered an unexpected document ({type(error).__name__})"
            ) from error

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        what = f"zendesk {method} {path.removeprefix(self._base_url)}"
        attempts = self._retry.attempts
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = await self._client.request(method, path, json=json, params=params, headers=headers)
            except httpx.TimeoutException as error:
                if last:
                    raise UpstreamTimeout(f"{what} timed out ({attempt} attempts)") from error
                await self._pause(what, "timed out", attempt, self._retry.backoff(attempt))
                continue
            except httpx.TransportError as error:
                if last:
                    raise UpstreamFailed(
                        f"{what} failed: {type(error).__name__} ({attempt} attempts)"
                    ) from error
                await self._pause(what, type(error).__name__, attempt, self._retry.backoff(attempt))
                continue
            if response.is_success:
                return _document(response)
            status = response.status_code
            extra: dict[str, Any] = {"status": status}
            if status in RETRYABLE_STATUSES or status == 429:
                wait = retry_after_seconds(response.headers.get("Retry-After"), datetime.now(UTC))
                if wait is not None and wait > self._retry.max_retry_after_s:
                    extra["retry_after_s"] = wait
                    raise UpstreamFailed(f"{what} is rate limited for {wait:.0f} s", extra=extra)
                if not last:
                    await self._pause(
                        what, str(status), attempt, wait if wait is not None else self._retry.backoff(attempt)
                    )
                    continue
                if wait is not None:
                    extra["retry_after_s"] = wait
            raise UpstreamFailed(
                f"{what} answered {status}{_describe(response)} ({attempt} attempts)", extra=extra
            )
        raise UpstreamFailed(f"{what} was not attempted")

    async def _pause(self, what: str, reason: str, attempt: int, seconds: float) -> None:
        logger.warning("%s: %s on attempt %d; retrying in %.2f s", what, reason, attempt, seconds)
        await self._sleep(seconds)
