"""Wire dialects: one thin module per wire format (parse, call the service, render).

Each dialect registers an error renderer for its path prefix, so every error leaves in the
envelope its clients expect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from seedance_gateway.errors import GatewayError

#: Renders an error for one dialect: (request, error, request id) -> response.
ErrorRenderer = Callable[[Request, GatewayError, str], JSONResponse]


@dataclass(frozen=True)
class ErrorRoute:
    """Which renderer answers errors under a path prefix."""

    prefix: str
    render: ErrorRenderer


def default_error(request: Request, error: GatewayError, request_id: str) -> JSONResponse:
    """The house envelope, ``{"error": {"code", "message", "requestId"}}``."""
    body = {"error": {"code": error.code, "message": error.message, "requestId": request_id}}
    return JSONResponse(body, status_code=error.status, headers=error_headers(error))


def error_headers(error: GatewayError) -> dict[str, str]:
    """Headers an error carries (``Retry-After`` on rate limits)."""
    retry_after = getattr(error, "retry_after", None)
    return {"Retry-After": str(retry_after)} if retry_after else {}


def whole_number(value: Any) -> int | None:
    """An integer sent as a JSON integer or a string of ASCII digits (``"8"``); else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return None
