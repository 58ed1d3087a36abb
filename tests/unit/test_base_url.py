"""``web.base_url``: the same string as Starlette's ``request.base_url`` for every scope shape,
and a bounded memory whatever ``Host`` headers clients send."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request

from seedance_gateway.web import base_url as module
from seedance_gateway.web.base_url import REMEMBERED, base_url


def request(host: str | None, **scope: Any) -> Request:
    headers = [(b"host", host.encode("latin-1"))] if host is not None else []
    base = {"type": "http", "scheme": "http", "server": ("127.0.0.1", 8000), "path": "/x"}
    return Request({**base, "headers": headers, "query_string": b"", **scope})


SCOPES = [
    ("example.com", {}),
    ("example.com:8443", {"scheme": "https"}),
    ("gw.example", {"root_path": "/gateway"}),
    ("gw.example", {"root_path": "/gateway/", "app_root_path": "/outer"}),
    (None, {}),
    (None, {"server": ("::1", 80)}),
    (None, {"scheme": "https", "server": ("10.0.0.2", 443)}),
    ("bad host:port:x", {}),
]


@pytest.mark.parametrize(("host", "scope"), SCOPES)
def test_it_spells_the_base_url_as_starlette_does(host: str | None, scope: dict[str, Any]) -> None:
    module._known.clear()
    expected = str(request(host, **scope).base_url)
    assert base_url(request(host, **scope)) == expected
    assert base_url(request(host, **scope)) == expected  # remembered, still the same


def test_two_hosts_get_their_own_urls_and_memory_stays_bounded() -> None:
    module._known.clear()
    assert base_url(request("a.example")) == "http://a.example/"
    assert base_url(request("b.example")) == "http://b.example/"
    for n in range(REMEMBERED * 3):
        base_url(request(f"h{n}.example"))
    assert len(module._known) <= REMEMBERED
    assert base_url(request("a.example")) == "http://a.example/"
