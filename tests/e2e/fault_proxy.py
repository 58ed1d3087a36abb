"""A reverse proxy for the end-to-end tests that breaks the upstream link on request.

:class:`FaultProxy` sits between gateway A and gateway B (``upstream_chain``): A's upstream base
URL points at the proxy, which forwards every request to B unchanged, except those matched by a
fault armed from the test (``proxy.arm("status_429")``). Each armed fault is used once per
matching request, ``times`` times (``None``: for every matching request until reset):

* ``status_429`` / ``status_500``: answered at once with the upstream's error JSON (429 with
  ``Retry-After: 1``); B never sees the request.
* ``hang_before_read``: nothing is forwarded and nothing is answered; the proxy holds the
  connection until the client gives up (its timeout) and hangs up.
* ``hang_after_forward``: forwarded to B (B acts on it), then nothing is answered until the
  client gives up.
* ``garbage_json``: forwarded to B, then answered ``200`` with a body that is not JSON.
* ``delay:<seconds>``: forwarded normally after sleeping that long.

Apart from faults, ``proxy.enrich(fields)`` merges ``fields`` into every succeeded task object
the target answers a get or a list with, as an upstream that fills more fields would
(``revised_prompt``, ``usage.tool_usage``); ``enrich(None)`` stops it.

When the target itself cannot be reached (it is restarting), the proxy answers ``502`` with an
error JSON, as a reverse proxy in front of the upstream would.

The proxy also counts the requests it received per (method, path kind): ``tasks`` for the
collection (a ``POST`` is a create, a ``GET`` a list), ``tasks/{id}`` for one task.

It runs uvicorn with a plain ASGI callable on its own asyncio loop in a background thread; use
it as a context manager so that the thread, the loop and every socket are closed.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import httpx
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

FAULTS = ("status_429", "status_500", "hang_before_read", "hang_after_forward", "garbage_json")
#: Headers that describe one hop, not the message: never copied across the proxy.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
}
#: The start of a JSON object, cut off: a ``200`` nobody can read.
GARBAGE = b'{"id": "cgt-2025'


@dataclass
class Fault:
    """One armed fault and the requests it applies to."""

    name: str  #: one of ``FAULTS``, or ``delay:<seconds>``
    method: str | None  #: None matches every method
    path_suffix: str  #: matched against the path without its query
    times: int | None  #: how many requests it breaks; None: every matching one
    used: int = 0  #: how many requests it broke so far

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault (not yet used up) applies to a request."""
        if self.times is not None and self.used >= self.times:
            return False
        return (self.method is None or self.method == method) and path.endswith(self.path_suffix)


def path_kind(path: str) -> str:
    """``tasks`` for the task collection, ``tasks/{id}`` for one task, else the path itself."""
    if path.endswith("/tasks"):
        return "tasks"
    head, _, _ = path.rpartition("/")
    return "tasks/{id}" if head.endswith("/tasks") else path


