"""HTTP calls to one upstream account, and what each failure means for a paid create.

A create's outcome is one of four (research §5, gateways.md §4 #17-#20):

* ``Accepted``: the upstream's task id.
* ``NotArrived``: the request surely did not reach the upstream or it surely made no task
  (connect error, 429, 500 or 503 returned): safe to send again, on another channel too.
* ``Ambiguous``: it may have made a task (a timeout or a reset after sending, 502 or 504 from a
  proxy in front of the upstream, a 200 we cannot read): reconcile through the list first.
* ``Refused``: the upstream answered no (400, 401, 403, 404 ...): its code goes to the client.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from seedance_gateway import metrics
from seedance_gateway.providers.ark import wire

SURELY_NOT_MADE = {429, 500, 503}  #: statuses after which no task exists upstream
PAGE_MAX = 500


@dataclass(frozen=True)
class Accepted:
    """The upstream made the task."""

    id: str


@dataclass(frozen=True)
class NotArrived:
    """No task was made; the request may be sent again."""

    reason: str
    retry_after: float | None = None
    status: int | None = None  #: the upstream's HTTP status, when it answered


@dataclass(frozen=True)
class Ambiguous:
    """A task may have been made; find it before sending again."""

    reason: str


@dataclass(frozen=True)
class Refused:
    """The upstream refused the request; its code and message go to the client."""

    status: int
    code: str
    message: str


CreateOutcome = Accepted | NotArrived | Ambiguous | Refused


class Unreachable(Exception):
    """A read call (get, lookup, recent, delete, download) failed; try again later."""


class TooLarge(Exception):
    """A result is bigger than the configured cap."""


class ArkClient:
    """One upstream account: base URL and API key (``Authorization: Bearer``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        channel: str = "",
    ) -> None:
        self.channel = channel  #: the channel's name, for the metrics
        self.http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Accept": "application/json",
                "User-Agent": "seedance-gateway",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
        )
        # Result URLs are pre-signed object-store links: never send them our API key.
        self.downloads = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            transport=transport,
        )

    async def close(self) -> None:
        """Closes both connection pools."""
        await self.http.aclose()
        await self.downloads.aclose()

    async def create(self, body: dict[str, Any], *, client_request_id: str) -> CreateOutcome:
        """``POST /contents/generations/tasks``, classified (see the module docstring)."""
        outcome = await self._create(body, client_request_id)
        metrics.upstream_called(self.channel, "create", _OUTCOMES[type(outcome)])
        return outcome

    async def _create(self, body: dict[str, Any], client_request_id: str) -> CreateOutcome:
        try:
            response = await self.http.post(
                "/contents/generations/tasks",
                json=body,
                headers={"X-Client-Request-Id": client_request_id},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return NotArrived(f"could not connect to the upstream: {_describe(exc)}")
        except httpx.WriteError as exc:
            return NotArrived(f"the request could not be sent whole: {_describe(exc)}")
        except httpx.TransportError as exc:
            return Ambiguous(f"no complete answer after sending: {_describe(exc)}")
        return _classify(response)

    async def lookup(self, upstream_ids: list[str], *, service_tier: str) -> list[wire.RemoteTask]:
        """The tasks among ``upstream_ids`` the upstream still has (one call)."""
        params: list[tuple[str, str | int]] = [("page_num", 1), ("page_size", PAGE_MAX)]
        params += [("filter.task_ids", task_id) for task_id in upstream_ids]
        if service_tier != "default":
            params.append(("filter.service_tier", service_tier))
        return await self._list(params)

    async def recent(
        self, model: str, *, service_tier: str, page: int, size: int = 100
    ) -> list[wire.RemoteTask]:
        """A page of the newest tasks of ``model`` (reconciling an ambiguous create)."""
        params: list[tuple[str, str | int]] = [
            ("page_num", page),
            ("page_size", size),
            ("filter.model", model),
        ]
        if service_tier != "default":
            params.append(("filter.service_tier", service_tier))
        return await self._list(params)

    async def get(self, upstream_id: str) -> wire.RemoteTask | None:
        """One task (None when the upstream no longer has it)."""
        response = await self._call("get", "GET", f"/contents/generations/tasks/{upstream_id}")
        if response.status_code == 404:
            return None
        task = wire.parse_task(_json(response))
        if response.status_code != 200 or task is None:
            raise Unreachable(f"get answered {response.status_code}: {response.text[:200]}")
        return task

    async def delete(self, upstream_id: str) -> Refused | None:
        """Cancels a queued task; the upstream's refusal, or None when it was cancelled."""
        response = await self._call(
            "delete", "DELETE", f"/contents/generations/tasks/{upstream_id}"
        )
        if response.status_code == 200:
            return None
        outcome = _classify(response)
        if isinstance(outcome, Refused):
            return outcome
        raise Unreachable(f"delete answered {response.status_code}: {response.text[:200]}")

    async def download(self, url: str, target: Path, *, max_bytes: int) -> int:
        """Streams ``url`` into ``target``, refusing more than ``max_bytes``; the byte count."""
        answered = False
        try:
            async with self.downloads.stream("GET", url) as response:
                answered = True
                metrics.upstream_called(self.channel, "download", _answered(response.status_code))
                return await _save(response, target, max_bytes)
        except httpx.HTTPError as exc:
            if not answered:
                metrics.upstream_called(self.channel, "download", "unreachable")
            raise Unreachable(f"downloading the result failed: {_describe(exc)}") from exc

    async def _list(self, params: list[tuple[str, str | int]]) -> list[wire.RemoteTask]:
        response = await self._call("list", "GET", "/contents/generations/tasks", params=params)
        items = wire.parse_items(_json(response))
        if response.status_code != 200 or items is None:
            raise Unreachable(f"list answered {response.status_code}: {response.text[:200]}")
        return items

    async def _call(self, call: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            metrics.upstream_called(self.channel, call, "unreachable")
            raise Unreachable(f"{method} {path} failed: {_describe(exc)}") from exc
        metrics.upstream_called(self.channel, call, _answered(response.status_code))
        return response


async def _save(response: httpx.Response, target: Path, max_bytes: int) -> int:
    """Writes a result's body to ``target``, refusing more than ``max_bytes``; the byte count."""
    if response.status_code != 200:
        raise Unreachable(f"the result URL answered {response.status_code}")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"the result is {declared} bytes; the limit is {max_bytes}")
    written = 0
    with target.open("wb") as sink:
        async for chunk in response.aiter_bytes():
            written += len(chunk)
            if written > max_bytes:
                raise TooLarge(f"the result is over the limit of {max_bytes} bytes")
            sink.write(chunk)
    return written


#: The ``outcome`` label of a create, by what it came to.
_OUTCOMES: dict[type, str] = {
    Accepted: "accepted",
    NotArrived: "not_arrived",
    Ambiguous: "ambiguous",
    Refused: "refused",
}


def _answered(status: int) -> str:
    """The ``outcome`` label of an answered read call: its status class (``2xx`` ... ``5xx``)."""
    return f"{status // 100}xx"


def _classify(response: httpx.Response) -> CreateOutcome:
    body = _json(response)
    if response.status_code == 200:
        task_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(task_id, str) and task_id:
            return Accepted(task_id)
        return Ambiguous(f"a 200 without a task id: {response.text[:200]!r}")
    if response.status_code in SURELY_NOT_MADE:
        return NotArrived(
            f"the upstream answered {response.status_code} ({_code(body) or 'no code'})",
            retry_after=_retry_after(response),
            status=response.status_code,
        )
    if response.status_code >= 500:
        return Ambiguous(f"the upstream answered {response.status_code}")
    code = _code(body) or f"HTTP{response.status_code}"
    message = (
        _message(body) or response.text[:500] or f"the upstream answered {response.status_code}"
    )
    return Refused(response.status_code, code, message)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _code(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and code else None


def _message(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return message if isinstance(message, str) and message else None


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(raw)) if raw else None
    except ValueError:
        return None


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
