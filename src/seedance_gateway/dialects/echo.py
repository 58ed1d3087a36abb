"""The create body as the client sent it, kept with the task for dialects that echo it back.

Inline media (``data:`` URLs) are elided so a task row stays small; everything else is kept.
"""

from __future__ import annotations

from typing import Any

MAX_INLINE = 256  #: a ``data:`` URL longer than this is elided


def redacted(body: Any) -> Any:
    """``body`` with every long ``data:`` URL replaced by a short description of it."""
    if isinstance(body, dict):
        return {key: redacted(value) for key, value in body.items()}
    if isinstance(body, list):
        return [redacted(value) for value in body]
    if isinstance(body, str) and body.startswith("data:") and len(body) > MAX_INLINE:
        head = body.split(",", 1)[0]
        return f"{head},... ({len(body)} characters elided)"
    return body
