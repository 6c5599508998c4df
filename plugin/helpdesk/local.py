"""The demo helpdesk: its own tickets behind the same `Helpdesk` interface as Zendesk.

So that the pipeline cannot tell it from Zendesk, every write also records the webhook delivery Zendesk
would send (the event-subscription envelope `plugin.helpdesk.zendesk_events` parses), in the same
transaction; `deliver_pending` hands them to a sink after commit, in order, at least once (the receiver
drops repeats by event id). Statuses follow Zendesk: an agent's first comment opens a new ticket, a
customer's message reopens a solved one, solving twice changes nothing.
"""

import json
import logging
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from plugin.core.clock import Clock
from plugin.core.db import transaction
from plugin.core.errors import BadRequest, Conflict, NotFound
from plugin.helpdesk import local_repository as repository
from plugin.helpdesk.base import HelpdeskComment, HelpdeskTicket, PostedComment
from plugin.helpdesk.local_models import LocalComment, LocalTicket, LocalWebhook

logger = logging.getLogger(__name__)

LOCAL_AI_AUTHOR_ID = "outcomedesk-ai"
STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")
EVENT_VERSION = "2022-11-06"
TYPE_PREFIX = "zen:event-type:"

EventSink = Callable[[dict[str, Any]], None]
T = TypeVar("T")


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _tags(ticket: LocalTicket) -> list[str]:
    return ticket.tags.split() if ticket.tags else []


def normalize_tag(tag: str) -> str:
    """Zendesk's tag rules: lower case, no spaces, no commas."""
    return re.sub(r"[\s,]+", "_", tag.strip().lower())


def requester_id_for(tenant_id: int, email: str) -> str:
    """A stable requester id per address, so repeat contacts are recognised as the same person."""
    return "u" + sha256(f"{tenant_id}:{email.strip().lower()}".encode()).hexdigest()[:16]


def _view(ticket: LocalTicket) -> HelpdeskTicket:
    return HelpdeskTicket(
        ticket_id=str(ticket.id),
        subject=ticket.subject,
        status=ticket.status,
        priority=ticket.priority,
        requester_id=ticket.requester_id,
        channel=ticket.channel,
        tags=tuple(_tags(ticket)),
        created_at=ticket.created_at,
        updated_at=ticket.updated_at,
        requester_name=ticket.requester_name,
        requester_email=ticket.requester_email,
    )


def _comment_view(comment: LocalComment) -> HelpdeskComment:
    return HelpdeskComment(
        comment_id=str(comment.id),
        ticket_id=str(comment.ticket_id),
        author_id=comment.author_id,
        body=comment.body,
        public=comment.public,
        from_customer=not comment.is_staff,
        created_at=comment.created_at,
    )


def _detail(ticket: LocalTicket, actor_id: str) -> dict[str, Any]:
    return {
        "actor_id": actor_id,
        "assignee_id": None,
        "brand_id": None,
        "created_at": _stamp(ticket.created_at),
        "description": ticket.subject,
        "external_id": None,
        "form_id": None,
        "group_id": None,
        "id": str(ticket.id),
        "is_public": True,
        "organization_id": None,
        "priority": ticket.priority.upper(),
        "requester_id": ticket.requester_id,
        "status": ticket.status.upper(),
        "subject": ticket.subject,
        "submitter_id": ticket.requester_id,
        "tags": _tags(ticket),
        "type": None,
        "updated_at": _stamp(ticket.updated_at),
        "via": {"channel": ticket.channel},
    }


def _record(
    session: Session, ticket: LocalTicket, kind: str, event: dict[str, Any], *, actor_id: str, at: datetime
) -> None:
    event_id = str(uuid.uuid4())
    payload = {
        "account_id": ticket.tenant_id,
        "detail": _detail(ticket, actor_id),
        "event": event,
        "id": event_id,
        "subject": f"zen:ticket:{ticket.id}",
        "time": _stamp(at),
        "type": TYPE_PREFIX + kind,
        "zendesk_event_version": EVENT_VERSION,
    }
    row = LocalWebhook(
        tenant_id=ticket.tenant_id,
        event_id=event_id,
        event_type=TYPE_PREFIX + kind,
        payload=json.dumps(payload),
        created_at=at,
    )
    repository.add(session, row)


def _change_status(
    session: Session, ticket: LocalTicket, status: str, *, actor_id: str, at: datetime
) -> None:
    if status not in STATUSES:
        raise BadRequest(f"status must be one of {', '.join(STATUSES)}")
    if status == ticket.status:
        return
    previous, ticket.status, ticket.updated_at = ticket.status, status, at
    session.flush()
    event = {"current": status.upper(), "previous": previous.upper()}
    _record(session, ticket, "ticket.status_changed", event, actor_id=actor_id, at=at)


