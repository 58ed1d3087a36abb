"""Serving stored bytes: the stored type, shown ``inline``, under a name that is safe in a header.

A name reaches ``Content-Disposition`` only through ``content_disposition``: an ASCII
``filename="..."`` without quotes, backslashes, control characters, path separators or ``;``,
and, when that fallback is not the name itself, an RFC 5987 ``filename*=UTF-8''...`` with every
byte outside letters, digits and ``._-~`` percent-encoded. Starlette's own ``filename=`` keeps
``/`` and sends no ASCII fallback for other names, so it is not used. The type is the one stored
(sniffed from the bytes), never guessed from a name; ``Range`` requests work as before.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from fastapi.responses import FileResponse

FALLBACK_STEM = "download"
MAX_NAME_CHARS = 150
#: Runs of what may not appear in the ASCII ``filename="..."``.
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._()+ -]+")
_SEPARATORS = re.compile(r"[/\\]")


def file_response(
    path: Path, *, media_type: str, name: str, headers: Mapping[str, str] | None = None
) -> FileResponse:
    """``path`` as ``media_type``, ``inline`` under ``name`` (made safe), with ``headers``."""
    all_headers = {**(headers or {}), "Content-Disposition": content_disposition(name)}
    return FileResponse(path, media_type=media_type, headers=all_headers)


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
