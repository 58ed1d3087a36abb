"""The outbound fetch guard: every request the gateway makes to a URL a client gave goes here.

Reference-media URLs today, webhooks later. A client-supplied URL is a request to make *us*
connect somewhere, so before any byte leaves we refuse what a client must not reach through us:
loopback, private networks, link-local (cloud metadata at 169.254.169.254), shared/CGNAT space,
multicast, reserved and unspecified addresses, IPv6 forms of all of those, plus non-HTTP
schemes and URLs with credentials in them.

Where the check happens, and why there
--------------------------------------
Checking a URL's name and then letting the HTTP client resolve it again leaves a DNS-rebinding
hole: the name may answer "public" to the check and "10.0.0.1" to the connect. So the check
that counts runs *at connection time*, in :class:`GuardedBackend`, an
``httpcore.AsyncNetworkBackend`` wrapper. httpcore asks it for ``connect_tcp(host, port)``; it
resolves ``host`` once, refuses if any address is not allowed, and dials the validated IP
itself (the inner backend only ever sees IP literals). httpcore then calls ``start_tls`` on the
stream with ``server_hostname`` taken from the request's origin, not from the socket, and the
``Host`` header comes from the request, so TLS SNI, certificate verification and virtual
hosting still use the original hostname (httpcore/_async/connection.py, ``_connect``).

:class:`GuardedTransport` plugs that backend into httpx: an ``httpx.AsyncBaseTransport`` over
``httpcore.AsyncConnectionPool(network_backend=GuardedBackend(...))`` that maps requests,
responses and errors the way httpx's own ``AsyncHTTPTransport`` does. A transport (rather than
``AsyncHTTPTransport`` with its private ``_pool`` swapped) keeps us on public APIs, and
:func:`guarded_client` builds the client with ``trust_env=False`` so no ``HTTP(S)_PROXY``
variable can route around the guard. Redirects are followed by :func:`fetch_to_file` itself,
so every hop is checked again, statically before the request and by address at connect.

:func:`check_url` is the early, friendly form of the same rules (for validating a request
before a task is created); it is advice, the connect-time check is the enforcement.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http
import ipaddress
import os
import secrets
import socket
import ssl
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Sequence,
)
from dataclasses import dataclass
from pathlib import Path

import httpcore
import httpx

from seedance_gateway.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: ``resolve(host, port)`` -> the host's addresses as strings (the DNS; tests inject their own).
Resolve = Callable[[str, int], Awaitable[Sequence[str]]]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
SUPPORTED_SCHEMES = frozenset({"http", "https"})
USER_AGENT = "seedance-gateway (outbound fetch)"
_SHARED = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_LEGACY_IPV4_CHARS = frozenset("0123456789abcdefxABCDEFX.")


@dataclass(frozen=True, kw_only=True)
class FetchPolicy:
    """What an outbound fetch may do; one per feature, from the operator's settings."""

    allow_private: bool = False  #: reach loopback/private/link-local too (tests, trusted LANs)
    max_bytes: int = 10 * 1024 * 1024
    timeout_seconds: float = 20.0  #: the whole fetch, redirects included
    max_redirects: int = 3  #: each hop re-checked; 0 = follow none
    schemes: tuple[str, ...] = ("https", "http")

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.timeout_seconds <= 0 or self.max_redirects < 0:
            raise ValueError("max_bytes and timeout_seconds must be > 0, max_redirects >= 0")
        if not self.schemes or not set(self.schemes) <= SUPPORTED_SCHEMES:
            raise ValueError(f"schemes must be a non-empty subset of {sorted(SUPPORTED_SCHEMES)}")


@dataclass(frozen=True, kw_only=True)
class Fetched:
    """A body fetched to a file."""

    path: Path  #: where the body was written
    size: int
    content_type: str | None
    final_url: str  #: after redirects


class URLRejected(ValidationFailed):
    """The URL may not be fetched; the message says which rule and why (400 validation_failed)."""


class UnresolvableHost(URLRejected):
    """The host did not resolve (may be temporary, unlike the other refusals)."""


# --- addresses -----------------------------------------------------------------------------


def address_allowed(ip: IPAddress, policy: FetchPolicy) -> bool:
    """Whether the gateway may connect to ``ip`` under ``policy``."""
    return _refusal(ip, policy) is None


def _refusal(ip: IPAddress, policy: FetchPolicy) -> str | None:
    """Why ``ip`` is refused ("a private address"), or None when it is allowed."""
    embedded = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    target: IPAddress = embedded if embedded is not None else ip
    if target.is_unspecified:
        return "an unspecified address"
    if target.is_multicast:
        return "a multicast address"
    if target.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if policy.allow_private:
        return None
    return _non_public(target)