def _ticket_number(ticket_id: str) -> int:
    # Ids arrive as text from URLs; anything that cannot be a row id is simply not found.
    if ticket_id.isascii() and ticket_id.isdigit() and int(ticket_id) < 2**31:
        return int(ticket_id)
    raise NotFound(f"ticket {ticket_id[:64]} not found")


def _ticket(session: Session, tenant_id: int, ticket_id: str, *, for_update: bool = True) -> LocalTicket:
    found = repository.ticket(session, tenant_id, _ticket_number(ticket_id), for_update=for_update)
    if found is None:
        raise NotFound(f"ticket {ticket_id} not found")
    return found


def _add_comment(
    session: Session,
    ticket: LocalTicket,
    *,
    body: str,
    author_id: str,
    author_name: str,
    is_staff: bool,
    public: bool,
    idempotency_key: str | None,
    at: datetime,
) -> int | None:
    """The new comment's id, or None when the idempotency key already has a comment."""
    if not body.strip():
        raise BadRequest("a comment needs a body")
    values = {
        "tenant_id": ticket.tenant_id,
        "ticket_id": ticket.id,
        "author_id": author_id,
        "is_staff": is_staff,
        "public": public,
        "body": body,
        "idempotency_key": idempotency_key,
        "created_at": at,
    }
    comment_id = repository.insert_comment_once(session, values)
    if comment_id is None:
        return None
    ticket.updated_at = at
    session.flush()
    comment = {
        "id": str(comment_id),
        "body": body,
        "is_public": public,
        "author": {"id": author_id, "is_staff": is_staff, "name": author_name},
    }
    _record(session, ticket, "ticket.comment_added", {"comment": comment}, actor_id=author_id, at=at)
    return comment_id


def create_ticket(
    session: Session,
    *,
    tenant_id: int,
    subject: str,
    requester_email: str,
    requester_name: str,
    body: str,
    channel: str = "web",
    priority: str = "normal",
    requester_id: str | None = None,
    clock: Clock,
) -> HelpdeskTicket:
    """Open a ticket with the customer's first message (two deliveries: created, then the comment)."""
    if priority not in PRIORITIES:
        raise BadRequest(f"priority must be one of {', '.join(PRIORITIES)}")
    if not subject.strip() or not requester_email.strip():
        raise BadRequest("a ticket needs a subject and a requester email")
    now = clock.now()
    ticket = LocalTicket(
        tenant_id=tenant_id,
        subject=subject.strip()[:300],
        requester_id=requester_id or requester_id_for(tenant_id, requester_email),
        requester_email=requester_email.strip().lower(),
        requester_name=requester_name.strip() or requester_email,
        channel=channel[:32],
        priority=priority,
        status="new",
        tags="",
        created_at=now,
        updated_at=now,
    )
    repository.add(session, ticket)
    actor = ticket.requester_id
    _record(session, ticket, "ticket.created", {"current": {"status": "NEW"}}, actor_id=actor, at=now)
    _add_comment(
        session,
        ticket,
        body=body,
        author_id=actor,
        author_name=ticket.requester_name,
        is_staff=False,
        public=True,
        idempotency_key=None,
        at=now,
    )
    return _view(ticket)


def add_customer_message(
    session: Session, *, tenant_id: int, ticket_id: str, body: str, clock: Clock
) -> PostedComment:
    """The requester writes again; a pending, on-hold or solved ticket goes back to open."""
    ticket = _ticket(session, tenant_id, ticket_id)
    if ticket.status == "closed":
        raise Conflict(f"ticket {ticket_id} is closed; open a follow-up ticket instead")
    now = clock.now()
    comment_id = _add_comment(
        session,
        ticket,
        body=body,
        author_id=ticket.requester_id,
        author_name=ticket.requester_name,
        is_staff=False,
        public=True,
        idempotency_key=None,
        at=now,
    )
    if ticket.status in {"pending", "hold", "solved"}:
        _change_status(session, ticket, "open", actor_id=ticket.requester_id, at=now)
    return PostedComment(str(comment_id), ticket_id, True)


