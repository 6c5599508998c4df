"""Zendesk webhook signing: base64(HMAC-SHA256(secret, timestamp + body))."""

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from plugin.core.clock import as_utc
from plugin.core.errors import Unauthorized


def zendesk_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_zendesk_signature(
    *,
    secret: str,
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    now: datetime,
    tolerance: timedelta,
) -> None:
    """Refuse a delivery whose signature does not match or whose timestamp is outside the tolerance."""
    if not signature or not timestamp:
        raise Unauthorized("missing X-Zendesk-Webhook-Signature or X-Zendesk-Webhook-Signature-Timestamp")
    expected = zendesk_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected, signature):
        raise Unauthorized("webhook signature does not match")
    try:
        signed_at = as_utc(datetime.fromisoformat(timestamp.replace("Z", "+00:00")))
    except ValueError as error:
        raise Unauthorized("webhook timestamp is not an ISO 8601 time") from error
    if abs(now - signed_at) > tolerance:
        raise Unauthorized("webhook timestamp is outside the allowed window (replay protection)")
