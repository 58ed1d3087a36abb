"""What both drivers share: the base URL and key, and turning an httpx response into a Reply."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from seedance_gateway.client.calls import Call, Reply

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
USER_AGENT = "seedance-gateway-python"


@dataclass(frozen=True)
class Connection:
    """Where the API is and the key to use (flags first, then ``SEEDANCE_*`` variables)."""

    base_url: str
    api_key: str | None
    timeout: float = 60.0

    @classmethod
    def resolve(
        cls, base_url: str | None, api_key: str | None, timeout: float = 60.0
    ) -> Connection:
        url = base_url or os.environ.get("SEEDANCE_BASE_URL") or DEFAULT_BASE_URL
        key = api_key or os.environ.get("SEEDANCE_API_KEY") or None
        return cls(base_url=url.rstrip("/"), api_key=key, timeout=timeout)

    def headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers


def request_args(call: Call) -> dict[str, Any]:
    """The keyword arguments of ``httpx`` ``request`` for ``call`` (files opened by the caller)."""
    args: dict[str, Any] = {"headers": dict(call.headers)}
    if call.params:
        args["params"] = dict(call.params)
    if call.json is not None:
        args["json"] = call.json
    if call.form:
        args["data"] = dict(call.form)
    return args


def reply_of(response: httpx.Response) -> Reply:
    """The status, headers and decoded body (JSON, else the text) of a read response."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    headers = {k.lower(): v for k, v in response.headers.items()}
    return Reply(status=response.status_code, headers=headers, body=body)


def total_of(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None