def _non_public(ip: IPAddress) -> str | None:
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED, "a shared (CGNAT) address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a site-local address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip in _IPV4_COMPATIBLE, "a reserved address"),
        (ip.is_reserved, "a reserved address"),
        (ip.is_private, "a private address"),
        (not ip.is_global, "a non-public address"),
    )
    return next((label for failed, label in checks if failed), None)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP literal, including legacy IPv4 forms (``2130706433``, ``0x7f.1``)."""
    bare = host.rstrip(".") if host.count(":") == 0 else host
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(bare)
    if bare and set(bare) <= _LEGACY_IPV4_CHARS and any(c.isdigit() for c in bare):
        with contextlib.suppress(OSError):
            return ipaddress.IPv4Address(socket.inet_aton(bare))
    return None


async def system_resolve(host: str, port: int) -> list[str]:
    """The host's TCP addresses from the system resolver (``loop.getaddrinfo``)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


async def allowed_addresses(
    host: str, port: int, policy: FetchPolicy, *, field: str = "url", resolve: Resolve
) -> list[IPAddress]:
    """Every address ``host`` resolves to, or URLRejected if any of them is not allowed."""
    literal = _literal_address(host)
    addresses = [literal] if literal else await _resolved(host, port, resolve, field)
    for address in addresses:
        reason = _refusal(address, policy)
        if reason is None:
            continue
        verb = "is" if literal else f"resolves to {address},"
        never = address.is_unspecified or address.is_multicast
        rule = "it is never a valid destination" if never else "only public addresses are allowed"
        raise URLRejected(f"{field}: {host} {verb} {reason}; {rule}", field=field)
    return addresses


async def _resolved(host: str, port: int, resolve: Resolve, field: str) -> list[IPAddress]:
    try:
        found = await resolve(host, port)
    except (OSError, UnicodeError):
        found = []
    addresses: list[IPAddress] = []
    for text in dict.fromkeys(found):
        try:
            addresses.append(ipaddress.ip_address(text))
        except ValueError:
            raise URLRejected(
                f"{field}: {host} resolves to {text!r}, which is not an IP address", field=field
            ) from None
    if not addresses:
        raise UnresolvableHost(f"{field}: could not resolve host {host}", field=field)
    return addresses


# --- URLs ----------------------------------------------------------------------------------


