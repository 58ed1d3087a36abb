"""The one reader of request bodies: streamed under a cap, JSON decoded within bounds.

Every dialect reads its body here, so the same limits hold on every path:

- a declared ``Content-Length`` over the cap is ``413`` before a byte is read, and a body sent
  without one (chunked) stops at the first chunk over the cap;
- while it arrives, a body past ``SPILL_BYTES`` waits in an unlinked temporary file, not in
  memory, so concurrent large or oversized bodies cost disk, not RAM; it is read into memory
  only once it is whole and within the cap;
- a JSON body holds at most ``MAX_VALUES`` commas and brackets, counted as it arrives, a bound
  on its arrays, objects and items (a 32 MB body of ``[{},{},…]`` would otherwise decode into
  ~700 MB of objects);
- a decoder recursion (``[[[[…``) and invalid JSON are ``400``, never a traceback;
- the decoded value passes ``values.check`` (depth, finite numbers, storable text).

Refusals are ``GatewayError`` subclasses; each dialect renders them in its own envelope.
"""

from __future__ import annotations

import json
import tempfile
from typing import Any

from starlette.requests import Request

from seedance_gateway.errors import PayloadTooLarge, ValidationFailed
from seedance_gateway.web import values

#: The cap for authenticated JSON bodies: reference media may come inline as data: URLs.
MAX_BYTES = 32 * 1024 * 1024
#: The cap for bodies anyone may send without a key (sign-in, upstream callbacks).
SMALL_BYTES = 64 * 1024
#: Bodies past this size wait on disk while they arrive.
SPILL_BYTES = 1024 * 1024
#: At most this many commas and brackets in a JSON body: a bound on its values (no accepted
#: body comes near it; base64 data: URLs hold one comma each).
MAX_VALUES = 50_000


async def read(request: Request, max_bytes: int = MAX_BYTES) -> bytes:
    """The raw body: ``413`` once longer than ``max_bytes``, ``400`` once it holds more than
    ``MAX_VALUES`` commas and brackets."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    size = structure = 0
    with tempfile.SpooledTemporaryFile(max_size=SPILL_BYTES) as spool:
        async for chunk in request.stream():
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes)
            structure += _structure(chunk)
            if structure > MAX_VALUES:
                raise _too_many_values()
            spool.write(chunk)
        spool.seek(0)
        return spool.read()


async def read_json(request: Request, max_bytes: int = MAX_BYTES, *, empty: Any = None) -> Any:
    """The decoded JSON body (``empty`` for a blank one), within every bound above."""
    return decode(await read(request, max_bytes), empty=empty)


def decode(raw: bytes, *, empty: Any = None) -> Any:
    """``raw`` (a body from ``read``) as JSON within the bounds, or ``validation_failed`` saying
    what is wrong."""
    if not raw or raw.isspace():
        return empty
    try:
        value = json.loads(
            raw, parse_constant=values.decode_constant, parse_float=values.decode_float
        )
    except RecursionError:
        raise _nested_too_deep() from None
    except json.JSONDecodeError as exc:
        raise ValidationFailed(
            f"request body must be valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            field="body",
        ) from None
    except (ValueError, UnicodeDecodeError):  # bad encodings, integers of over 4300 digits
        raise ValidationFailed("request body must be valid UTF-8 JSON", field="body") from None
    values.check(value)
    return value


def _structure(chunk: bytes) -> int:
    """Commas and opening brackets: with one more, a bound on the JSON values in ``chunk``."""
    return chunk.count(b",") + chunk.count(b"[") + chunk.count(b"{")


def _too_many_values() -> ValidationFailed:
    return ValidationFailed(
        f"request body holds more than {MAX_VALUES} commas and brackets, the most allowed "
        "(send large media with /api/v1/files)",
        field="body",
    )


def _nested_too_deep() -> ValidationFailed:
    return ValidationFailed(
        f"request body nests deeper than {values.MAX_DEPTH} levels of arrays and objects",
        field="body",
    )


def _too_large(max_bytes: int) -> PayloadTooLarge:
    if max_bytes >= 1024 * 1024:
        return PayloadTooLarge(
            f"request body is larger than the {max_bytes // (1024 * 1024)} MB allowed; "
            "upload media with /api/v1/files"
        )
    return PayloadTooLarge(f"request body is larger than the {max_bytes} bytes allowed here")
