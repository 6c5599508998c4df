"""One error model for the whole product; the shell renders it as {"error", "detail"}."""

from typing import Any


class AppError(Exception):
    status_code = 500
    error = "internal_error"

    def __init__(self, detail: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class BadRequest(AppError):
    status_code = 400
    error = "bad_request"


class Unauthorized(AppError):
    status_code = 401
    error = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    error = "forbidden"


class NotFound(AppError):
    status_code = 404
    error = "not_found"


class Conflict(AppError):
    status_code = 409
    error = "conflict"


class PayloadTooLarge(AppError):
    status_code = 413
    error = "payload_too_large"


class InvalidPayload(AppError):
    status_code = 422
    error = "invalid_payload"


class UpstreamFailed(AppError):
    status_code = 502
    error = "upstream_failed"


class UpstreamTimeout(AppError):
    status_code = 504
    error = "upstream_timeout"