def checked_url(url: str | httpx.URL, policy: FetchPolicy, *, field: str = "url") -> httpx.URL:
    """``url`` parsed, or URLRejected for a bad scheme, credentials or a missing host."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise URLRejected(f"{field} is not a valid URL", field=field) from None
    if parsed.scheme not in policy.schemes:
        allowed = " or ".join(policy.schemes)
        got = f"{parsed.scheme}:" if parsed.scheme else "a URL without a scheme"
        raise URLRejected(f"{field} must be an {allowed} URL (got {got})", field=field)
    if parsed.userinfo:
        raise URLRejected(f"{field} must not contain credentials (user:password@host)", field=field)
    if not parsed.host:
        raise URLRejected(f"{field} has no host", field=field)
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise URLRejected(f"{field} has an invalid port ({parsed.port})", field=field)
    return parsed


async def check_url(
    url: str, policy: FetchPolicy, *, field: str = "url", resolve: Resolve = system_resolve
) -> None:
    """Refuses ``url`` (URLRejected) unless its scheme, shape and every address are allowed."""
    parsed = checked_url(url, policy, field=field)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    await allowed_addresses(host, port, policy, field=field, resolve=resolve)


# --- connection-time enforcement -----------------------------------------------------------


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """A network backend that only ever connects to addresses the policy allows.

    ``connect_tcp`` resolves the host itself, checks every address and dials a checked IP, so
    the address connected to is the address checked (no DNS-rebinding window).
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        field: str = "url",
        resolve: Resolve = system_resolve,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._policy = policy
        self._field = field
        self._resolve = resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self._checked(host, port, timeout)
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # allowed_addresses never returns an empty list
        raise failure

    async def _checked(self, host: str, port: int, timeout: float | None) -> list[IPAddress]:
        """The host's addresses, all allowed; resolving counts against the connect timeout."""
        try:
            async with asyncio.timeout(timeout):
                return await allowed_addresses(
                    host, port, self._policy, field=self._field, resolve=self._resolve
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from None

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not allowed for outbound fetches")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


_HTTPCORE_TO_HTTPX: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's exceptions as httpx's (most specific first); anything else passes through."""
    try:
        yield
    except Exception as exc:
        for core, mapped in _HTTPCORE_TO_HTTPX:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        aclose = getattr(self._stream, "aclose", None)
        if aclose is not None:
            await aclose()


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose every connection goes through :class:`GuardedBackend`.

    It also re-applies the static URL rules (scheme, credentials, host) to each request, so a
    client built on it cannot be pointed at ``file:`` or ``user:pw@`` URLs either.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        field: str = "url",
        resolve: Resolve = system_resolve,
        network_backend: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._policy = policy
        self._field = field
        backend = GuardedBackend(policy, field=field, resolve=resolve, inner=network_backend)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context, network_backend=backend, http1=True, http2=False
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        checked_url(request.url, self._policy, field=self._field)
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def guarded_client(
    policy: FetchPolicy,
    *,
    field: str = "url",
    resolve: Resolve = system_resolve,
    network_backend: httpcore.AsyncNetworkBackend | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> httpx.AsyncClient:
    """An httpx client for untrusted URLs: guarded connects, no env proxies, no auto-redirects."""
    transport = GuardedTransport(
        policy,
        field=field,
        resolve=resolve,
        network_backend=network_backend,
        ssl_context=ssl_context,
    )
    return httpx.AsyncClient(
        transport=transport,
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(policy.timeout_seconds),
        headers={"User-Agent": USER_AGENT},
    )


# --- fetching ------------------------------------------------------------------------------


async def fetch_to_file(
    url: str,
    dest: Path,
    policy: FetchPolicy,
    *,
    field: str = "url",
    resolve: Resolve = system_resolve,
    network_backend: httpcore.AsyncNetworkBackend | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Fetched:
    """GETs ``url`` into ``dest`` under ``policy``; URLRejected says why it could not.

    The body goes to a temporary file next to ``dest`` that replaces ``dest`` only on success,
    so a refused or failed fetch leaves no partial file (and an existing ``dest`` untouched).
    """
    part = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")
    client = guarded_client(
        policy,
        field=field,
        resolve=resolve,
        network_backend=network_backend,
        ssl_context=ssl_context,
    )
    try:
        async with client, asyncio.timeout(policy.timeout_seconds):
            fetched = await _follow(client, url, part, policy, field)
        os.replace(part, dest)
    except (TimeoutError, httpx.TimeoutException):
        raise URLRejected(
            f"{field}: fetching the URL timed out after {policy.timeout_seconds:g} s", field=field
        ) from None
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise URLRejected(f"{field}: could not fetch the URL: {reason}", field=field) from None
    finally:
        part.unlink(missing_ok=True)
    return dataclasses.replace(fetched, path=dest)


async def _follow(
    client: httpx.AsyncClient, url: str, part: Path, policy: FetchPolicy, field: str
) -> Fetched:
    """GETs ``url``, following up to ``policy.max_redirects`` redirects, each one re-checked."""
    current = checked_url(url, policy, field=field)
    location: str | None = None
    for hop in range(policy.max_redirects + 1):
        with _redirect_context(hop, field):
            if location is not None:
                current = _redirected(current, location, policy, field)
            # Media is compressed already; identity keeps max_bytes the size on disk and rules
            # out decompression bombs.
            headers = {"Accept-Encoding": "identity"}
            async with client.stream("GET", current, headers=headers) as response:
                location = _redirect_target(response, field)
                if location is None:
                    return await _save(response, part, policy, field)
    raise URLRejected(
        f"{field}: too many redirects (more than {policy.max_redirects})", field=field
    )


def _redirected(current: httpx.URL, location: str, policy: FetchPolicy, field: str) -> httpx.URL:
    """The URL a redirect points to, checked like the first one."""
    try:
        target = current.join(location)
    except httpx.InvalidURL:
        raise URLRejected(f"{field} is not a valid URL", field=field) from None
    return checked_url(target, policy, field=field)


@contextlib.contextmanager
def _redirect_context(hop: int, field: str) -> Iterator[None]:
    """Marks a refusal that happened on a URL reached by a redirect (hop 0 is the client's)."""
    try:
        yield
    except URLRejected as exc:
        if hop == 0:
            raise
        raise URLRejected(f"{exc.message} (reached by a redirect)", field=field) from None


def _redirect_target(response: httpx.Response, field: str) -> str | None:
    """The Location of a redirect, None for a 2xx, URLRejected for anything else."""
    if response.status_code in REDIRECT_STATUSES:
        location = response.headers.get("location")
        if not location:
            raise URLRejected(f"{field}: the URL redirects without a Location", field=field)
        return str(location)
    if not response.is_success:
        status = _status_text(response.status_code)
        raise URLRejected(f"{field}: the URL answered HTTP {status}", field=field)
    return None


def _status_text(code: int) -> str:
    """``404 Not Found``; the standard phrase, never the server's own text."""
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


async def _save(response: httpx.Response, part: Path, policy: FetchPolicy, field: str) -> Fetched:
    """Streams the body into ``part``, refusing it at the first byte over the cap."""
    _check_headers(response, policy, field)
    size = 0
    with part.open("wb") as sink:
        async for chunk in response.aiter_raw():
            size += len(chunk)
            if size > policy.max_bytes:
                raise URLRejected(_too_large(policy, field), field=field)
            sink.write(chunk)
    return Fetched(
        path=part,
        size=size,
        content_type=response.headers.get("content-type"),
        final_url=str(response.url),
    )


def _check_headers(response: httpx.Response, policy: FetchPolicy, field: str) -> None:
    """Refuses a body that is declared too large or encoded despite ``identity``."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise URLRejected(
            f"{field}: the server sent a {encoding}-encoded body; only identity is accepted",
            field=field,
        )
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > policy.max_bytes:
        raise URLRejected(_too_large(policy, field), field=field)


def _too_large(policy: FetchPolicy, field: str) -> str:
    mib = 1024 * 1024
    limit = f"{policy.max_bytes // mib} MB" if policy.max_bytes % mib == 0 else None
    return f"{field}: the body is larger than {limit or f'{policy.max_bytes} bytes'}"
