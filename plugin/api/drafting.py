import functools
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy.orm import Session

from drafting import connectors
from drafting import feedback as feedback_service
from drafting import service as drafting_service
from drafting.composition import DraftingKit
from drafting.context.base import CustomerRef
from drafting.context.gather import gather_context
from drafting.schemas import CustomerMessage, DraftOutcome
from plugin.api.schemas import ERROR_RESPONSES
from plugin.core.clock import Clock
from plugin.core.db import transaction
from plugin.deps import AdminPrincipal, AgentPrincipal, ClockDep, SessionDep
from plugin.wiring import KitFactory

router = APIRouter(prefix="/api/v1", tags=["drafting"], responses=ERROR_RESPONSES)

TicketId = Annotated[str, Path(min_length=1, max_length=64)]


class DraftRequest(BaseModel):
    message_id: str = Field(
        min_length=1, max_length=200, description="The helpdesk's id of the customer message"
    )
    text: str = Field(min_length=1, max_length=20_000)
    requester_id: str = Field(min_length=1, max_length=64)
    requester_email: EmailStr
    requester_name: str | None = Field(default=None, max_length=200)
    channel: str | None = Field(default=None, max_length=32)
    regenerate: bool = False


class DraftResponse(BaseModel):
    status: Literal["drafted", "existing", "control_arm", "ai_off"]
    arm: str
    charge: str | None
    notes: list[str]
    draft: dict[str, Any] | None


class FeedbackRequest(BaseModel):
    kind: Literal["inserted", "edited", "discarded", "rated"]
    final_text: str | None = Field(default=None, max_length=20_000)
    rating: int | None = Field(default=None, ge=1, le=5)
    agent_id: str | None = Field(default=None, max_length=64)


class FeedbackResponse(BaseModel):
    id: int
    draft_id: int
    kind: str
    edit_distance: int | None
    rating: int | None


class ContextResponse(BaseModel):
    customer: str
    partial: bool
    facts: list[dict[str, str]]
    sources: list[dict[str, Any]]


class SettingsBody(BaseModel):
    autopilot_enabled: bool | None = None
    intent_allowlist: list[Annotated[str, Field(max_length=100)]] | None = Field(default=None, max_length=500)
    target_precision: float | None = Field(default=None, ge=0.5, le=0.999)


class SettingsResponse(BaseModel):
    autopilot_enabled: bool
    intent_allowlist: list[str]
    target_precision: float
    threshold: float


def _connector_config(request: Request, tenant_id: int) -> connectors.ConnectorConfig:
    with transaction(request.app.state.session_factory) as session:
        return connectors.tenant_config(session, tenant_id=tenant_id)


def _kits(request: Request) -> KitFactory:
    factory: KitFactory = request.app.state.kit_factory
    return factory


def _response(outcome: DraftOutcome) -> DraftResponse:
    return DraftResponse(
        status=outcome.status,
        arm=outcome.arm,
        charge=outcome.charge,
        notes=list(outcome.notes),
        draft=asdict(outcome.draft) if outcome.draft is not None else None,
    )


def _message(principal_tenant: int, ticket_id: str, body: DraftRequest) -> CustomerMessage:
    return CustomerMessage(
        tenant_id=principal_tenant,
        ticket_id=ticket_id,
        message_id=body.message_id,
        text=body.text,
        requester_id=body.requester_id,
        requester_email=str(body.requester_email),
        requester_name=body.requester_name,
        channel=body.channel,
    )


async def _draft_and_deliver(
    request: Request,
    session: Session,
    clock: Clock,
    tenant_id: int,
    ticket_id: str,
    body: DraftRequest,
    agent: str | None,
) -> DraftOutcome:
    """Draft, then deliver to the agent. The database work runs on worker threads and is committed before
    the sources and the drafter are awaited: a transaction left open across those waits would hold SQLite's
    write lock, and the next request to begin one would block this event loop until it timed out."""
    message = _message(tenant_id, ticket_id, body)
    kits = _kits(request)

    def begin() -> tuple[DraftOutcome | drafting_service.DraftStart, DraftingKit | None]:
        start = drafting_service.start_draft(
            session, message=message, clock=clock, regenerate=body.regenerate
        )
        kit = None if isinstance(start, DraftOutcome) else kits.kit(session, tenant_id)
        session.commit()
        return start, kit

    start, kit = await run_in_threadpool(begin)
    if isinstance(start, DraftOutcome):
        outcome = start
    else:
        assert kit is not None
        composed = await drafting_service.compose_message(message, kit)
        outcome = await run_in_threadpool(
            functools.partial(
                drafting_service.finish_draft,
                session,
                message=message,
                start=start,
                composed=composed,
                clock=clock,
            )
        )
    if outcome.draft is None:
        return outcome
    delivered = await run_in_threadpool(
        functools.partial(
            drafting_service.deliver_draft,
            session,
            tenant_id=tenant_id,
            draft_id=outcome.draft.id,
            agent_id=agent,
            clock=clock,
        )
    )
    return DraftOutcome(
        status=outcome.status, arm=outcome.arm, draft=delivered.draft, charge=delivered.charge
    )


