"""Each dialect's error envelope, checked the way its clients read it.

``check_error(path, response)`` asserts that an error response is JSON in the envelope of the
dialect that owns ``path`` (the same prefixes as ``app.ERROR_ROUTES``) and returns the message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx


def _house(body: Any) -> str:
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "requestId"}, body
    assert isinstance(body["error"]["code"], str), body
    return str(body["error"]["message"])


def _ark(body: Any) -> str:
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "param", "type"}, body
    assert isinstance(body["error"]["code"], str), body
    return str(body["error"]["message"])


def _acedata(body: Any) -> str:
    assert set(body) == {"success", "error", "trace_id"}, body
    assert body["success"] is False, body
    assert set(body["error"]) == {"code", "message"}, body
    return str(body["error"]["message"])


def _seedanceapi(body: Any) -> str:
    assert set(body) == {"code", "message", "data", "error"}, body
    assert isinstance(body["code"], int) and body["data"] is None, body
    assert set(body["error"]) == {"code", "message", "request_id"}, body
    return str(body["message"])


def _openai(body: Any) -> str:
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}, body
    return str(body["error"]["message"])


#: (path prefix, checker), the more specific prefix first, as ``app.ERROR_ROUTES``.
ENVELOPES: list[tuple[str, Callable[[Any], str]]] = [
    ("/api/v1", _house),
    ("/api/v3", _ark),
    ("/seedance/", _acedata),
    ("/v1/videos", _openai),
    ("/v1/", _seedanceapi),
    ("/v2/", _seedanceapi),
]


def check_error(path: str, response: httpx.Response) -> str:
    """Asserts a 4xx in the envelope of ``path``'s dialect (house by default); the message."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    assert response.headers.get("content-type", "").startswith("application/json"), response
    checker = next((c for prefix, c in ENVELOPES if path.startswith(prefix)), _house)
    message = checker(response.json())
    assert message.strip(), response.text
    return message
