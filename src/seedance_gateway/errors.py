"""One exception tree. Dialects map it to HTTP; the worker maps provider errors to retry or fail.

::

    GatewayError
    ├── ValidationFailed        400 validation_failed
    ├── Unauthorized            401 api_key_missing | api_key_invalid | api_key_revoked |
    │                               api_key_expired | invalid_credentials |
    │                               metrics_token_required
    ├── Forbidden               403 insufficient_scope | admin_only
    ├── InsufficientCredits     402 insufficient_credits
    ├── NotFound                404 not_found
    ├── IdempotencyConflict     409 idempotency_conflict
    ├── InvalidState            409 invalid_state | email_taken
    ├── PayloadTooLarge         413 payload_too_large
    ├── RateLimited             429 rate_limited (+ retry_after)
    └── ProviderError           the worker's business, never raised to a client
        ├── ProviderUnavailable   transient: retry later
        └── ProviderRejected      permanent: fail the task, release its credits

The docstring of each class is its default message.
"""

from __future__ import annotations


class GatewayError(Exception):
    """Something went wrong."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str | None = None, *, code: str | None = None) -> None:
        self.message = message or (self.__doc__ or "").strip()
        if code:
            self.code = code
        super().__init__(self.message)


class ValidationFailed(GatewayError):
    """The request is invalid."""

    status = 400
    code = "validation_failed"

    def __init__(self, message: str, *, field: str | None = None, reason: str = "invalid") -> None:
        self.field = field
        self.reason = reason  #: ``invalid``, ``missing`` or ``unsupported`` (dialects map it)
        super().__init__(message)


class Unauthorized(GatewayError):
    """Send your API key as 'Authorization: Bearer <key>'."""

    status = 401
    code = "api_key_missing"


class Forbidden(GatewayError):
    """The API key is valid but may not do this."""

    status = 403
    code = "insufficient_scope"


class InsufficientCredits(GatewayError):
    """Not enough credits for this request."""

    status = 402
    code = "insufficient_credits"


class NotFound(GatewayError):
    """No such resource."""

    status = 404
    code = "not_found"


class IdempotencyConflict(GatewayError):
    """This idempotency key was already used with a different request body."""

    status = 409
    code = "idempotency_conflict"


class InvalidState(GatewayError):
    """The resource is not in a state that allows this."""

    status = 409
    code = "invalid_state"


class PayloadTooLarge(GatewayError):
    """The request body is too large."""

    status = 413
    code = "payload_too_large"


class RateLimited(GatewayError):
    """Too many requests."""

    status = 429
    code = "rate_limited"

    def __init__(
        self, message: str | None = None, *, retry_after: int = 1, in_flight: bool = False
    ) -> None:
        self.retry_after = max(1, retry_after)
        self.in_flight = in_flight  #: the key's cap on queued + running tasks, not request rate
        super().__init__(message)


class ProviderError(GatewayError):
    """The provider could not produce the video."""

    code = "provider_error"


class ProviderUnavailable(ProviderError):
    """The provider is temporarily unavailable."""

    code = "provider_unavailable"


class ProviderRejected(ProviderError):
    """The provider rejected the task."""

    code = "provider_rejected"


class TaskStopped(ProviderError):
    """The task stopped running while it was being made (cancelled or expired meanwhile)."""

    code = "task_stopped"


class UpstreamUnavailable(GatewayError):
    """The upstream could not be reached; try again shortly."""

    status = 503
    code = "upstream_unavailable"