def add_staff_comment(
    session: Session,
    *,
    tenant_id: int,
    ticket_id: str,
    body: str,
    author_id: str,
    public: bool = True,
    idempotency_key: str | None = None,
    status: str | None = None,
    author_name: str | None = None,
    clock: Clock,
) -> PostedComment:
    """An agent's (or the AI's) reply or internal note, optionally submitted as a new status.

    With an idempotency key the comment lands once; a repeat returns the first comment and changes nothing.
    """
    ticket = _ticket(session, tenant_id, ticket_id)
    if ticket.status == "closed":
        raise Conflict(f"ticket {ticket_id} is closed")
    now = clock.now()
    comment_id = _add_comment(
        session,
        ticket,
        body=body,
        author_id=author_id,
        author_name=author_name or author_id,
        is_staff=True,
        public=public,
        idempotency_key=idempotency_key,
        at=now,
    )
    if comment_id is None:
        first = repository.comment_by_key(session, tenant_id, idempotency_key or "")
        if first is None or first.ticket_id != ticket.id:
            raise Conflict("this idempotency key was already used on another ticket")
        return PostedComment(str(first.id), ticket_id, first.public)
    if status is not None:
        _change_status(session, ticket, status, actor_id=author_id, at=now)
    elif ticket.status == "new":
        _change_status(session, ticket, "open", actor_id=author_id, at=now)
    return PostedComment(str(comment_id), ticket_id, public)


def set_status(
    session: Session, *, tenant_id: int, ticket_id: str, status: str, actor_id: str, clock: Clock
) -> HelpdeskTicket:
    """Solve, reopen, hold...; setting the status a ticket already has records nothing."""
    ticket = _ticket(session, tenant_id, ticket_id)
    if ticket.status == "closed" and status != "closed":
        raise Conflict(f"ticket {ticket_id} is closed")
    _change_status(session, ticket, status, actor_id=actor_id, at=clock.now())
    return _view(ticket)


def add_tags(
    session: Session, *, tenant_id: int, ticket_id: str, tags: Sequence[str], clock: Clock
) -> HelpdeskTicket:
    """Add tags, keeping the ticket's others."""
    ticket = _ticket(session, tenant_id, ticket_id)
    current = _tags(ticket)
    added = [tag for tag in dict.fromkeys(normalize_tag(tag) for tag in tags) if tag and tag not in current]
    if added:
        now = clock.now()
        ticket.tags, ticket.updated_at = " ".join(current + added), now
        session.flush()
        event = {"tags_added": added, "tags_removed": []}
        _record(session, ticket, "ticket.tags_changed", event, actor_id="system", at=now)
    return _view(ticket)


def rate_satisfaction(
    session: Session, *, tenant_id: int, ticket_id: str, score: str, clock: Clock
) -> HelpdeskTicket:
    """The customer's satisfaction rating ("good" or "bad"), sent the way a Zendesk trigger would."""
    if score not in ("good", "bad"):
        raise BadRequest("score must be good or bad")
    ticket = _ticket(session, tenant_id, ticket_id)
    event = {"current": {"score": score}, "previous": {"score": "offered"}}
    _record(
        session,
        ticket,
        "ticket.satisfaction_rating_changed",
        event,
        actor_id=ticket.requester_id,
        at=clock.now(),
    )
    return _view(ticket)


def get_ticket(session: Session, *, tenant_id: int, ticket_id: str) -> HelpdeskTicket:
    return _view(_ticket(session, tenant_id, ticket_id, for_update=False))


def list_comments(session: Session, *, tenant_id: int, ticket_id: str) -> list[HelpdeskComment]:
    """The ticket's comments, oldest first."""
    get_ticket(session, tenant_id=tenant_id, ticket_id=ticket_id)
    return [
        _comment_view(comment)
        for comment in repository.comments(session, tenant_id, _ticket_number(ticket_id))
    ]


