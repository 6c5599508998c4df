import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from metrics import service as metrics_service
from metrics.events import TicketEvent
from plugin.accounts import service as accounts_service
from plugin.accounts.models import Tenant
from plugin.core.clock import Clock
from plugin.core.db import insert_ignoring_duplicates
from plugin.core.errors import InvalidPayload, PayloadTooLarge
from plugin.helpdesk.local import LOCAL_AI_AUTHOR_ID
from plugin.helpdesk.models import InboundWebhook
from plugin.helpdesk.signatures import verify_zendesk_signature
from plugin.helpdesk.zendesk_events import is_tracked, parse_webhook, to_ticket_events


@dataclass(frozen=True)
class WebhookReceipt:
    event_id: str
    event_type: str
    duplicate: bool
    handled: bool
    events_recorded: int
    tenant_id: int
    ticket_events: tuple[TicketEvent, ...] = ()
    event: dict[str, Any] = field(default_factory=dict)


def receive_zendesk_webhook(
    session: Session,
    *,
    tenant_slug: str,
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    clock: Clock,
    tolerance: timedelta,
    max_body_bytes: int,
) -> WebhookReceipt:
    """Verify, store and map one Zendesk delivery; everything is validated before anything is written."""
    tenant = accounts_service.get_tenant(session, tenant_slug)
    if len(body) > max_body_bytes:
        raise PayloadTooLarge(f"webhook body is {len(body)} bytes; the limit is {max_body_bytes}")
    verify_zendesk_signature(
        secret=tenant.zendesk_webhook_secret,
        signature=signature,
        timestamp=timestamp,
        body=body,
        now=clock.now(),
        tolerance=tolerance,
    )
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidPayload(f"body is not valid JSON: {error}") from error
    return ingest_zendesk_event(
        session,
        tenant_id=tenant.id,
        document=document,
        raw=body.decode(),
        clock=clock,
        ai_author_ids=ai_author_ids(tenant),
    )


def ai_author_ids(tenant: Tenant) -> frozenset[str]:
    """Helpdesk users whose public comments are the AI's, not an agent's."""
    ids = {LOCAL_AI_AUTHOR_ID} if tenant.helpdesk == "local" else set()
    if tenant.bot_user_id:
        ids.add(tenant.bot_user_id)
    return frozenset(ids)


def ingest_zendesk_event(
    session: Session,
    *,
    tenant_id: int,
    document: Any,
    raw: str,
    clock: Clock,
    ai_author_ids: frozenset[str] = frozenset(),
) -> WebhookReceipt:
    """Store one Zendesk-shaped delivery under its event id and record its canonical events, once."""
    payload = parse_webhook(document)
    events = to_ticket_events(payload, ai_author_ids=ai_author_ids)
    inserted = insert_ignoring_duplicates(
        session,
        InboundWebhook.__table__,
        [
            {
                "tenant_id": tenant_id,
                "provider": "zendesk",
                "event_id": payload.id,
                "event_type": payload.type,
                "handled": is_tracked(payload),
                "body": raw,
                "received_at": clock.now(),
            }
        ],
        conflict_columns=["provider", "event_id"],
    )
    if not inserted:
        return WebhookReceipt(payload.id, payload.type, True, is_tracked(payload), 0, tenant_id)
    recorded = metrics_service.record_events(session, tenant_id=tenant_id, events=events, clock=clock)
    return WebhookReceipt(
        payload.id,
        payload.type,
        False,
        is_tracked(payload),
        recorded,
        tenant_id,
        tuple(events),
        payload.event,
    )
