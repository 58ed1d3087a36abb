"""The outbound fetch guard against real HTTP(S) servers on 127.0.0.1.

The servers are raw ``asyncio.start_server`` handlers, so a test can misbehave at will (stream
forever, trickle, redirect anywhere). Fetching from 127.0.0.1 needs ``allow_private=True``;
tests that exercise the public-only policy give a name a public address through the injected
resolver (the DNS) and dial it through a recording backend that forwards that one public
address to 127.0.0.1 (the routing) - the guard above both runs unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpcore
import pytest

from seedance_gateway.netguard import (
    FetchPolicy,
    Resolve,
    URLRejected,
    fetch_to_file,
    guarded_client,
)

PUBLIC_IP = "93.184.215.14"
BODY = bytes(range(256)) * 40  # 10 240 bytes
PRIVATE = FetchPolicy(allow_private=True, timeout_seconds=5)


@dataclass
class Seen:
    """One request as the server received it."""

    path: str
    headers: dict[str, str]


@dataclass
class LocalServer:
    """A misbehaving-on-demand HTTP server; see ``_respond`` for the routes."""

    port: int = 0
    requests: list[Seen] = field(default_factory=list)
    sni: list[str | None] = field(default_factory=list)
    tasks: set[asyncio.Task[object]] = field(default_factory=set)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            line, *lines = head.split("\r\n")
            headers = dict(h.split(": ", 1) for h in lines if ": " in h)
            self.requests.append(Seen(path=line.split(" ")[1], headers=headers))
            await self._respond(line.split(" ")[1], writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()

    async def _respond(self, path: str, writer: asyncio.StreamWriter) -> None:
        route, _, rest = urlsplit(path).path.lstrip("/").partition("/")
        if route == "ok":
            await _reply(writer, "200 OK", BODY, {"Content-Type": "image/png"})
        elif route == "hop":
            left = int(rest)
            target = f"/hop/{left - 1}" if left > 1 else "/ok"
            await _reply(writer, "302 Found", b"", {"Location": target})
        elif route == "to":
            target = parse_qs(urlsplit(path).query)["url"][0]
            await _reply(writer, "307 Temporary Redirect", b"", {"Location": target})
        else:
            await self._misbehave(route, writer)

    async def _misbehave(self, route: str, writer: asyncio.StreamWriter) -> None:
        if route == "endless":  # no Content-Length, streams until the client hangs up
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nConnection: close\r\n\r\n")
            while True:
                writer.write(b"x" * 65536)
                await writer.drain()
        elif route == "huge":  # declares a gigabyte, sends nothing
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(30)
        elif route == "trickle":  # a byte every 50 ms: no single read is slow, the whole is
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(1000):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.05)
        elif route == "silent":
            await asyncio.sleep(30)
        elif route == "gzip":
            await _reply(writer, "200 OK", b"\x1f\x8b", {"Content-Encoding": "gzip"})
        else:
            await _reply(writer, "404 Not Found", b"no such thing", {})


async def _reply(
    writer: asyncio.StreamWriter, status: str, body: bytes, headers: dict[str, str]
) -> None:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
    await writer.drain()


@contextlib.asynccontextmanager
async def serving(tls: ssl.SSLContext | None = None) -> AsyncIterator[LocalServer]:
    state = LocalServer()
    if tls is not None:

        def note_sni(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
            state.sni.append(name)

        tls.sni_callback = note_sni
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0, ssl=tls)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        server.close()
        for task in list(state.tasks):
            task.cancel()
        await asyncio.gather(*state.tasks, return_exceptions=True)
        await server.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[LocalServer]:
    async with serving() as state:
        yield state


class Routing(httpcore.AsyncNetworkBackend):
    """The real AnyIO backend, noting every dial; ``PUBLIC_IP`` is routed to 127.0.0.1."""

    def __init__(self) -> None:
        self.connects: list[str] = []
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append(host)
        target = "127.0.0.1" if host == PUBLIC_IP else host
        return await self._inner.connect_tcp(target, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def dns(table: dict[str, str]) -> Resolve:
    """A resolver over a fixed table (the DNS); unknown names do not resolve."""

    async def resolve(host: str, port: int) -> Sequence[str]:
        if host not in table:
            raise OSError(f"no such host {host}")
        return [table[host]]

    return resolve


# --- the happy path ------------------------------------------------------------------------


async def test_fetch_writes_the_body(server: LocalServer, tmp_path: Path) -> None:
    dest = tmp_path / "ref.png"
    fetched = await fetch_to_file(server.url("/ok"), dest, PRIVATE)
    assert dest.read_bytes() == BODY
    assert (fetched.path, fetched.size) == (dest, len(BODY))
    assert fetched.content_type == "image/png"
    assert fetched.final_url == server.url("/ok")
    assert [p.name for p in tmp_path.iterdir()] == ["ref.png"]
    assert server.requests[0].headers["Accept-Encoding"] == "identity"


async def test_connects_to_the_checked_ip_with_the_original_host_header(
    server: LocalServer, tmp_path: Path
) -> None:
    routing = Routing()
    resolve = dns({"media.example": "127.0.0.1"})
    fetched = await fetch_to_file(
        server.url("/ok", host="media.example"),
        tmp_path / "b",
        PRIVATE,
        resolve=resolve,
        network_backend=routing,
    )
    assert fetched.size == len(BODY)
    assert routing.connects == ["127.0.0.1"]
    assert server.requests[0].headers["Host"] == f"media.example:{server.port}"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for ``media.example`` (openssl CLI)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "1", "-subj", "/CN=media.example", "-keyout", str(key),
         "-out", str(cert), "-addext", "subjectAltName=DNS:media.example"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_tls_uses_the_original_hostname(
    certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    """Dialled by IP, yet SNI and certificate checks see ``media.example``."""
    cert, key = certificate
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    trust = ssl.create_default_context(cafile=str(cert))
    resolve = dns({"media.example": "127.0.0.1", "other.example": "127.0.0.1"})
    async with serving(tls) as state:
        url = f"https://media.example:{state.port}/ok"
        fetched = await fetch_to_file(
            url,
            tmp_path / "b",
            PRIVATE,
            resolve=resolve,
            ssl_context=trust,
        )
        assert fetched.size == len(BODY)
        assert state.sni == ["media.example"]
        with pytest.raises(URLRejected, match="could not fetch the URL"):
            await fetch_to_file(
                f"https://other.example:{state.port}/ok",
                tmp_path / "c",
                PRIVATE,
                resolve=resolve,
                ssl_context=trust,
            )


# --- limits --------------------------------------------------------------------------------


async def test_endless_body_stops_at_the_cap(server: LocalServer, tmp_path: Path) -> None:
    dest = tmp_path / "clip.mp4"
    policy = FetchPolicy(allow_private=True, max_bytes=200_000, timeout_seconds=10)
    started = time.monotonic()
    with pytest.raises(URLRejected) as caught:
        await fetch_to_file(server.url("/endless"), dest, policy)
    assert caught.value.message == "url: the body is larger than 200000 bytes"
    assert time.monotonic() - started < 3  # stopped, not timed out
    assert list(tmp_path.iterdir()) == []  # nothing partial left behind


async def test_cap_in_megabytes_reads_naturally(server: LocalServer, tmp_path: Path) -> None:
    policy = FetchPolicy(allow_private=True, max_bytes=1024 * 1024, timeout_seconds=10)
    with pytest.raises(URLRejected, match="larger than 1 MB"):
        await fetch_to_file(server.url("/endless"), tmp_path / "b", policy)


async def test_declared_oversize_is_refused_before_reading(
    server: LocalServer, tmp_path: Path
) -> None:
    started = time.monotonic()
    with pytest.raises(URLRejected, match="larger than 10 MB"):
        await fetch_to_file(server.url("/huge"), tmp_path / "b", PRIVATE)
    assert time.monotonic() - started < 3


async def test_slow_server_trips_the_timeout(server: LocalServer, tmp_path: Path) -> None:
    policy = FetchPolicy(allow_private=True, timeout_seconds=0.5)
    for path in ("/silent", "/trickle"):
        started = time.monotonic()
        with pytest.raises(URLRejected) as caught:
            await fetch_to_file(server.url(path), tmp_path / "b", policy)
        assert caught.value.message == "url: fetching the URL timed out after 0.5 s"
        assert time.monotonic() - started < 2
    assert list(tmp_path.iterdir()) == []


async def test_error_status_is_refused(server: LocalServer, tmp_path: Path) -> None:
    with pytest.raises(URLRejected) as caught:
        await fetch_to_file(server.url("/missing"), tmp_path / "b", PRIVATE, field="image_url")
    assert caught.value.message == "image_url: the URL answered HTTP 404 Not Found"
    assert caught.value.field == "image_url"


async def test_compressed_body_is_refused(server: LocalServer, tmp_path: Path) -> None:
    with pytest.raises(URLRejected, match="gzip-encoded body"):
        await fetch_to_file(server.url("/gzip"), tmp_path / "b", PRIVATE)


async def test_failure_keeps_an_existing_file(server: LocalServer, tmp_path: Path) -> None:
    dest = tmp_path / "b"
    dest.write_bytes(b"before")
    with pytest.raises(URLRejected):
        await fetch_to_file(server.url("/missing"), dest, PRIVATE)
    assert dest.read_bytes() == b"before"


async def test_unreachable_port_is_refused(tmp_path: Path) -> None:
    with pytest.raises(URLRejected, match="could not fetch the URL"):
        await fetch_to_file("http://127.0.0.1:9/", tmp_path / "b", PRIVATE)


# --- redirects -----------------------------------------------------------------------------


async def test_redirects_within_the_limit_are_followed(server: LocalServer, tmp_path: Path) -> None:
    fetched = await fetch_to_file(server.url("/hop/3"), tmp_path / "b", PRIVATE)
    assert fetched.final_url == server.url("/ok")
    assert [r.path for r in server.requests] == ["/hop/3", "/hop/2", "/hop/1", "/ok"]


async def test_redirects_beyond_the_limit_are_refused(server: LocalServer, tmp_path: Path) -> None:
    with pytest.raises(URLRejected, match=r"too many redirects \(more than 3\)"):
        await fetch_to_file(server.url("/hop/4"), tmp_path / "b", PRIVATE)
    assert len(server.requests) == 4
    no_redirects = FetchPolicy(allow_private=True, max_redirects=0)
    with pytest.raises(URLRejected, match=r"more than 0"):
        await fetch_to_file(server.url("/hop/1"), tmp_path / "b", no_redirects)


async def test_redirect_to_loopback_is_refused_at_the_hop(
    server: LocalServer, tmp_path: Path
) -> None:
    """Public-only policy: cdn.example is public, its redirect to 127.0.0.1 is not followed."""
    routing = Routing()
    resolve = dns({"cdn.example": PUBLIC_IP, "evil.example": "10.1.2.3"})
    start = server.url("/to?url=", host="cdn.example")
    refusals = {
        f"http://127.0.0.1:{server.port}/ok": "127.0.0.1 is a loopback address",
        "http://[::ffff:127.0.0.1]/ok": "::ffff:127.0.0.1 is a loopback address",
        "http://evil.example/ok": "evil.example resolves to 10.1.2.3, a private address",
        "file:///etc/passwd": "url must be an https or http URL (got file:)",
    }
    for target, reason in refusals.items():
        with pytest.raises(URLRejected) as caught:
            await fetch_to_file(
                start + target,
                tmp_path / "b",
                FetchPolicy(timeout_seconds=5),
                resolve=resolve,
                network_backend=routing,
            )
        assert reason in caught.value.message
        assert caught.value.message.endswith("(reached by a redirect)")
    assert routing.connects == [PUBLIC_IP] * len(refusals)  # only ever the first hop
    assert [r.path.split("=", 1)[1] for r in server.requests] == list(refusals)
    with pytest.raises(URLRejected, match="Invalid URL in location header"):
        await fetch_to_file(
            start + "http://[::1",
            tmp_path / "b",
            FetchPolicy(timeout_seconds=5),
            resolve=resolve,
            network_backend=routing,
        )


async def test_public_redirect_chain_is_followed(server: LocalServer, tmp_path: Path) -> None:
    routing = Routing()
    resolve = dns({"cdn.example": PUBLIC_IP, "img.example": PUBLIC_IP})
    start = server.url("/to?url=", host="cdn.example")
    fetched = await fetch_to_file(
        start + server.url("/hop/1", host="img.example"),
        tmp_path / "b",
        FetchPolicy(timeout_seconds=5),
        resolve=resolve,
        network_backend=routing,
    )
    assert fetched.final_url == server.url("/ok", host="img.example")
    assert fetched.size == len(BODY)
    assert set(routing.connects) == {PUBLIC_IP}


# --- the client for other features --------------------------------------------------------


async def test_guarded_client_ignores_proxy_env_and_refuses(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy from the environment would dial around the guard; the client never uses one."""
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{server.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    routing = Routing()
    async with guarded_client(
        FetchPolicy(), field="webhook_url", network_backend=routing
    ) as client:
        response = await client.get(f"http://{PUBLIC_IP}:{server.port}/ok")
        assert (response.status_code, response.content) == (200, BODY)
        with pytest.raises(URLRejected, match=r"webhook_url: 127\.0\.0\.1 is a loopback address"):
            await client.post(server.url("/ok"), json={"event": "done"})
        with pytest.raises(URLRejected, match="must not contain credentials"):
            await client.get(f"http://u:p@{PUBLIC_IP}:{server.port}/ok")
    assert routing.connects == [PUBLIC_IP]
    assert [r.path for r in server.requests] == ["/ok"]  # origin-form: not sent via a proxy
