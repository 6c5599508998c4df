import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from metrics import service as metrics_service
from metrics.events import TicketEvent
from plugin.accounts import service as accounts_service
from plugin.core.clock import Clock
from plugin.core.db import insert_ignoring_duplicates
from plugin.core.errors import InvalidPayload, PayloadTooLarge
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
    now = clock.now()
    verify_zendesk_signature(
        secret=tenant.zendesk_webhook_secret,
        signature=signature,
        timestamp=timestamp,
        body=body,
        now=now,
        tolerance=tolerance,
    )
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidPayload(f"body is not valid JSON: {error}") from error
    payload = parse_webhook(document)
    events = to_ticket_events(payload)
    inserted = insert_ignoring_duplicates(
        session,
        InboundWebhook.__table__,
        [
            {
                "tenant_id": tenant.id,
                "provider": "zendesk",
                "event_id": payload.id,
                "event_type": payload.type,
                "handled": is_tracked(payload),
                "body": body.decode(),
                "received_at": now,
            }
        ],
        conflict_columns=["provider", "event_id"],
    )
    if not inserted:
        return WebhookReceipt(payload.id, payload.type, True, is_tracked(payload), 0, tenant.id)
    recorded = metrics_service.record_events(session, tenant_id=tenant.id, events=events, clock=clock)
    return WebhookReceipt(
        payload.id, payload.type, False, is_tracked(payload), recorded, tenant.id, tuple(events)
    )
