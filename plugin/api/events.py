from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from metrics import service as metrics_service
from metrics.models import TicketEventRow
from plugin.api.schemas import ERROR_RESPONSES
from plugin.core.errors import InvalidPayload, NotFound
from plugin.deps import AgentPrincipal, ManagerPrincipal, SessionDep

router = APIRouter(prefix="/api/v1", tags=["events"], responses=ERROR_RESPONSES)


class TicketEventOut(BaseModel):
    ticket_id: str
    requester_id: str
    event: str
    occurred_at: datetime
    actor: str
    agent_id: str | None
    public: bool | None
    channel: str | None
    intent: str | None
    priority: str | None
    value: float | None
    arm: str | None

    @classmethod
    def of(cls, row: TicketEventRow) -> "TicketEventOut":
        return cls.model_validate(row, from_attributes=True)


@router.get(
    "/tickets/{ticket_id}/events", response_model=list[TicketEventOut], summary="A ticket's event log"
)
def ticket_events(
    principal: AgentPrincipal, session: SessionDep, ticket_id: Annotated[str, Path(max_length=64)]
) -> list[TicketEventOut]:
    rows = metrics_service.list_ticket_events(session, tenant_id=principal.tenant_id, ticket_id=ticket_id)
    if not rows:
        raise NotFound(f"ticket {ticket_id!r} not found")
    return [TicketEventOut.of(row) for row in rows]


@router.get(
    "/events", response_model=list[TicketEventOut], summary="The tenant's canonical events in a window"
)
def events(
    principal: ManagerPrincipal,
    session: SessionDep,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[TicketEventOut]:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidPayload(f"{name}: give a time zone (e.g. 2026-01-31T00:00:00Z)")
    rows = metrics_service.list_events(
        session, tenant_id=principal.tenant_id, since=since, until=until, limit=limit
    )
    return [TicketEventOut.of(row) for row in rows]