class FaultProxy:
    """A reverse proxy to ``target`` (e.g. ``http://127.0.0.1:8001``) with armable faults."""

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._counts: Counter[tuple[str, str]] = Counter()
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            interface="asgi3",
            lifespan="off",
            ws="none",
            http="h11",
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._forward: httpx.AsyncClient | None = None
        self._enrich: dict[str, Any] | None = None

    @property
    def url(self) -> str:
        """The proxy's base URL (append the target's paths)."""
        return f"http://127.0.0.1:{self.port}"

    # -- the test's API ------------------------------------------------------------------

    def arm(
        self,
        fault: str,
        *,
        method: str | None = "POST",
        path_suffix: str = "/tasks",
        times: int | None = 1,
    ) -> Fault:
        """Breaks the next ``times`` requests matching ``method`` and ``path_suffix``.

        The default is the next create. Faults apply in the order they were armed; the returned
        object's ``used`` says how many requests it broke.
        """
        name = fault.split(":", 1)[0]
        if name != "delay" and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        if name == "delay":
            float(fault.split(":", 1)[1])  # fails early on a malformed delay
        armed = Fault(fault, method, path_suffix, times)
        with self._lock:
            self._faults.append(armed)
        return armed

    def enrich(self, fields: dict[str, Any] | None) -> None:
        """Merges ``fields`` (one level deep) into succeeded task objects from now on."""
        with self._lock:
            self._enrich = fields

    def reset(self) -> None:
        """Disarms every fault, stops enriching and zeroes the counts."""
        with self._lock:
            self._faults.clear()
            self._counts.clear()
            self._enrich = None

    def count(self, method: str, kind: str = "tasks") -> int:
        """Requests received (faulted or not) with ``method`` and path kind (``path_kind``)."""
        with self._lock:
            return self._counts[(method, kind)]

    @property
    def creates(self) -> int:
        """``POST .../tasks`` received."""
        return self.count("POST", "tasks")

    @property
    def lists(self) -> int:
        """``GET .../tasks`` received."""
        return self.count("GET", "tasks")

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Starts serving in the background; returns once the proxy accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fault proxy did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Releases held connections, stops the server and joins its thread."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=15)
        self._socket.close()

    def __enter__(self) -> FaultProxy:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        # No keep-alive towards the target: a restarted target leaves no stale connection.
        limits = httpx.Limits(max_keepalive_connections=0)
        async with httpx.AsyncClient(timeout=60, limits=limits) as client:
            self._forward = client
            await self._server.serve(sockets=[self._socket])

    # -- the ASGI side -------------------------------------------------------------------

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Counts the request, applies the first matching fault, else forwards it."""
        method: str = scope["method"]
        path: str = scope["path"]
        with self._lock:
            self._counts[(method, path_kind(path))] += 1
            fault = next((f for f in self._faults if f.matches(method, path)), None)
            if fault is not None:
                fault.used += 1
        name = fault.name if fault is not None else ""
        if name == "hang_before_read":
            await self._hold(receive)
            return
        body = await _read_body(receive)
        if name in ("status_429", "status_500"):
            await _answer_error(send, 429 if name == "status_429" else 500)
            return
        if name.startswith("delay:"):
            await asyncio.sleep(float(name.split(":", 1)[1]))
        status, headers, content = await self._relay(scope, body)
        if name == "hang_after_forward":
            await self._hold(receive)
        elif name == "garbage_json":
            await _answer(send, 200, [(b"content-type", b"application/json")], GARBAGE)
        else:
            if method == "GET" and status == 200 and self._enrich:
                content = _enriched(content, self._enrich)
            await _answer(send, status, headers, content)

    async def _relay(
        self, scope: Scope, body: bytes
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Sends the request to the target; its status, headers and raw body (502 if down)."""
        assert self._forward is not None
        query = scope["query_string"].decode("latin-1")
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        url = self.target + path + (f"?{query}" if query else "")
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        request = self._forward.build_request(scope["method"], url, headers=headers, content=body)
        try:
            response = await self._forward.send(request, stream=True)
            try:
                content = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            error = {"code": "BadGateway", "message": str(exc), "type": "BadGateway"}
            return (
                502,
                [(b"content-type", b"application/json")],
                json.dumps({"error": error}).encode(),
            )
        kept = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in HOP_BY_HOP
        ]
        return response.status_code, kept, content

    async def _hold(self, receive: Receive) -> None:
        """Answers nothing until the client hangs up (or the proxy stops).

        The request's bytes are drained only to notice the hang-up; they go nowhere.
        """
        assert self._stopping is not None
        hung_up = asyncio.ensure_future(_until_disconnect(receive))
        stopping = asyncio.ensure_future(self._stopping.wait())
        _, pending = await asyncio.wait({hung_up, stopping}, return_when=asyncio.FIRST_COMPLETED)
        for waiter in pending:
            waiter.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _enriched(content: bytes, fields: dict[str, Any]) -> bytes:
    """``content`` (a task or a ``{"items": [...]}`` list) with ``fields`` merged into each
    succeeded task."""
    body = json.loads(content)
    for task in body.get("items", [body]):
        if task.get("status") != "succeeded":
            continue
        for key, value in fields.items():
            if isinstance(value, dict) and isinstance(task.get(key), dict):
                task[key] = {**task[key], **value}
            else:
                task[key] = value
    return json.dumps(body).encode()


async def _read_body(receive: Receive) -> bytes:
    """The whole request body."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _until_disconnect(receive: Receive) -> None:
    """Returns once the client has hung up."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _answer(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], content: bytes
) -> None:
    """Sends a whole response."""
    length = (b"content-length", str(len(content)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": content})


async def _answer_error(send: Send, status: int) -> None:
    """The upstream's error JSON for a 429 (with ``Retry-After: 1``) or a 500."""
    if status == 429:
        code, message, kind = "RateLimitExceeded", "too many requests (injected)", "TooManyRequests"
    else:
        code, message, kind = "InternalServiceError", "internal error (injected)", "InternalError"
    body = json.dumps({"error": {"code": code, "message": message, "type": kind}}).encode()
    headers = [(b"content-type", b"application/json")]
    if status == 429:
        headers.append((b"retry-after", b"1"))
    await _answer(send, status, headers, body)
