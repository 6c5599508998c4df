"""The helpdesk interface: what we read from a helpdesk and what we write back to it."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class PostedComment:
    comment_id: str
    ticket_id: str
    public: bool


@dataclass(frozen=True)
class HelpdeskTicket:
    """A ticket as the helpdesk shows it; statuses and priorities are lower case (`open`, `normal`)."""

    ticket_id: str
    subject: str
    status: str
    priority: str | None
    requester_id: str
    channel: str | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    requester_name: str | None = None
    requester_email: str | None = None


@dataclass(frozen=True)
class HelpdeskComment:
    comment_id: str
    ticket_id: str
    author_id: str
    body: str
    public: bool
    from_customer: bool
    created_at: datetime


class Helpdesk(Protocol):
    """Zendesk and the demo helpdesk implement it; writes carry idempotency keys so retries are safe."""

    async def post_reply(self, ticket_id: str, body: str, *, idempotency_key: str) -> PostedComment: ...

    async def add_note(self, ticket_id: str, body: str, *, idempotency_key: str) -> PostedComment: ...

    async def solve(self, ticket_id: str) -> None: ...

    async def add_tags(self, ticket_id: str, tags: list[str]) -> None: ...

    async def get_ticket(self, ticket_id: str) -> HelpdeskTicket: ...

    async def list_comments(self, ticket_id: str) -> list[HelpdeskComment]: ...


def latest_customer_message(comments: Sequence[HelpdeskComment]) -> HelpdeskComment | None:
    """The newest public comment written by the requester side, the one a draft answers."""
    # A stable sort keeps the helpdesk's order for comments written in the same second.
    ordered = sorted(
        (comment for comment in comments if comment.from_customer and comment.public),
        key=lambda comment: comment.created_at,
    )
    return ordered[-1] if ordered else None
