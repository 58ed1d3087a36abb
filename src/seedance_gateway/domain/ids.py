"""Public identifiers: a prefix plus a time-ordered, random, lowercase Crockford base32 body."""

from __future__ import annotations

import base64
import re
import secrets
import time
import uuid

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix: str, *, now_ms: int | None = None) -> str:
    """``prefix_`` + 26 chars: 48 bits of milliseconds then 80 random bits, so ids sort by time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return f"{prefix}_{_encode((ms << 80) | secrets.randbits(80))}"


def first_id_at(prefix: str, when_ms: int) -> str:
    """The smallest id ``new_id`` can make at ``when_ms``: every id made then or later sorts at
    or after it (a time bound an index on the id can use)."""
    return f"{prefix}_{_encode(when_ms << 80)}"


#: Each task id has four spellings: ours (``task_<body>``), the upstream's
#: (``cgt-<UTC yyyymmddHHMMSS>-<body>``), a UUID (the AceData dialect's ``task_id``) and OpenAI's
#: (``video_<body>``). All carry the same 128 bits, so every dialect reads every task without a
#: lookup table.
TASK_PREFIX = "task"
VIDEO_PREFIX = "video"


def ark_task_id(task_id: str) -> str:
    """The upstream spelling of a task id: ``cgt-20250331175019-<body>``."""
    body = _body(task_id)
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime((_value(body) >> 80) / 1000))
    return f"cgt-{stamp}-{body}"


def video_id(task_id: str) -> str:
    """The OpenAI Videos spelling of a task id: ``video_<body>``."""
    return f"{VIDEO_PREFIX}_{_body(task_id)}"


def uuid_form(task_id: str) -> str:
    """The UUID spelling of a task (or request) id: its 128 bits as 8-4-4-4-12 hex."""
    return str(uuid.UUID(int=_value(_body(task_id))))


def from_uuid(value: str, prefix: str = TASK_PREFIX) -> str | None:
    """The id a ``uuid_form`` came from, or ``None`` if ``value`` is not a UUID."""
    try:
        number = uuid.UUID(value.strip()).int
    except ValueError:
        return None
    return f"{prefix}_{_encode(number)}"


def task_id_of(value: str) -> str:
    """Our task id for any of its spellings; anything unrecognised is returned unchanged."""
    text = value.strip()
    if text.startswith("cgt-"):
        stamp, _, body = text[4:].partition("-")
        if len(stamp) == 14 and stamp.isdigit() and _is_body(body):
            return f"{TASK_PREFIX}_{body}"
        return text
    if text.count("-") == 4:
        return from_uuid(text) or text
    prefix, _, body = text.partition("_")
    if prefix == VIDEO_PREFIX and _is_body(body):
        return f"{TASK_PREFIX}_{body}"
    return text


def is_task_id(value: str) -> bool:
    """Whether ``value`` is a task id in our own spelling (``task_<body>``)."""
    prefix, _, body = value.partition("_")
    return prefix == TASK_PREFIX and _is_body(body)


def _body(task_id: str) -> str:
    body = task_id.partition("_")[2]
    if not _is_body(body):
        raise ValueError(f"not one of our ids: {task_id!r}")
    return body


def _is_body(body: str) -> bool:
    return _BODY.fullmatch(body) is not None


def _value(body: str) -> int:
    return int(body.translate(_TO_INT_DIGITS), 32)


#: A body: 26 of our digits, the first at most 7 (130 bits hold 128).
_BODY = re.compile(f"[0-7][{_ALPHABET}]{{25}}")
#: Our digits to the ones ``int(text, 32)`` reads (``0-9a-v``).
_TO_INT_DIGITS = str.maketrans(_ALPHABET, "0123456789abcdefghijklmnopqrstuv")


#: RFC 4648's base32 alphabet to ours (``_encode`` lets the C encoder do the work).
_FROM_RFC4648 = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def _encode(number: int) -> str:
    """The 26 base32 digits of a number under 2**130, most significant first: its 130 bits
    shifted to the top of 160 (20 bytes, 32 digits), of which the first 26 digits."""
    digits = base64.b32encode((number << 30).to_bytes(20, "big"))[:26]
    return digits.translate(_FROM_RFC4648).decode()
