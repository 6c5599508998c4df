"""Zendesk webhook deliveries as Zendesk sends them, signed like Zendesk signs them."""

import json
from datetime import datetime
from typing import Any

from plugin.helpdesk.signatures import zendesk_signature


def ticket_detail(ticket_id: str = "101", requester_id: str = "9001", **overrides: Any) -> dict[str, Any]:
    detail = {
        "id": ticket_id,
        "requester_id": requester_id,
        "status": "NEW",
        "priority": "NORMAL",
        "subject": "Card not arrived",
        "via": {"channel": "web_form"},
        "created_at": "2026-11-02T08:59:00Z",
    }
    return {**detail, **overrides}


def envelope(
    event_type: str, event_id: str, at: datetime, detail: dict[str, Any], event: dict[str, Any]
) -> dict:
    return {
        "type": f"zen:event-type:{event_type}",
        "account_id": 12514403,
        "id": event_id,
        "time": at.isoformat().replace("+00:00", "Z"),
        "zendesk_event_version": "2022-11-06",
        "subject": f"zen:ticket:{detail.get('id')}",
        "detail": detail,
        "event": event,
    }


def ticket_created(event_id: str, at: datetime, **detail: Any) -> dict:
    return envelope("ticket.created", event_id, at, ticket_detail(**detail), {"current": {"status": "NEW"}})


def comment_added(
    event_id: str,
    at: datetime,
    *,
    comment_id: str,
    body: str,
    staff: bool,
    public: bool = True,
    **detail: Any,
) -> dict:
    comment = {
        "id": comment_id,
        "body": body,
        "is_public": public,
        "author": {"id": "7" if staff else "9001", "is_staff": staff, "name": "x"},
    }
    return envelope("ticket.comment_added", event_id, at, ticket_detail(**detail), {"comment": comment})


def status_changed(event_id: str, at: datetime, *, previous: str, current: str, **detail: Any) -> dict:
    return envelope(
        "ticket.status_changed",
        event_id,
        at,
        ticket_detail(**detail),
        {"previous": previous, "current": current},
    )


def signed(secret: str, body: bytes, timestamp: datetime) -> dict[str, str]:
    stamp = timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "X-Zendesk-Webhook-Signature": zendesk_signature(secret, stamp, body),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def encode(payload: dict) -> bytes:
    return json.dumps(payload).encode()
