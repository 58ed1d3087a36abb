"""Serving stored bytes: the stored type, shown ``inline``, under a name that is safe in a header.

``blob_response`` streams a blob from whichever store holds it, with ``Range`` support (one
range, ``206``; ``416`` past the end), or, in redirect mode (``SEEDANCE_BLOB_DOWNLOADS=redirect``
on an object store), answers ``307`` to a presigned object URL so that the bytes do not pass
through the API process at all.

A name reaches ``Content-Disposition`` only through ``content_disposition``: an ASCII
``filename="..."`` without quotes, backslashes, control characters, path separators or ``;``,
and, when that fallback is not the name itself, an RFC 5987 ``filename*=UTF-8''...`` with every
byte outside letters, digits and ``._-~`` percent-encoded. The type is the one stored (sniffed
from the bytes), never guessed from a name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from seedance_gateway.blobs import BlobStore
from seedance_gateway.errors import NotFound
from seedance_gateway.web import ranges

FALLBACK_STEM = "download"
MAX_NAME_CHARS = 150
#: How long a presigned object URL of redirect mode is valid.
REDIRECT_TTL = timedelta(minutes=15)
#: Runs of what may not appear in the ASCII ``filename="..."``.
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._()+ -]+")
_SEPARATORS = re.compile(r"[/\\]")


async def blob_response(
    request: Request,
    blobs: BlobStore,
    key: str,
    *,
    media_type: str,
    name: str,
    headers: Mapping[str, str] | None = None,
    redirect: bool = False,
    missing: str = "this file is no longer stored",
) -> Response:
    """The blob under ``key`` as ``media_type``, ``inline`` under ``name`` (made safe); a
    ``Range`` header gets that part. ``NotFound(missing)`` when the blob is gone."""
    size = await blobs.size(key)
    if size is None:
        raise NotFound(missing)
    if redirect and (url := await blobs.direct_url(key, REDIRECT_TTL)) is not None:
        return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
    common = {
        **(headers or {}),
        "Content-Disposition": content_disposition(name),
        "Accept-Ranges": "bytes",
    }
    try:
        part = ranges.requested(request.headers.get("range"), size)
    except ranges.Unsatisfiable:
        return Response(status_code=416, headers={**common, "Content-Range": f"bytes */{size}"})
    if part is not None:
        common["Content-Range"] = part.content_range
    start, end = (part.start, part.end) if part is not None else (0, size)
    try:
        body = await blobs.stream(key, start, end if part is not None else None)
    except KeyError:
        raise NotFound(missing) from None
    return StreamingResponse(
        body if end > start else _nothing(),
        status_code=206 if part is not None else 200,
        media_type=media_type,
        headers={**common, "Content-Length": str(end - start)},
    )


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""


def content_disposition(name: str, disposition: str = "inline") -> str:
    """``inline; filename="plain.png"`` plus ``filename*=UTF-8''...`` when the name is more."""
    full = clean_name(name)
    plain = ascii_name(full)
    value = f'{disposition}; filename="{plain}"'
    if plain != full:
        value += f"; filename*=UTF-8''{quote(full, safe='')}"
    return value


def clean_name(name: str) -> str:
    """The last part of ``name`` after any ``/`` or ``\\``, each control or format character
    made ``_``, without leading dots or surrounding spaces; ``download`` if nothing is left."""
    text = _SEPARATORS.split(unicodedata.normalize("NFC", name))[-1]
    text = "".join("_" if unicodedata.category(c).startswith("C") else c for c in text)
    return text.strip().lstrip(".").strip()[:MAX_NAME_CHARS] or FALLBACK_STEM


def ascii_name(name: str) -> str:
    """An ASCII stand-in for ``name``: accents dropped (``é`` is ``e``), other characters ``_``,
    the extension kept; ``download`` when the stem has nothing left."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    plain_stem = _plain(stem) or FALLBACK_STEM
    plain_extension = _plain(extension)
    return f"{plain_stem}.{plain_extension}" if plain_extension else plain_stem


def _plain(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_PLAIN.sub("_", ascii_text).strip("._ ")
