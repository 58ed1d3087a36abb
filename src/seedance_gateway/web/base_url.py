"""``base_url``: a request's base URL, spelled as Starlette's ``request.base_url`` spells it.

Starlette builds it from a copy of the scope and a parsed URL on every request: about a twentieth
of a status read in the app (issue 19). Here it is remembered per scheme, server, ``Host`` header
and root path, the only parts of the request it depends on. A client can send any ``Host``, so at
most ``REMEMBERED`` of them are kept; past that the memory starts over.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

REMEMBERED = 64

_known: dict[tuple[Any, ...], str] = {}


def base_url(request: Request) -> str:
    """``str(request.base_url)``, without building it again for a known host."""
    scope = request.scope
    root = scope.get("app_root_path", scope.get("root_path", ""))
    key = (scope.get("scheme"), scope.get("server"), request.headers.get("host"), root)
    known = _known.get(key)
    if known is None:
        if len(_known) >= REMEMBERED:
            _known.clear()
        known = _known[key] = str(request.base_url)
    return known
