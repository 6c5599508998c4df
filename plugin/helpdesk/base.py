"""The helpdesk interface: what we read from a helpdesk and what we write back to it."""

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class PostedComment:
    comment_id: str
    ticket_id: str
    public: bool


class Helpdesk(Protocol):
    """Write side of a helpdesk; Zendesk and the demo helpdesk implement it."""

    async def post_reply(self, ticket_id: str, body: str, *, idempotency_key: str) -> PostedComment: ...

    async def add_note(self, ticket_id: str, body: str, *, idempotency_key: str) -> PostedComment: ...

    async def solve(self, ticket_id: str) -> None: ...

    async def add_tags(self, ticket_id: str, tags: list[str]) -> None: ...
