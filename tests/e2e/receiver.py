"""A real local webhook receiver for the end-to-end tests (stdlib HTTP server in a thread).

It records every request (path, lower-cased headers, raw body, monotonic arrival time) and
answers from a per-path script: a queue of :class:`Reply` objects, then that path's default,
then the receiver's default (``200``). It can be created on a fixed port and started later
("the receiver was down, now it is up").
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from standardwebhooks import Webhook

T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, headers, an optional delay before answering, a body."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes = b"ok"


@dataclass(frozen=True)
class Record:
    """One request as it arrived, and the reply it was given."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  #: ``time.monotonic()`` when the request (headers and body) had arrived
    reply: Reply

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 that records requests and answers from a script."""

    def __init__(self, port: int = 0, default: Reply | None = None) -> None:
        self.port = port
        self.default = default or Reply()
        self._lock = threading.Lock()
        self._records: list[Record] = []
        self._queues: dict[str, deque[Reply]] = {}
        self._defaults: dict[str, Reply] = {}
        self._closing = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on this receiver."""
        assert self.port, "the receiver has no port yet (start it or give one)"
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply, default: Reply | None = None) -> None:
        """Queues ``replies`` for ``path`` (used in order), then ``default`` for it if given."""
        with self._lock:
            self._queues.setdefault(path, deque()).extend(replies)
            if default is not None:
                self._defaults[path] = default

    def records(self, path: str | None = None) -> list[Record]:
        """The requests so far (to ``path`` only, if given), in arrival order."""
        with self._lock:
            return [r for r in self._records if path is None or r.path == path]

    def wait_for_requests(
        self, count: int, path: str | None = None, timeout: float = 60
    ) -> list[Record]:
        """Waits until at least ``count`` requests (to ``path``) have arrived; returns them all."""

        def enough() -> list[Record]:
            found = self.records(path)
            return found if len(found) >= count else []

        return wait_for(enough, timeout, f"{count} request(s) to {path or 'any path'}")

    def start(self) -> Receiver:
        """Starts listening (on the given port, or a free one)."""
        self._closing.clear()
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops listening; replies still sleeping on a delay are abandoned."""
        self._closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Receiver:
        return self if self._server is not None else self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            queue = self._queues.get(path)
            reply = queue.popleft() if queue else self._defaults.get(path, self.default)
            self._records.append(Record(method, path, headers, body, time.monotonic(), reply))
        return reply


def _handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = receiver._answer(self.command, self.path, headers, body)
            if reply.delay and receiver._closing.wait(reply.delay):
                return
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
            except OSError:  # the client gave up (a timeout, a killed worker)
                self.close_connection = True

        do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the records are the log."""

    return Handler


def verify(record: Record, secrets_: str | Iterable[str]) -> Any:
    """Verifies ``record`` with each given secret (every one must match); returns the payload."""
    keys = [secrets_] if isinstance(secrets_, str) else list(secrets_)
    assert keys, "no secret to verify with"
    payloads = [Webhook(key).verify(record.body, record.headers) for key in keys]
    return payloads[0]


def random_secret() -> str:
    """A well-formed secret nobody signs with."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def wait_for(predicate: Callable[[], T], timeout: float = 30, what: str = "a condition") -> T:
    """Polls ``predicate`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)
