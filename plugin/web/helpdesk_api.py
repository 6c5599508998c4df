"""JSON for the demo helpdesk's pages: tickets, their conversation, and the agent's reply box.

Thin over `plugin.helpdesk.local`; it lives beside the pages it serves until the helpdesk grows its own
router under `plugin/api/`.
"""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from plugin.accounts import repository as accounts_repository
from plugin.api.schemas import ERROR_RESPONSES
from plugin.core.clock import Clock
from plugin.core.db import transaction
from plugin.deps import AgentPrincipal, ClockDep, SessionDep
from plugin.helpdesk import local
from plugin.helpdesk.base import HelpdeskComment, HelpdeskTicket
from plugin.helpdesks import HelpdeskFactory

router = APIRouter(prefix="/api/v1/helpdesk", tags=["demo helpdesk"], responses=ERROR_RESPONSES)

TicketId = Annotated[str, Path(pattern=r"^\d{1,18}$")]
Status = Literal["new", "open", "pending", "hold", "solved", "closed"]


class TicketOut(BaseModel):
    id: str
    subject: str
    status: str
    priority: str | None
    channel: str | None
    tags: list[str]
    requester_id: str
    requester_name: str | None
    requester_email: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, ticket: HelpdeskTicket) -> "TicketOut":
        return cls(
            id=ticket.ticket_id,
            subject=ticket.subject,
            status=ticket.status,
            priority=ticket.priority,
            channel=ticket.channel,
            tags=list(ticket.tags),
            requester_id=ticket.requester_id,
            requester_name=ticket.requester_name,
            requester_email=ticket.requester_email,
            created_at=ticket.created_at,
            updated_at=ticket.updated_at,
        )


class CommentOut(BaseModel):
    id: str
    author_id: str
    body: str
    public: bool
    from_customer: bool
    created_at: datetime

    @classmethod
    def of(cls, comment: HelpdeskComment) -> "CommentOut":
        return cls(
            id=comment.comment_id,
            author_id=comment.author_id,
            body=comment.body,
            public=comment.public,
            from_customer=comment.from_customer,
            created_at=comment.created_at,
        )


class ConversationOut(BaseModel):
    ticket: TicketOut
    comments: list[CommentOut]


class ReplyIn(BaseModel):
    body: str = Field(min_length=1, max_length=20_000)
    public: bool = True
    status: Status | None = Field(default=None, description="Submit the ticket as this status")
    idempotency_key: str | None = Field(
        default=None, max_length=100, description="A retried submit with the same key posts once"
    )


class ReplyOut(BaseModel):
    comment_id: str
    ticket_id: str
    public: bool


@router.get("/tickets", response_model=list[TicketOut], summary="The demo helpdesk's tickets, newest first")
def tickets(
    principal: AgentPrincipal,
    session: SessionDep,
    status: Annotated[list[Status] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[TicketOut]:
    rows = local.list_tickets(
        session, tenant_id=principal.tenant_id, statuses=status, limit=limit, offset=offset
    )
    return [TicketOut.of(row) for row in rows]


@router.get("/tickets/{ticket_id}", response_model=ConversationOut, summary="A ticket and its conversation")
def conversation(principal: AgentPrincipal, session: SessionDep, ticket_id: TicketId) -> ConversationOut:
    ticket = local.get_ticket(session, tenant_id=principal.tenant_id, ticket_id=ticket_id)
    comments = local.list_comments(session, tenant_id=principal.tenant_id, ticket_id=ticket_id)
    return ConversationOut(ticket=TicketOut.of(ticket), comments=[CommentOut.of(c) for c in comments])


@router.post("/tickets/{ticket_id}/replies", response_model=ReplyOut, summary="The agent replies or notes")
def reply(
    request: Request,
    background: BackgroundTasks,
    principal: AgentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    ticket_id: TicketId,
    body: ReplyIn,
) -> ReplyOut:
    agent = principal.user_email or f"agent-token-{principal.token_id or 0}"
    posted = local.add_staff_comment(
        session,
        tenant_id=principal.tenant_id,
        ticket_id=ticket_id,
        body=body.body,
        author_id=agent,
        author_name=agent,
        public=body.public,
        status=body.status,
        idempotency_key=f"web:{body.idempotency_key or uuid.uuid4()}",
        clock=clock,
    )
    # The deliveries must see this reply: commit now, not when the request's session closes after the task.
    session.commit()
    background.add_task(
        deliver_local_events, request.app.state.session_factory, request.app.state.clock, principal.tenant_id
    )
    return ReplyOut(comment_id=posted.comment_id, ticket_id=posted.ticket_id, public=posted.public)


def deliver_local_events(factory: sessionmaker[Session], clock: Clock, tenant_id: int) -> None:
    """After the reply is committed, hand the demo helpdesk's webhook deliveries to the pipeline."""
    with transaction(factory) as session:
        tenant = accounts_repository.tenant_by_id(session, tenant_id)
    if tenant is not None and tenant.helpdesk == "local":
        HelpdeskFactory(factory, clock).local(tenant).deliver_pending()