@router.post(
    "/tickets/{ticket_id}/drafts",
    response_model=DraftResponse,
    summary="Draft (or fetch) the reply to the ticket's latest customer message and deliver it to the agent",
)
async def create_draft(
    request: Request,
    principal: AgentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    ticket_id: TicketId,
    body: DraftRequest,
) -> DraftResponse:
    outcome = await _draft_and_deliver(
        request, session, clock, principal.tenant_id, ticket_id, body, principal.user_email
    )
    return _response(outcome)


@router.post(
    "/tickets/{ticket_id}/drafts/stream",
    summary="The same as creating a draft, streamed as server-sent events (sentence deltas, then the draft)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def stream_draft(
    request: Request,
    principal: AgentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    ticket_id: TicketId,
    body: DraftRequest,
) -> StreamingResponse:
    outcome = await _draft_and_deliver(
        request, session, clock, principal.tenant_id, ticket_id, body, principal.user_email
    )
    session.commit()
    response = _response(outcome)

    async def events() -> AsyncIterator[str]:
        yield _sse("status", {"status": response.status, "arm": response.arm})
        if outcome.draft is not None:
            for text, sources in outcome.draft.sentences or ((outcome.draft.text, outcome.draft.citations),):
                yield _sse("delta", {"text": text + " ", "sources": list(sources)})
        yield _sse("draft", response.model_dump())

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


@router.get(
    "/tickets/{ticket_id}/drafts/latest", response_model=dict[str, Any], summary="The ticket's newest draft"
)
def latest_draft(principal: AgentPrincipal, session: SessionDep, ticket_id: TicketId) -> dict[str, Any]:
    return asdict(drafting_service.latest_draft(session, tenant_id=principal.tenant_id, ticket_id=ticket_id))


@router.post(
    "/drafts/{draft_id}/feedback",
    response_model=FeedbackResponse,
    summary="Record what the agent did with a draft",
)
def draft_feedback(
    principal: AgentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    draft_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: FeedbackRequest,
) -> FeedbackResponse:
    view = feedback_service.record_feedback(
        session,
        tenant_id=principal.tenant_id,
        draft_id=draft_id,
        kind=body.kind,
        clock=clock,
        final_text=body.final_text,
        rating=body.rating,
        agent_id=body.agent_id or principal.user_email,
    )
    return FeedbackResponse(**asdict(view))


@router.get(
    "/context", response_model=ContextResponse, summary="The customer's account context for the sidebar"
)
async def account_context(
    request: Request,
    principal: AgentPrincipal,
    requester_email: Annotated[str, Query(min_length=3, max_length=320)],
    requester_id: Annotated[str | None, Query(max_length=64)] = None,
) -> ContextResponse:
    kits = _kits(request)
    # Off the event loop: now and then this reads the tenant's connectors, and a SQLite transaction may wait.
    sources = await run_in_threadpool(
        kits.recent_sources, principal.tenant_id, lambda: _connector_config(request, principal.tenant_id)
    )
    context = await gather_context(
        CustomerRef(email=requester_email, external_id=requester_id),
        sources,
        tenant_id=principal.tenant_id,
        timeout_s=kits.settings.context_timeout_seconds,
        cache=kits.context_cache,
    )
    return ContextResponse(
        customer=context.customer_ref,
        partial=context.partial,
        facts=[
            {"id": f.id, "key": f.key, "label": f.label, "value": f.value, "source": f.source}
            for f in context.facts
        ],
        sources=[
            {"name": s.name, "ok": s.ok, "error": s.error, "elapsed_ms": round(s.elapsed_ms, 1)}
            for s in context.statuses
        ],
    )


@router.get("/drafting/settings", response_model=SettingsResponse, summary="The tenant's autopilot policy")
def get_settings(principal: AdminPrincipal, session: SessionDep, clock: ClockDep) -> SettingsResponse:
    row = drafting_service.tenant_settings(session, tenant_id=principal.tenant_id, clock=clock)
    return SettingsResponse(
        autopilot_enabled=row.autopilot_enabled,
        intent_allowlist=json.loads(row.intent_allowlist),
        target_precision=row.target_precision,
        threshold=row.threshold,
    )


@router.put(
    "/drafting/settings", response_model=SettingsResponse, summary="Change the tenant's autopilot policy"
)
def put_settings(
    principal: AdminPrincipal, session: SessionDep, clock: ClockDep, body: SettingsBody
) -> SettingsResponse:
    drafting_service.update_settings(
        session,
        tenant_id=principal.tenant_id,
        clock=clock,
        autopilot_enabled=body.autopilot_enabled,
        intent_allowlist=body.intent_allowlist,
        target_precision=body.target_precision,
    )
    return get_settings(principal, session, clock)