def list_tickets(
    session: Session,
    *,
    tenant_id: int,
    statuses: Sequence[str] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[HelpdeskTicket]:
    """The tenant's tickets, most recently updated first."""
    unknown = set(statuses or ()) - set(STATUSES)
    if unknown:
        raise BadRequest(f"unknown status {sorted(unknown)[0]!r}")
    rows = repository.tickets(
        session, tenant_id, statuses=statuses, limit=min(max(limit, 1), 500), offset=offset
    )
    return [_view(row) for row in rows]


def deliver_pending(
    session_factory: sessionmaker[Session], *, tenant_id: int, sink: EventSink, clock: Clock, batch: int = 200
) -> int:
    """Hand recorded deliveries to `sink` in order, outside any transaction; returns how many were handed over.

    A failing sink stops the run (later deliveries must not overtake it); they stay pending for the next call.
    """
    delivered = 0
    while True:
        with transaction(session_factory) as session:
            pending = [
                (row.id, row.payload) for row in repository.pending_webhooks(session, tenant_id, limit=batch)
            ]
        handed: list[int] = []
        try:
            for webhook_id, payload in pending:
                sink(json.loads(payload))
                handed.append(webhook_id)
        finally:
            if handed:
                with transaction(session_factory) as session:
                    repository.mark_delivered(session, tenant_id, handed, clock.now())
        delivered += len(handed)
        if len(pending) < batch:
            return delivered


class LocalHelpdesk:
    """One tenant's demo helpdesk; each write is its own transaction, then its deliveries go to `on_event`.

    The `Helpdesk` methods are async because Zendesk's are; the demo-only operations (used by the
    simulator and the helpdesk pages) are plain methods, being nothing but database work.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        tenant_id: int,
        clock: Clock,
        on_event: EventSink | None = None,
        ai_author_id: str = LOCAL_AI_AUTHOR_ID,
    ) -> None:
        self._factory = session_factory
        self.tenant_id = tenant_id
        self._clock = clock
        self._on_event = on_event
        self.ai_author_id = ai_author_id

    async def post_reply(self, ticket_id: str, body: str, *, idempotency_key: str) -> PostedComment:
        return self.staff_comment(
            ticket_id, body, author_id=self.ai_author_id, idempotency_key=idempotency_key
        )

    async def add_note(self, ticket_id: str, body: str, *, idempotency_key: str) -> PostedComment:
        return self.staff_comment(
            ticket_id, body, author_id=self.ai_author_id, public=False, idempotency_key=idempotency_key
        )

    async def solve(self, ticket_id: str) -> None:
        self.set_status(ticket_id, "solved", actor_id=self.ai_author_id)

    async def add_tags(self, ticket_id: str, tags: list[str]) -> None:
        self._write(add_tags, ticket_id=ticket_id, tags=tags)

    async def get_ticket(self, ticket_id: str) -> HelpdeskTicket:
        return self.ticket(ticket_id)

    async def list_comments(self, ticket_id: str) -> list[HelpdeskComment]:
        return self.comments(ticket_id)

    def create_ticket(
        self,
        *,
        subject: str,
        requester_email: str,
        requester_name: str,
        body: str,
        channel: str = "web",
        priority: str = "normal",
        requester_id: str | None = None,
    ) -> HelpdeskTicket:
        return self._write(
            create_ticket,
            subject=subject,
            requester_email=requester_email,
            requester_name=requester_name,
            body=body,
            channel=channel,
            priority=priority,
            requester_id=requester_id,
        )

    def customer_message(self, ticket_id: str, body: str) -> PostedComment:
        return self._write(add_customer_message, ticket_id=ticket_id, body=body)

    def staff_comment(
        self,
        ticket_id: str,
        body: str,
        *,
        author_id: str,
        public: bool = True,
        status: str | None = None,
        idempotency_key: str | None = None,
        author_name: str | None = None,
    ) -> PostedComment:
        """An agent's reply (`public`) or note, optionally submitted as `status` (e.g. pending, solved)."""
        return self._write(
            add_staff_comment,
            ticket_id=ticket_id,
            body=body,
            author_id=author_id,
            public=public,
            idempotency_key=idempotency_key,
            status=status,
            author_name=author_name,
        )

    def set_status(self, ticket_id: str, status: str, *, actor_id: str) -> HelpdeskTicket:
        return self._write(set_status, ticket_id=ticket_id, status=status, actor_id=actor_id)

    def rate(self, ticket_id: str, score: str) -> HelpdeskTicket:
        return self._write(rate_satisfaction, ticket_id=ticket_id, score=score)

    def reopen(self, ticket_id: str, *, actor_id: str) -> HelpdeskTicket:
        return self.set_status(ticket_id, "open", actor_id=actor_id)

    def ticket(self, ticket_id: str) -> HelpdeskTicket:
        return self._read(get_ticket, ticket_id=ticket_id)

    def comments(self, ticket_id: str) -> list[HelpdeskComment]:
        return self._read(list_comments, ticket_id=ticket_id)

    def tickets(
        self, *, statuses: Sequence[str] | None = None, limit: int = 50, offset: int = 0
    ) -> list[HelpdeskTicket]:
        return self._read(list_tickets, statuses=statuses, limit=limit, offset=offset)

    def deliver_pending(self) -> int:
        """Hand over what earlier writes recorded; a failing sink is logged and retried on the next call."""
        if self._on_event is None:
            return 0
        try:
            return deliver_pending(
                self._factory, tenant_id=self.tenant_id, sink=self._on_event, clock=self._clock
            )
        except Exception:
            logger.exception("local helpdesk: a webhook delivery failed; it stays pending")
            return 0

    def _read(self, service: Callable[..., T], **arguments: Any) -> T:
        with transaction(self._factory) as session:
            return service(session, tenant_id=self.tenant_id, **arguments)

    def _write(self, service: Callable[..., T], **arguments: Any) -> T:
        with transaction(self._factory) as session:
            result = service(session, tenant_id=self.tenant_id, clock=self._clock, **arguments)
        self.deliver_pending()
        return result
