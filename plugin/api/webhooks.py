from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from plugin.api.schemas import ERROR_RESPONSES
from plugin.core.errors import PayloadTooLarge
from plugin.deps import ClockDep, SessionDep, SettingsDep
from plugin.helpdesk.service import WebhookReceipt, receive_zendesk_webhook
from plugin.pipeline import react

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])


class WebhookAccepted(BaseModel):
    event_id: str
    event_type: str
    duplicate: bool
    handled: bool
    events_recorded: int


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"webhook body is {declared} bytes; the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"webhook body exceeds the limit of {limit} bytes")
    return bytes(body)


@router.post(
    "/zendesk/{tenant}",
    response_model=WebhookAccepted,
    responses=ERROR_RESPONSES,
    summary="Receive a signed Zendesk webhook delivery",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    },
)
async def zendesk_webhook(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    tenant: Annotated[str, Path(max_length=63)],
    x_zendesk_webhook_signature: Annotated[str | None, Header()] = None,
    x_zendesk_webhook_signature_timestamp: Annotated[str | None, Header()] = None,
) -> WebhookAccepted:
    body = await _read_limited(request, settings.webhook_max_body_bytes)

    def receive_and_react() -> WebhookReceipt:
        receipt = receive_zendesk_webhook(
            session,
            tenant_slug=tenant,
            body=body,
            signature=x_zendesk_webhook_signature,
            timestamp=x_zendesk_webhook_signature_timestamp,
            clock=clock,
            tolerance=timedelta(seconds=settings.webhook_tolerance_seconds),
            max_body_bytes=settings.webhook_max_body_bytes,
        )
        react(session, receipt=receipt, clock=clock)
        return receipt

    # On a worker thread: a SQLite transaction may wait for the write lock, and must not stall the loop.
    receipt = await run_in_threadpool(receive_and_react)
    return WebhookAccepted(
        event_id=receipt.event_id,
        event_type=receipt.event_type,
        duplicate=receipt.duplicate,
        handled=receipt.handled,
        events_recorded=receipt.events_recorded,
    )
