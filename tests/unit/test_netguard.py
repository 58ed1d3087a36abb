"""The outbound fetch guard's rules, without any server: what is refused, and that nothing connects.

Refusals go through the real guard (``check_url``, ``fetch_to_file``, ``GuardedBackend``).
The only stand-ins are below it: a resolver (the DNS, so ``evil.example`` can "resolve" to a
private address offline) and a recording network backend that dials for real but notes each
``connect_tcp``, so a test can assert no connection was attempted.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Sequence
from pathlib import Path

import httpcore
import pytest

from seedance_gateway.errors import ValidationFailed
from seedance_gateway.netguard import (
    FetchPolicy,
    GuardedBackend,
    URLRejected,
    address_allowed,
    check_url,
    fetch_to_file,
)

PUBLIC_IP = "93.184.215.14"


class FakeDNS:
    """A resolver over a fixed table; records every lookup. Unknown names do not resolve.

    ``later`` is what a name answers from its second lookup on: DNS that changes its mind
    between the check and the connect (rebinding).
    """

    def __init__(
        self, table: dict[str, list[str]], *, later: dict[str, list[str]] | None = None
    ) -> None:
        self.table = table
        self.later = later or {}
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        again = host in self.lookups
        self.lookups.append(host)
        answer = (self.later.get(host) if again else None) or self.table.get(host)
        if answer is None:
            raise OSError(f"no such host {host}")
        return answer


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """The real AnyIO backend, noting the host of every connect."""

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
        return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@pytest.fixture
def dns() -> FakeDNS:
    return FakeDNS({"evil.example": ["10.1.2.3"], "cdn.example": [PUBLIC_IP]})


# --- address_allowed -----------------------------------------------------------------------

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "100.64.0.1",
    "192.0.2.1",
    "240.0.0.1",
    "255.255.255.255",
    "0.1.2.3",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "fec0::1",
    "fc00::1",
    "fd12:3456::1",
    "2001:db8::1",
    "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
    "64:ff9b::a00:1",  # NAT64 wrapping 10.0.0.1
    "::7f00:1",  # deprecated IPv4-compatible form
]
# Refused even with allow_private: nothing to fetch there, or cloud metadata (link-local).
NEVER = [
    "0.0.0.0",
    "::",
    "::ffff:0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "ff02::1",
    "169.254.169.254",
    "::ffff:169.254.169.254",
    "fe80::1",
    "fe80::1%eth0",
]
PUBLIC = ["8.8.8.8", PUBLIC_IP, "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"]


@pytest.mark.parametrize("address", REFUSED + NEVER)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert not address_allowed(ipaddress.ip_address(address), FetchPolicy())


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_allowed(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address), FetchPolicy())


@pytest.mark.parametrize("address", REFUSED)
def test_allow_private_opens_private_ranges(address: str) -> None:
    assert address_allowed(ipaddress.ip_address(address), FetchPolicy(allow_private=True))


@pytest.mark.parametrize("address", NEVER)
def test_unspecified_and_multicast_stay_refused_with_allow_private(address: str) -> None:
    assert not address_allowed(ipaddress.ip_address(address), FetchPolicy(allow_private=True))


@pytest.mark.parametrize(
    "settings",
    [{"max_bytes": 0}, {"timeout_seconds": 0}, {"max_redirects": -1}, {"schemes": ("ftp",)}],
)
def test_policy_rejects_nonsense(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        FetchPolicy(**settings)  # type: ignore[arg-type]


# --- check_url and fetch_to_file refusals --------------------------------------------------

CASES = [
    ("http://127.0.0.1/", "127.0.0.1 is a loopback address; only public addresses are allowed"),
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address"),
    ("http://0.0.0.0/", "0.0.0.0 is an unspecified address; it is never a valid destination"),
    ("http://2130706433/", "2130706433 is a loopback address"),
    ("http://0x7f.1:8080/", "0x7f.1 is a loopback address"),
    ("http://127.1/", "127.1 is a loopback address"),
    ("ftp://example.com/x", "url must be an https or http URL (got ftp:)"),
    ("file:///etc/passwd", "url must be an https or http URL (got file:)"),
    ("/relative/path", "(got a URL without a scheme)"),
    ("https://user:pw@example.com/", "url must not contain credentials"),
    ("https://user@example.com/", "url must not contain credentials"),
    ("http:///nohost", "url has no host"),
    ("http://[::1/", "url is not a valid URL"),
    ("http://example.com:99999/", "url has an invalid port (99999)"),
]


@pytest.mark.parametrize(("url", "reason"), CASES)
async def test_check_url_refuses(url: str, reason: str) -> None:
    with pytest.raises(URLRejected) as caught:
        await check_url(url, FetchPolicy())
    assert reason in caught.value.message
    assert caught.value.field == "url"
    assert isinstance(caught.value, ValidationFailed)
    assert (caught.value.status, caught.value.code) == (400, "validation_failed")


@pytest.mark.parametrize(("url", "reason"), CASES)
async def test_fetch_refuses_without_connecting(url: str, reason: str, tmp_path: Path) -> None:
    backend = RecordingBackend()
    dest = tmp_path / "body"
    with pytest.raises(URLRejected) as caught:
        await fetch_to_file(url, dest, FetchPolicy(), network_backend=backend)
    assert reason in caught.value.message
    assert backend.connects == []
    assert list(tmp_path.iterdir()) == []


async def test_name_resolving_to_loopback_is_refused(tmp_path: Path) -> None:
    """``localhost`` through the real system resolver (``loop.getaddrinfo``)."""
    expected = (
        r"^url: localhost resolves to (127\.0\.0\.1|::1), a loopback address; "
        r"only public addresses are allowed$"
    )
    with pytest.raises(URLRejected, match=expected):
        await check_url("http://localhost/", FetchPolicy())
    backend = RecordingBackend()
    with pytest.raises(URLRejected, match=expected):
        await fetch_to_file(
            "http://localhost/", tmp_path / "b", FetchPolicy(), network_backend=backend
        )
    assert backend.connects == []
    assert list(tmp_path.iterdir()) == []


async def test_credentials_are_not_echoed(tmp_path: Path) -> None:
    with pytest.raises(URLRejected) as caught:
        await fetch_to_file("https://alice:s3cret@example.com/", tmp_path / "b", FetchPolicy())
    assert "s3cret" not in caught.value.message


async def test_literals_and_static_rules_need_no_dns(dns: FakeDNS) -> None:
    for url in ("http://10.0.0.1/", "http://[::1]/", "http://0x7f.1/", "file:///etc/passwd"):
        with pytest.raises(URLRejected):
            await check_url(url, FetchPolicy(), resolve=dns)
    assert dns.lookups == []


async def test_name_resolving_to_private_address_is_refused(dns: FakeDNS) -> None:
    with pytest.raises(URLRejected) as caught:
        await check_url("https://evil.example/a.png", FetchPolicy(), resolve=dns)
    assert caught.value.message == (
        "url: evil.example resolves to 10.1.2.3, a private address; "
        "only public addresses are allowed"
    )


async def test_public_name_passes(dns: FakeDNS) -> None:
    await check_url("https://cdn.example/a.png", FetchPolicy(), resolve=dns)
    assert dns.lookups == ["cdn.example"]


async def test_any_private_answer_refuses_the_name() -> None:
    dns = FakeDNS({"mixed.example": [PUBLIC_IP, "192.168.0.7"]})
    with pytest.raises(URLRejected, match=r"resolves to 192\.168\.0\.7, a private address"):
        await check_url("https://mixed.example/", FetchPolicy(), resolve=dns)


async def test_unresolvable_name_is_refused(dns: FakeDNS) -> None:
    with pytest.raises(URLRejected, match=r"could not resolve host nowhere\.example"):
        await check_url("https://nowhere.example/", FetchPolicy(), resolve=dns)


async def test_resolver_garbage_is_refused() -> None:
    dns = FakeDNS({"odd.example": ["not-an-ip"]})
    with pytest.raises(URLRejected, match="which is not an IP address"):
        await check_url("https://odd.example/", FetchPolicy(), resolve=dns)


async def test_field_name_flows_into_the_error(dns: FakeDNS, tmp_path: Path) -> None:
    with pytest.raises(URLRejected) as caught:
        await fetch_to_file(
            "http://evil.example/x",
            tmp_path / "b",
            FetchPolicy(),
            field="content[1].image_url.url",
            resolve=dns,
        )
    assert caught.value.field == "content[1].image_url.url"
    assert caught.value.message.startswith("content[1].image_url.url: evil.example resolves to")


async def test_allow_private_passes_check_url(dns: FakeDNS) -> None:
    await check_url("http://evil.example/", FetchPolicy(allow_private=True), resolve=dns)
    await check_url("http://127.0.0.1:8000/", FetchPolicy(allow_private=True))


async def test_schemes_setting_narrows(dns: FakeDNS) -> None:
    with pytest.raises(URLRejected, match=r"must be an https URL \(got http:\)"):
        await check_url("http://cdn.example/", FetchPolicy(schemes=("https",)), resolve=dns)


# --- the connection-time check -------------------------------------------------------------


async def test_dns_rebinding_is_caught_at_connect(tmp_path: Path) -> None:
    """The name answers public to the early check, private to the connect: refused, unconnected."""
    dns = FakeDNS({"rebind.example": [PUBLIC_IP]}, later={"rebind.example": ["10.1.2.3"]})
    backend = RecordingBackend()
    url = "http://rebind.example/a.png"
    await check_url(url, FetchPolicy(), resolve=dns)
    with pytest.raises(URLRejected, match=r"rebind\.example resolves to 10\.1\.2\.3"):
        await fetch_to_file(
            url, tmp_path / "b", FetchPolicy(), resolve=dns, network_backend=backend
        )
    assert dns.lookups == ["rebind.example", "rebind.example"]
    assert backend.connects == []


async def test_backend_refuses_before_dialing(dns: FakeDNS) -> None:
    backend = RecordingBackend()
    guarded = GuardedBackend(FetchPolicy(), field="webhook_url", resolve=dns, inner=backend)
    with pytest.raises(URLRejected) as caught:
        await guarded.connect_tcp("evil.example", 443)
    assert caught.value.field == "webhook_url"
    with pytest.raises(URLRejected, match=r"169\.254\.169\.254 is a link-local address"):
        await guarded.connect_tcp("169.254.169.254", 80)
    with pytest.raises(httpcore.ConnectError, match="unix sockets"):
        await guarded.connect_unix_socket("/var/run/docker.sock")
    assert backend.connects == []


async def test_backend_dials_the_checked_ip_not_the_name(dns: FakeDNS) -> None:
    """With private allowed, the inner backend is handed the address that was checked."""
    backend = RecordingBackend()
    dns.table["closed.example"] = ["127.0.0.1"]
    guarded = GuardedBackend(FetchPolicy(allow_private=True), resolve=dns, inner=backend)
    with pytest.raises(httpcore.ConnectError):
        await guarded.connect_tcp("closed.example", 9, timeout=2)  # discard port: closed
    assert backend.connects == ["127.0.0.1"]


async def slow_dns(host: str, port: int) -> Sequence[str]:
    await asyncio.sleep(10)
    return [PUBLIC_IP]


async def test_slow_dns_counts_against_the_timeouts(tmp_path: Path) -> None:
    guarded = GuardedBackend(FetchPolicy(), resolve=slow_dns, inner=RecordingBackend())
    with pytest.raises(httpcore.ConnectTimeout, match=r"resolving slow\.example timed out"):
        await guarded.connect_tcp("slow.example", 80, timeout=0.1)
    with pytest.raises(URLRejected, match=r"^url: fetching the URL timed out after 0\.2 s$"):
        await fetch_to_file(
            "http://slow.example/",
            tmp_path / "b",
            FetchPolicy(timeout_seconds=0.2),
            resolve=slow_dns,
        )
