"""What a decoded request value may hold: bounded nesting, finite numbers, storable text.

``check`` walks a decoded JSON body once. It refuses, naming the first offending field:

- nesting deeper than ``MAX_DEPTH`` arrays/objects (no accepted body comes near it);
- ``NaN``, ``Infinity`` and numbers too large for a double (``1e999``): Python's decoder takes
  them, PostgreSQL's JSONB and every strict JSON parser do not;
- NUL characters and lone UTF-16 surrogates in strings and keys (``\\u0000``, ``\\ud800``):
  valid JSON escapes that no database stores and no UTF-8 encoder writes.

``check_text`` is the same string rule for text that arrives another way (multipart fields).
"""

from __future__ import annotations

import math
from typing import Any

from seedance_gateway.errors import ValidationFailed

#: Arrays and objects may nest this deep; the deepest accepted body nests 5.
MAX_DEPTH = 32


class NonFinite(float):
    """A ``NaN``/``Infinity`` token or an overflowing number, kept by the decoder to be refused
    here with its field's name."""

    def __new__(cls, token: str) -> NonFinite:
        made = super().__new__(cls, "nan")
        made.token = token
        return made

    token: str


def decode_constant(token: str) -> NonFinite:
    """``json.loads(parse_constant=...)``: ``NaN``, ``Infinity`` and ``-Infinity``."""
    return NonFinite(token)


def decode_float(token: str) -> float:
    """``json.loads(parse_float=...)``: a float, or ``NonFinite`` when it overflows."""
    value = float(token)
    return value if math.isfinite(value) else NonFinite(token)


def check(value: Any) -> None:
    """Raises ``validation_failed`` naming the first field that breaks a rule above."""
    try:
        _walk(value, 0)
    except _Refused as refused:
        field = _path(refused.keys)
        raise ValidationFailed(f"{field} {refused.reason}", field=field) from None


def check_text(text: str, field: str, what: str | None = None) -> None:
    """Raises ``validation_failed`` naming ``field`` (``what`` in the message, if given) when
    ``text`` holds unstorable characters."""
    reason = _text_problem(text)
    if reason is not None:
        raise ValidationFailed(f"{what or field} {reason}", field=field)


class _Refused(Exception):
    """Unwinds the walk; each level adds its key, so the happy path builds no paths."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.keys: list[str | int] = []


def _walk(value: Any, depth: int) -> None:
    if isinstance(value, str):
        _text(value)
    elif isinstance(value, NonFinite):
        raise _Refused(f"is {value.token}; send a finite number")
    elif isinstance(value, dict):
        _nest(depth)
        _walk_object(value, depth)
    elif isinstance(value, list):
        _nest(depth)
        _walk_array(value, depth)


def _walk_object(value: dict[str, Any], depth: int) -> None:
    for key, item in value.items():
        reason = _text_problem(key)
        if reason is not None:
            raise _Refused(f"has a key that {reason}")
        try:
            _walk(item, depth + 1)
        except _Refused as refused:
            refused.keys.append(key)
            raise


def _walk_array(value: list[Any], depth: int) -> None:
    for index, item in enumerate(value):
        try:
            _walk(item, depth + 1)
        except _Refused as refused:
            refused.keys.append(index)
            raise


def _nest(depth: int) -> None:
    if depth >= MAX_DEPTH:
        raise _Refused(f"nests deeper than {MAX_DEPTH} levels of arrays and objects")


def _text(text: str) -> None:
    reason = _text_problem(text)
    if reason is not None:
        raise _Refused(reason)


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character (\\u0000)"
    if text.isascii():  # O(1) in CPython; ASCII holds no surrogate
        return None
    try:
        text.encode("utf-8")  # fails exactly on lone surrogates, at C speed
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate; send valid Unicode text"
    return None


def _path(keys: list[str | int]) -> str:
    """``["url", 0, "items", "params"]`` (innermost first) as ``params.items[0].url``."""
    path = ""
    for key in reversed(keys):
        if isinstance(key, int):
            path += f"[{key}]"
        else:
            path += f".{key}" if path else str(key)
    return path or "body"
