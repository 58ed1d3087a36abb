"""Refuses JSON strings no database can store: NUL characters and lone UTF-16 surrogates.

Both are valid JSON escapes (``\\u0000``, ``\\ud800``) and would otherwise reach PostgreSQL or
the UTF-8 encoder as a 500. Every dialect runs its parsed body through ``check``.
"""

from __future__ import annotations

from typing import Any

from seedance_gateway.errors import ValidationFailed


def check(value: Any, path: str = "") -> None:
    """Raises ``validation_failed`` naming the first field holding unstorable text."""
    if isinstance(value, str):
        _check_text(value, path or "body")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(str(key), path or "body")
            check(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check(item, f"{path}[{index}]")


def _check_text(text: str, field: str) -> None:
    if "\x00" in text:
        raise ValidationFailed(f"{field} contains a NUL character (\\u0000)", field=field)
    try:
        text.encode("utf-8")  # fails exactly on lone surrogates, at C speed
    except UnicodeEncodeError:
        raise ValidationFailed(
            f"{field} contains a lone UTF-16 surrogate; send valid Unicode text", field=field
        ) from None
