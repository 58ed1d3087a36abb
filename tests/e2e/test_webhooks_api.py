"""The webhooks management API end to end (docs/webhooks.md, "Endpoints API").

Endpoints (``/api/v1/webhooks``): create, list, get, patch, delete, rotate the secret, send a
test event; their deliveries log (list, get, replay); the account's events
(``/api/v1/webhook-events``); the callback secret; and the ``callback_url`` extension of
``POST /api/v1/generations``. How deliveries are signed, retried and guarded is
``test_webhook_delivery.py``'s business; here a delivery matters only as the API shows it.

Two kinds of server:

* ``shared_server`` (https only, no private addresses) for what must be *refused*: loopback,
  private and link-local literals, ``http://``, credentials. IP literals only: no DNS needed.
* ``hook_server``, one per backend for this module, run with ``SEEDANCE_ALLOW_PRIVATE_URLS`` and
  ``SEEDANCE_WEBHOOK_ALLOW_HTTP`` so endpoints can point at :class:`Receiver`, a stdlib HTTP
  server in a thread on 127.0.0.1. Its retry schedule is ``1,1`` so a failing delivery fails
  for good within seconds.

Tests that count or list things use a fresh account (``create_key``).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from seedance_gateway.store import migrate

from .support import (
    create,
    credits,
    error_message,
    finish,
    listed,
    make_server,
    pg_admin,
    pg_url,
    post,
    small,
)

SUCCEEDED = "generation.succeeded"
FAILED = "generation.failed"
PROCESSING = "generation.processing"
CANCELLED = "generation.cancelled"
EVENT_TYPES = (SUCCEEDED, FAILED, PROCESSING, CANCELLED)
DELIVERY_STATUSES = {"pending", "succeeded", "failed", "cancelled"}
#: The documented fields of the endpoint object (the secret is only in create/rotate answers).
ENDPOINT_KEYS = {
    "id",
    "object",
    "url",
    "description",
    "event_types",
    "enabled",
    "disabled_reason",
    "created_at",
    "updated_at",
}
#: The documented fields of a delivery in the log (``attempts`` on the single GET).
DELIVERY_KEYS = {
    "id",
    "object",
    "endpoint_id",
    "event_id",
    "event_type",
    "task_id",
    "url",
    "status",
    "attempt_count",
    "next_attempt_at",
    "created_at",
    "updated_at",
}
DAY = 86_400
WEEK = 604_800
#: Nobody listens on port 9 (discard); an endpoint may still point there: creation never dials.
DEAD_URL = "http://127.0.0.1:9/hook"

HOOK_SETTINGS = {
    "rate_limit": "100000/minute",
    "max_in_flight": "1000",
    "allow_private_urls": "true",
    "webhook_allow_http": "true",
    "webhook_schedule": "1,1",
}


# --- the receiver ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]  #: lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """A tiny HTTP server in a thread: records every POST, answers ``codes[path]`` (200)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Received] = []
        self.codes: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver.lock:
                    receiver.requests.append(Received(self.path, headers, body))
                    code = receiver.codes.get(self.path, 200)
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                """Silent: the test output is no place for an access log."""

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str | None = None) -> str:
        """A URL on this receiver; a fresh random path unless ``path`` is given."""
        port = self.httpd.server_address[1]
        return f"http://127.0.0.1:{port}{path or '/' + secrets.token_hex(6)}"

    def received(self, url: str) -> list[Received]:
        """What was POSTed to ``url`` so far."""
        path = "/" + url.split("/", 3)[3]
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def answer(self, url: str, code: int) -> None:
        """From now on, POSTs to ``url`` get ``code``."""
        with self.lock:
            self.codes["/" + url.split("/", 3)[3]] = code

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """One receiver for the whole module (each test uses its own paths)."""
    made = Receiver()
    yield made
    made.close()


# --- the webhook-friendly server ---------------------------------------------------------------


@contextmanager
def _fresh_database(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, migrated database on ``backend`` (as the shared servers get theirs)."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("hooks-db") / "seedance.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(migrate.upgrade(url))
        yield url
        return
    template = request.getfixturevalue("pg_template")
    name = f"sdg_hooks_{secrets.token_hex(6)}"
    pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
    try:
        yield pg_url(name)
    finally:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def hook_server(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A server (API and worker) whose endpoints may be ``http://`` on 127.0.0.1."""
    with _fresh_database(shared_backend, request, tmp_path_factory) as url:
        server = make_server(tmp_path_factory.mktemp("hooks"), url, **HOOK_SETTINGS)
        server.key, server.account_id = server.create_key(1_000_000)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(autouse=True)
def _hook_server_logged_no_500(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test during which ``hook_server`` answered a request with a 500; then deletes
    the endpoints of its default account, which would otherwise reach the limit of 20."""
    if "hook_server" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("hook_server")
    mark = len(server.logs())
    yield
    new = server.logs()[mark:]
    with server.client() as client:
        for made in client.get("/api/v1/webhooks").json().get("data", []):
            client.delete(f"/api/v1/webhooks/{made['id']}")
    if "unhandled error" in new:
        pytest.fail(f"the server answered a request with a 500:\n{new[-4000:]}")


# --- helpers -----------------------------------------------------------------------------------


def created_endpoint(client: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    """``POST /api/v1/webhooks`` asserting ``201``; returns the endpoint (with its secret)."""
    response = client.post("/api/v1/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def endpoint(client: httpx.Client, endpoint_id: str) -> dict[str, Any]:
    """``GET /api/v1/webhooks/{id}`` asserting ``200``."""
    response = client.get(f"/api/v1/webhooks/{endpoint_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def endpoints(client: httpx.Client) -> list[dict[str, Any]]:
    """``GET /api/v1/webhooks`` asserting a list; returns its data."""
    response = client.get("/api/v1/webhooks")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list", body
    data: list[dict[str, Any]] = body["data"]
    return data


def sent_test(client: httpx.Client, endpoint_id: str, **body: Any) -> dict[str, Any]:
    """``POST /api/v1/webhooks/{id}/test`` asserting ``202``; returns the queued delivery."""
    response = client.post(f"/api/v1/webhooks/{endpoint_id}/test", json=body)
    assert response.status_code == 202, response.text
    delivery: dict[str, Any] = response.json()
    return delivery


def deliveries_page(client: httpx.Client, endpoint_id: str, **query: Any) -> dict[str, Any]:
    """One page of ``GET /api/v1/webhooks/{id}/deliveries``."""
    response = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries", params=query)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert page["object"] == "list", page
    return page


def delivery_ids(client: httpx.Client, endpoint_id: str, **query: Any) -> list[str]:
    """The ids of every delivery of the endpoint (following cursors), as listed."""
    ids: list[str] = []
    params: dict[str, Any] = {"limit": 100, **query}
    while True:
        page = deliveries_page(client, endpoint_id, **params)
        ids.extend(d["id"] for d in page["data"])
        if not page["has_more"]:
            return ids
        params["after"] = page["next_cursor"]


def delivery_when(
    client: httpx.Client,
    endpoint_id: str,
    delivery_id: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 60,
) -> dict[str, Any]:
    """Polls ``GET .../deliveries/{id}`` until ``done(delivery)``."""
    deadline = time.monotonic() + timeout
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}")
        assert response.status_code == 200, response.text
        body = response.json()
        if done(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"delivery {delivery_id} never got there: {body}")


def events_page(client: httpx.Client, **query: Any) -> dict[str, Any]:
    """One page of ``GET /api/v1/webhook-events``."""
    response = client.get("/api/v1/webhook-events", params=query)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    assert page["object"] == "list", page
    return page


def refusal(response: httpx.Response, codes: tuple[str, ...]) -> str:
    """Asserts a 400 in the error envelope with one of ``codes``; returns the message."""
    assert response.status_code == 400, (response.status_code, response.text)
    code = response.json().get("error", {}).get("code")
    assert code in codes, response.text
    return error_message(response, 400, code)


def at(text: str) -> datetime:
    """An API timestamp as an aware datetime."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.tzinfo is not None, text
    return parsed


def assert_whsec(secret: str) -> None:
    """``whsec_`` + base64 of 32 random bytes."""
    assert secret.startswith("whsec_"), secret
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32, secret


def assert_no_secret(body: dict[str, Any]) -> None:
    """No ``secret`` field and no value that looks like one."""
    assert "secret" not in body, body
    assert not any(str(value).startswith("whsec_") for value in body.values()), body


# --- create ------------------------------------------------------------------------------------


def test_create_is_201_with_a_wh_id_a_whsec_secret_and_the_two_default_event_types(
    hook_server: Any, receiver: Receiver
) -> None:
    """The new endpoint: enabled, succeeded+failed, its secret shown now and never again."""
    key, _ = hook_server.create_key(100)
    url = receiver.url()
    with hook_server.client(key) as client:
        made = created_endpoint(client, url)
        assert set(made) >= ENDPOINT_KEYS, made
        assert made["id"].startswith("wh_"), made
        assert made["object"] == "webhook_endpoint"
        assert made["url"] == url
        assert made["description"] == ""
        assert sorted(made["event_types"]) == sorted([SUCCEEDED, FAILED])
        assert made["enabled"] is True
        assert made["disabled_reason"] is None
        assert at(made["created_at"]) == at(made["updated_at"])
        assert abs(at(made["created_at"]) - datetime.now(UTC)) < timedelta(minutes=2)
        assert_whsec(made["secret"])
        fetched = endpoint(client, made["id"])
        assert_no_secret(fetched)
        assert {k: fetched[k] for k in ENDPOINT_KEYS} == {k: made[k] for k in ENDPOINT_KEYS}
        listing = endpoints(client)
        assert listing == [fetched]
        assert_no_secret(listing[0])


def test_create_takes_opt_in_event_types_a_description_and_enabled_false(
    hook_server: Any, receiver: Receiver
) -> None:
    """All four event types, a description and ``enabled: false`` are kept as sent."""
    with hook_server.client() as client:
        made = created_endpoint(
            client,
            receiver.url(),
            event_types=[CANCELLED, PROCESSING, FAILED, SUCCEEDED],
            description="orders service",
            enabled=False,
        )
        assert sorted(made["event_types"]) == sorted(EVENT_TYPES)
        assert made["description"] == "orders service"
        assert made["enabled"] is False
        fetched = endpoint(client, made["id"])
        assert sorted(fetched["event_types"]) == sorted(EVENT_TYPES)
        assert (fetched["description"], fetched["enabled"]) == ("orders service", False)
        only_processing = created_endpoint(client, receiver.url(), event_types=[PROCESSING])
        assert only_processing["event_types"] == [PROCESSING]
        assert only_processing["secret"] != made["secret"]  # one secret per endpoint


def test_json_null_counts_as_absent_on_create(hook_server: Any, receiver: Receiver) -> None:
    """``null`` for an optional field takes its default, as official SDKs send it."""
    with hook_server.client() as client:
        made = created_endpoint(
            client, receiver.url(), event_types=None, description=None, enabled=None
        )
        assert sorted(made["event_types"]) == sorted([SUCCEEDED, FAILED])
        assert (made["description"], made["enabled"]) == ("", True)


RECEIVER = "<receiver>"  #: stands for a fresh receiver URL in the bodies below

#: (id, body, accepted error codes, words the message must contain).
INVALID_CREATES: list[tuple[str, Any, tuple[str, ...], tuple[str, ...]]] = [
    (
        "unknown-event-type",
        {"url": RECEIVER, "event_types": ["generation.done"]},
        ("validation_failed",),
        ("event_types", *EVENT_TYPES),
    ),
    (
        "one-unknown-among-known-event-types",
        {"url": RECEIVER, "event_types": [SUCCEEDED, "task.succeeded"]},
        ("validation_failed",),
        ("event_types",),
    ),
    (
        "empty-event-types",
        {"url": RECEIVER, "event_types": []},
        ("validation_failed",),
        ("event_types",),
    ),
    (
        "event-types-not-a-list",
        {"url": RECEIVER, "event_types": SUCCEEDED},
        ("validation_failed",),
        ("event_types",),
    ),
    ("missing-url", {"event_types": [SUCCEEDED]}, ("validation_failed",), ("url",)),
    ("url-not-a-string", {"url": 5}, ("validation_failed", "webhook_url_rejected"), ("url",)),
    (
        "unknown-field",
        {"url": RECEIVER, "events": [SUCCEEDED]},
        ("validation_failed",),
        ("events",),
    ),
    (
        "not-a-url",
        {"url": "not a url"},
        ("validation_failed", "webhook_url_rejected"),
        ("url",),
    ),
    (
        "unsupported-scheme",
        {"url": "ftp://127.0.0.1/hook"},
        ("validation_failed", "webhook_url_rejected"),
        ("url", "http"),
    ),
    (
        "credentials-in-the-url",
        {"url": "http://user:hunter2@127.0.0.1:9/hook"},
        ("webhook_url_rejected",),
        ("credentials",),
    ),
    (
        # SEEDANCE_ALLOW_PRIVATE_URLS opens loopback and private ranges, never link-local.
        "link-local-even-where-private-is-allowed",
        {"url": "http://169.254.169.254/latest/meta-data"},
        ("webhook_url_rejected",),
        ("169.254.169.254", "link-local"),
    ),
    ("invalid-json", "{not json", ("validation_failed",), ("JSON",)),
    ("body-an-array", "[1, 2]", ("validation_failed",), ()),
]


def _with_receiver(body: Any, receiver: Receiver) -> Any:
    if isinstance(body, dict) and body.get("url") == RECEIVER:
        return {**body, "url": receiver.url()}
    return body


@pytest.mark.parametrize(
    ("body", "codes", "words"),
    [pytest.param(body, codes, words, id=name) for name, body, codes, words in INVALID_CREATES],
)
def test_an_invalid_create_is_400_naming_the_field(
    hook_server: Any,
    receiver: Receiver,
    body: Any,
    codes: tuple[str, ...],
    words: tuple[str, ...],
) -> None:
    """Each invalid create gets a 400 in the envelope whose message names the problem."""
    with hook_server.client() as client:
        payload = _with_receiver(body, receiver)
        if isinstance(payload, str):
            response = client.post(
                "/api/v1/webhooks",
                content=payload,
                headers={"Content-Type": "application/json"},
            )
        else:
            response = client.post("/api/v1/webhooks", json=payload)
    message = refusal(response, codes)
    for word in words:
        assert word in message, (word, message)


#: (id, url, words the message must contain) refused where only public https is allowed.
REFUSED_URLS = [
    ("http-without-the-operators-consent", "http://8.8.8.8/hook", ("https",)),
    ("loopback", "https://127.0.0.1/x", ("127.0.0.1", "loopback")),
    ("loopback-ipv6", "https://[::1]/x", ("loopback",)),
    ("loopback-as-a-decimal-number", "https://2130706433/x", ("loopback",)),
    ("private", "https://10.0.0.1/x", ("10.0.0.1", "private")),
    ("cloud-metadata", "https://169.254.169.254/", ("169.254.169.254", "link-local")),
    ("credentials", "https://user:hunter2@8.8.8.8/x", ("credentials",)),
]


@pytest.mark.parametrize(
    ("url", "words"), [pytest.param(url, words, id=name) for name, url, words in REFUSED_URLS]
)
def test_a_non_public_or_plain_http_endpoint_url_is_400_webhook_url_rejected(
    shared_server: Any, url: str, words: tuple[str, ...]
) -> None:
    """Without the operator's settings, endpoints must be public ``https`` URLs."""
    with shared_server.client() as client:
        response = client.post("/api/v1/webhooks", json={"url": url})
    message = error_message(response, 400, "webhook_url_rejected")
    for word in words:
        assert word in message, (word, message)


def test_refused_creates_store_no_endpoint(shared_server: Any) -> None:
    """After a run of refused creates the account still has no endpoint."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        for _, url, _ in REFUSED_URLS:
            assert client.post("/api/v1/webhooks", json={"url": url}).status_code == 400
        bad_type = {"url": "https://8.8.8.8/hook", "event_types": ["generation.done"]}
        assert client.post("/api/v1/webhooks", json=bad_type).status_code == 400
        assert endpoints(client) == []


def test_an_account_has_at_most_20_endpoints(hook_server: Any, receiver: Receiver) -> None:
    """The 21st create is refused saying 20; deleting one makes room again."""
    key, _ = hook_server.create_key(100)
    with hook_server.client(key) as client:
        made = [created_endpoint(client, receiver.url())["id"] for _ in range(20)]
        response = client.post("/api/v1/webhooks", json={"url": receiver.url()})
        assert response.status_code in (400, 409), (response.status_code, response.text)
        message = error_message(response, response.status_code, response.json()["error"]["code"])
        assert "20" in message, message
        assert [e["id"] for e in endpoints(client)] == made
        assert client.delete(f"/api/v1/webhooks/{made[0]}").status_code == 200
        again = created_endpoint(client, receiver.url())["id"]
        assert [e["id"] for e in endpoints(client)] == [*made[1:], again]


# --- list and get ------------------------------------------------------------------------------


def test_the_list_holds_only_the_callers_endpoints_oldest_first(
    hook_server: Any, receiver: Receiver
) -> None:
    """Three endpoints list in creation order; another account lists none of them."""
    key, _ = hook_server.create_key(100)
    other, _ = hook_server.create_key(100)
    with hook_server.client(key) as client, hook_server.client(other) as stranger:
        made = [created_endpoint(client, receiver.url(), description=str(i)) for i in range(3)]
        theirs = created_endpoint(stranger, receiver.url())
        listing = endpoints(client)
        assert [e["id"] for e in listing] == [e["id"] for e in made]
        assert [e["description"] for e in listing] == ["0", "1", "2"]
        for entry in listing:
            assert_no_secret(entry)
        assert [e["id"] for e in endpoints(stranger)] == [theirs["id"]]


def test_another_accounts_endpoint_is_404_everywhere_and_stays_untouched(
    hook_server: Any, receiver: Receiver
) -> None:
    """GET, PATCH, DELETE, rotate, test and the deliveries routes all answer 404 not_found."""
    key, _ = hook_server.create_key(100)
    other, _ = hook_server.create_key(100)
    with hook_server.client(key) as owner, hook_server.client(other) as stranger:
        made = created_endpoint(owner, receiver.url())
        wh = made["id"]
        delivery = sent_test(owner, wh)
        before = endpoint(owner, wh)
        base = f"/api/v1/webhooks/{wh}"
        for response in (
            stranger.get(base),
            stranger.patch(base, json={"description": "mine now"}),
            stranger.delete(base),
            stranger.post(f"{base}/rotate-secret", json={}),
            stranger.post(f"{base}/test", json={}),
            stranger.get(f"{base}/deliveries"),
            stranger.get(f"{base}/deliveries/{delivery['id']}"),
            stranger.post(f"{base}/deliveries/{delivery['id']}/replay"),
        ):
            error_message(response, 404, "not_found")
        own = created_endpoint(stranger, receiver.url())["id"]
        foreign = stranger.get(f"/api/v1/webhooks/{own}/deliveries/{delivery['id']}")
        error_message(foreign, 404, "not_found")
        error_message(
            stranger.post(f"/api/v1/webhooks/{own}/deliveries/{delivery['id']}/replay"),
            404,
            "not_found",
        )
        assert endpoint(owner, wh) == before
        assert delivery_ids(owner, wh) == [delivery["id"]]
        assert delivery_ids(stranger, own) == []


def test_unknown_endpoint_and_delivery_ids_are_404_not_found(
    hook_server: Any, receiver: Receiver
) -> None:
    """Ids that do not exist, and a real delivery under the wrong endpoint, are 404."""
    with hook_server.client() as client:
        first = created_endpoint(client, receiver.url())["id"]
        second = created_endpoint(client, receiver.url())["id"]
        delivery = sent_test(client, first)["id"]
        nobody = "wh_" + "0" * 26
        for response in (
            client.get(f"/api/v1/webhooks/{nobody}"),
            client.patch(f"/api/v1/webhooks/{nobody}", json={"description": "x"}),
            client.delete(f"/api/v1/webhooks/{nobody}"),
            client.post(f"/api/v1/webhooks/{nobody}/test", json={}),
            client.get(f"/api/v1/webhooks/{first}/deliveries/dlv_{'0' * 26}"),
            client.post(f"/api/v1/webhooks/{first}/deliveries/dlv_{'0' * 26}/replay"),
            client.get(f"/api/v1/webhooks/{second}/deliveries/{delivery}"),
        ):
            error_message(response, 404, "not_found")


# --- patch -------------------------------------------------------------------------------------


def test_patch_changes_what_is_sent_and_advances_updated_at(
    hook_server: Any, receiver: Receiver
) -> None:
    """A partial patch keeps the other fields; a full one changes url, types, text, enabled."""
    with hook_server.client() as client:
        made = created_endpoint(client, receiver.url(), description="before")
        time.sleep(0.05)
        response = client.patch(f"/api/v1/webhooks/{made['id']}", json={"description": "after"})
        assert response.status_code == 200, response.text
        partial = response.json()
        assert_no_secret(partial)
        assert partial["description"] == "after"
        for name in ("id", "url", "event_types", "enabled", "created_at"):
            assert partial[name] == made[name], name
        assert at(partial["updated_at"]) > at(made["updated_at"])
        time.sleep(0.05)
        new_url = receiver.url()
        changes = {
            "url": new_url,
            "event_types": [PROCESSING, CANCELLED],
            "description": "",
            "enabled": False,
        }
        response = client.patch(f"/api/v1/webhooks/{made['id']}", json=changes)
        assert response.status_code == 200, response.text
        full = response.json()
        assert (full["url"], full["description"], full["enabled"]) == (new_url, "", False)
        assert sorted(full["event_types"]) == sorted([PROCESSING, CANCELLED])
        assert at(full["updated_at"]) > at(partial["updated_at"])
        assert full["created_at"] == made["created_at"]
        assert endpoint(client, made["id"]) == full
        response = client.patch(f"/api/v1/webhooks/{made['id']}", json={"enabled": True})
        assert response.status_code == 200, response.text
        assert response.json()["enabled"] is True
        assert response.json()["disabled_reason"] is None


#: (id, patch body, accepted error codes, words the message must contain).
INVALID_PATCHES: list[tuple[str, dict[str, Any], tuple[str, ...], tuple[str, ...]]] = [
    ("empty-event-types", {"event_types": []}, ("validation_failed",), ("event_types",)),
    (
        "unknown-event-type",
        {"event_types": ["generation.done"]},
        ("validation_failed",),
        ("event_types", *EVENT_TYPES),
    ),
    (
        "credentials-in-the-url",
        {"url": "http://user:hunter2@127.0.0.1:9/hook"},
        ("webhook_url_rejected",),
        ("credentials",),
    ),
    (
        "link-local-url",
        {"url": "http://169.254.169.254/"},
        ("webhook_url_rejected",),
        ("link-local",),
    ),
    ("not-a-url", {"url": "hook"}, ("validation_failed", "webhook_url_rejected"), ("url",)),
    ("unknown-field", {"secret": "whsec_mine"}, ("validation_failed",), ("secret",)),
    (
        "a-bad-field-beside-good-ones",
        {"description": "changed", "enabled": False, "event_types": ["nope"]},
        ("validation_failed",),
        ("event_types",),
    ),
]


@pytest.mark.parametrize(
    ("body", "codes", "words"),
    [pytest.param(body, codes, words, id=name) for name, body, codes, words in INVALID_PATCHES],
)
def test_an_invalid_patch_is_400_and_changes_nothing(
    hook_server: Any,
    receiver: Receiver,
    body: dict[str, Any],
    codes: tuple[str, ...],
    words: tuple[str, ...],
) -> None:
    """A patch is validated like a create, and a refused patch leaves the endpoint as it was."""
    with hook_server.client() as client:
        made = created_endpoint(client, receiver.url(), description="kept")
        before = endpoint(client, made["id"])
        message = refusal(client.patch(f"/api/v1/webhooks/{made['id']}", json=body), codes)
        for word in words:
            assert word in message, (word, message)
        assert endpoint(client, made["id"]) == before


def test_a_patch_follows_the_operators_url_rules_too(shared_server: Any) -> None:
    """Where only public https is allowed, PATCHing in http or loopback is refused likewise."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        made = created_endpoint(client, "https://8.8.8.8/hook")  # a literal: no DNS needed
        try:
            path = f"/api/v1/webhooks/{made['id']}"
            plain = client.patch(path, json={"url": "http://8.8.8.8/hook"})
            assert "https" in error_message(plain, 400, "webhook_url_rejected")
            loopback = client.patch(path, json={"url": "https://127.0.0.1/hook"})
            assert "loopback" in error_message(loopback, 400, "webhook_url_rejected")
            assert endpoint(client, made["id"])["url"] == "https://8.8.8.8/hook"
        finally:
            client.delete(f"/api/v1/webhooks/{made['id']}")


# --- delete ------------------------------------------------------------------------------------


def test_delete_answers_deleted_and_the_endpoint_is_gone(
    hook_server: Any, receiver: Receiver
) -> None:
    """``{id, object, deleted: true}``; then GET, PATCH and DELETE are 404 and the list drops it."""
    key, _ = hook_server.create_key(100)
    with hook_server.client(key) as client:
        kept = created_endpoint(client, receiver.url())
        gone = created_endpoint(client, receiver.url())
        response = client.delete(f"/api/v1/webhooks/{gone['id']}")
        assert response.status_code == 200, response.text
        assert response.json() == {"id": gone["id"], "object": "webhook_endpoint", "deleted": True}
        error_message(client.get(f"/api/v1/webhooks/{gone['id']}"), 404, "not_found")
        patch = client.patch(f"/api/v1/webhooks/{gone['id']}", json={"description": "x"})
        error_message(patch, 404, "not_found")
        error_message(client.delete(f"/api/v1/webhooks/{gone['id']}"), 404, "not_found")
        error_message(client.post(f"/api/v1/webhooks/{gone['id']}/test", json={}), 404, "not_found")
        assert [e["id"] for e in endpoints(client)] == [kept["id"]]


# --- rotate-secret -----------------------------------------------------------------------------


def test_rotate_secret_shows_a_new_secret_and_keeps_the_old_one_for_24_hours(
    hook_server: Any, receiver: Receiver
) -> None:
    """The new secret differs; the previous one expires about a day from now by default."""
    with hook_server.client() as client:
        made = created_endpoint(client, receiver.url())
        response = client.post(f"/api/v1/webhooks/{made['id']}/rotate-secret", json={})
        assert response.status_code == 200, response.text
        rotated = response.json()
        assert rotated["id"] == made["id"]
        assert rotated["object"] == "webhook_endpoint"
        assert_whsec(rotated["secret"])
        assert rotated["secret"] != made["secret"]
        expected = datetime.now(UTC) + timedelta(seconds=DAY)
        assert abs(at(rotated["previous_secret_expires_at"]) - expected) < timedelta(minutes=2)
        assert_no_secret(endpoint(client, made["id"]))
        again = client.post(f"/api/v1/webhooks/{made['id']}/rotate-secret", json={}).json()
        assert_whsec(again["secret"])
        assert again["secret"] not in (made["secret"], rotated["secret"])


@pytest.mark.parametrize("grace", [0, 3600, WEEK])
def test_rotate_secret_takes_a_grace_period_of_0_to_7_days(
    hook_server: Any, receiver: Receiver, grace: int
) -> None:
    """``grace_period_seconds`` sets when the previous secret stops signing."""
    with hook_server.client() as client:
        made = created_endpoint(client, receiver.url())
        response = client.post(
            f"/api/v1/webhooks/{made['id']}/rotate-secret", json={"grace_period_seconds": grace}
        )
        assert response.status_code == 200, response.text
        rotated = response.json()
        assert rotated["secret"] != made["secret"]
        now = datetime.now(UTC)
        if grace == 0 and rotated.get("previous_secret_expires_at") is None:
            return  # an immediate expiry may well be "no previous secret"
        expires = rotated["previous_secret_expires_at"]
        assert abs(at(expires) - (now + timedelta(seconds=grace))) < timedelta(minutes=2)


@pytest.mark.parametrize("grace", [-1, WEEK + 1, "soon", 1.5])
def test_a_grace_period_outside_0_to_7_days_is_400_and_keeps_the_secret(
    hook_server: Any, receiver: Receiver, grace: Any
) -> None:
    """A refused rotation names ``grace_period_seconds`` and rotates nothing."""
    with hook_server.client() as client:
        made = created_endpoint(client, receiver.url())
        before = endpoint(client, made["id"])
        response = client.post(
            f"/api/v1/webhooks/{made['id']}/rotate-secret", json={"grace_period_seconds": grace}
        )
        message = error_message(response, 400, "validation_failed")
        assert "grace_period_seconds" in message, message
        assert endpoint(client, made["id"]) == before


# --- test events and the deliveries log ----------------------------------------------------------


def test_a_test_event_is_a_202_queued_delivery_listed_and_delivered(
    hook_server: Any, receiver: Receiver
) -> None:
    """``POST /test`` queues a ``generation.succeeded`` test delivery the log shows and the
    receiver gets, its ``webhook-id`` being the delivery's ``event_id``."""
    with hook_server.client() as client:
        url = receiver.url()
        made = created_endpoint(client, url)
        queued = sent_test(client, made["id"])
        assert set(queued) >= DELIVERY_KEYS, queued
        assert queued["id"].startswith("dlv_"), queued
        assert queued["object"] == "webhook_delivery"
        assert queued["endpoint_id"] == made["id"]
        assert queued["event_id"].startswith("evt_"), queued
        assert queued["event_type"] == SUCCEEDED
        assert queued["url"] == url
        assert queued["status"] in DELIVERY_STATUSES
        page = deliveries_page(client, made["id"])
        assert [d["id"] for d in page["data"]] == [queued["id"]]
        done = delivery_when(client, made["id"], queued["id"], lambda d: d["status"] != "pending")
        assert done["status"] == "succeeded", done
        assert done["event_id"] == queued["event_id"]
        assert done["attempt_count"] == len(done["attempts"]) == 1, done
        assert done["attempts"][0]["status_code"] == 200, done
        got = receiver.received(url)
        assert len(got) == 1, got
        assert got[0].headers["webhook-id"] == queued["event_id"]
        event = got[0].json()
        assert (event["id"], event["type"], event["test"]) == (queued["event_id"], SUCCEEDED, True)


@pytest.mark.parametrize("event_type", [FAILED, PROCESSING, CANCELLED])
def test_a_test_event_takes_an_event_type(
    hook_server: Any, receiver: Receiver, event_type: str
) -> None:
    """``{"event_type": ...}`` chooses the type of the test event."""
    with hook_server.client() as client:
        made = created_endpoint(client, receiver.url(), event_types=list(EVENT_TYPES))
        queued = sent_test(client, made["id"], event_type=event_type)
        assert queued["event_type"] == event_type
        fetched = client.get(f"/api/v1/webhooks/{made['id']}/deliveries/{queued['id']}")
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["event_type"] == event_type


def test_a_test_event_of_an_unknown_type_is_400_and_queues_nothing(
    hook_server: Any, receiver: Receiver
) -> None:
    """An unknown ``event_type`` is named in a 400 and no delivery appears."""
    with hook_server.client() as client:
        made = created_endpoint(client, receiver.url())
        response = client.post(
            f"/api/v1/webhooks/{made['id']}/test", json={"event_type": "generation.done"}
        )
        message = error_message(response, 400, "validation_failed")
        assert "event_type" in message, message
        assert delivery_ids(client, made["id"]) == []


def test_replay_sends_the_same_event_again_as_a_new_delivery(
    hook_server: Any, receiver: Receiver
) -> None:
    """Replay is 202 with a new delivery id and the same ``event_id`` (same ``webhook-id``)."""
    with hook_server.client() as client:
        url = receiver.url()
        made = created_endpoint(client, url)
        first = sent_test(client, made["id"])
        delivery_when(client, made["id"], first["id"], lambda d: d["status"] == "succeeded")
        response = client.post(f"/api/v1/webhooks/{made['id']}/deliveries/{first['id']}/replay")
        assert response.status_code == 202, response.text
        replay = response.json()
        assert replay["object"] == "webhook_delivery"
        assert replay["id"] != first["id"]
        assert replay["id"].startswith("dlv_"), replay
        assert replay["event_id"] == first["event_id"]
        assert replay["event_type"] == first["event_type"]
        assert replay["endpoint_id"] == made["id"]
        assert delivery_ids(client, made["id"]) == [replay["id"], first["id"]]
        delivery_when(client, made["id"], replay["id"], lambda d: d["status"] == "succeeded")
        assert [r.headers["webhook-id"] for r in receiver.received(url)] == [first["event_id"]] * 2


def test_deliveries_page_newest_first_with_limit_and_after(
    hook_server: Any, receiver: Receiver
) -> None:
    """Three deliveries: ``limit=2`` gives the two newest and a cursor; ``after`` the oldest."""
    with hook_server.client() as client:
        made = created_endpoint(client, receiver.url())
        sent = [sent_test(client, made["id"])["id"] for _ in range(3)]
        page = deliveries_page(client, made["id"], limit=2)
        assert [d["id"] for d in page["data"]] == [sent[2], sent[1]]
        assert page["has_more"] is True
        assert page["next_cursor"]
        rest = deliveries_page(client, made["id"], limit=2, after=page["next_cursor"])
        assert [d["id"] for d in rest["data"]] == [sent[0]]
        assert rest["has_more"] is False
        assert rest["next_cursor"] is None
        everything = deliveries_page(client, made["id"])
        assert [d["id"] for d in everything["data"]] == sent[::-1]
        assert everything["has_more"] is False


def test_deliveries_filter_by_status(hook_server: Any, receiver: Receiver) -> None:
    """One delivery the receiver took and one it kept refusing: ``status`` tells them apart."""
    with hook_server.client() as client:
        url = receiver.url()
        made = created_endpoint(client, url)
        good = sent_test(client, made["id"])["id"]
        delivery_when(client, made["id"], good, lambda d: d["status"] == "succeeded")
        receiver.answer(url, 503)
        bad = sent_test(client, made["id"])["id"]
        failed = delivery_when(client, made["id"], bad, lambda d: d["status"] != "pending")
        assert failed["status"] == "failed", failed
        assert failed["next_attempt_at"] is None, failed
        assert {a["status_code"] for a in failed["attempts"]} == {503}, failed
        assert delivery_ids(client, made["id"], status="succeeded") == [good]
        assert delivery_ids(client, made["id"], status="failed") == [bad]
        assert delivery_ids(client, made["id"], status="pending") == []
        assert delivery_ids(client, made["id"], status="cancelled") == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"status": "done"}, "status"),
    ],
    ids=["limit-0", "limit-101", "limit-not-a-number", "unknown-status"],
)
def test_a_bad_deliveries_query_is_400_naming_it(
    hook_server: Any, receiver: Receiver, query: dict[str, Any], field: str
) -> None:
    """``limit`` is 1..100 and ``status`` one of the delivery statuses."""
    with hook_server.client() as client:
        made = created_endpoint(client, receiver.url())
        response = client.get(f"/api/v1/webhooks/{made['id']}/deliveries", params=query)
    assert field in error_message(response, 400, "validation_failed")


# --- events ------------------------------------------------------------------------------------


def test_a_finished_generation_lists_its_events_newest_first(
    hook_server: Any, receiver: Receiver
) -> None:
    """Processing then succeeded: listed newest first, filtered by type, paged by cursor; the
    subscribed endpoint got a delivery of the succeeded event only."""
    key, _ = hook_server.create_key(100)
    with hook_server.client(key) as client:
        made = created_endpoint(client, receiver.url())
        task = finish(client, create(client, small())["id"])
        events = events_page(client)["data"]
        assert [e["type"] for e in events] == [SUCCEEDED, PROCESSING], events
        for event in events:
            assert event["object"] == "event"
            assert event["id"].startswith("evt_"), event
            assert event["task_id"] == task["id"]
            assert event["data"]["id"] == task["id"]
        assert events[0]["data"]["status"] == "succeeded"
        assert events[0]["data"]["model"] == task["model"]
        assert at(events[0]["created_at"]) >= at(events[1]["created_at"])
        only = events_page(client, type=PROCESSING)["data"]
        assert [e["id"] for e in only] == [events[1]["id"]]
        assert events_page(client, type=FAILED)["data"] == []
        first = events_page(client, limit=1)
        assert [e["id"] for e in first["data"]] == [events[0]["id"]]
        assert first["has_more"] is True
        rest = events_page(client, limit=1, after=first["next_cursor"])
        assert [e["id"] for e in rest["data"]] == [events[1]["id"]]
        assert rest["has_more"] is False
        logged = deliveries_page(client, made["id"])["data"]
        assert [(d["event_id"], d["event_type"]) for d in logged] == [(events[0]["id"], SUCCEEDED)]
        assert logged[0]["task_id"] == task["id"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"type": "generation.done"}, "type"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
    ],
    ids=["unknown-type", "limit-0", "limit-101"],
)
def test_a_bad_events_query_is_400_naming_it(
    shared_server: Any, query: dict[str, Any], field: str
) -> None:
    """``type`` must be a known event type and ``limit`` 1..100."""
    with shared_server.client() as client:
        response = client.get("/api/v1/webhook-events", params=query)
    assert field in error_message(response, 400, "validation_failed")


# --- the callback secret -----------------------------------------------------------------------


def test_the_callback_secret_is_stable_for_an_account_and_differs_between_accounts(
    shared_server: Any,
) -> None:
    """``GET /webhooks/callback-secret``: a ``whsec_`` secret, the same on every call."""
    key, _ = shared_server.create_key(100)
    other, _ = shared_server.create_key(100)
    with shared_server.client(key) as client, shared_server.client(other) as stranger:
        first = client.get("/api/v1/webhooks/callback-secret")
        assert first.status_code == 200, first.text
        secret = first.json()["secret"]
        assert secret.startswith("whsec_"), secret
        assert client.get("/api/v1/webhooks/callback-secret").json()["secret"] == secret
        theirs = stranger.get("/api/v1/webhooks/callback-secret").json()["secret"]
        assert theirs.startswith("whsec_"), theirs
        assert theirs != secret


# --- auth --------------------------------------------------------------------------------------

KEYLESS_ROUTES = [
    ("POST", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks"),
    ("GET", "/api/v1/webhooks/callback-secret"),
    ("GET", "/api/v1/webhooks/wh_00000000000000000000000000"),
    ("PATCH", "/api/v1/webhooks/wh_00000000000000000000000000"),
    ("DELETE", "/api/v1/webhooks/wh_00000000000000000000000000"),
    ("POST", "/api/v1/webhooks/wh_00000000000000000000000000/rotate-secret"),
    ("POST", "/api/v1/webhooks/wh_00000000000000000000000000/test"),
    ("GET", "/api/v1/webhooks/wh_00000000000000000000000000/deliveries"),
    ("GET", "/api/v1/webhook-events"),
]


def test_every_webhooks_route_without_a_key_is_401_api_key_missing(shared_server: Any) -> None:
    """No ``Authorization`` header: 401 before anything else is looked at."""
    for method, path in KEYLESS_ROUTES:
        response = httpx.request(
            method,
            f"{shared_server.url}{path}",
            json={"url": "https://8.8.8.8/hook"} if method in ("POST", "PATCH") else None,
            timeout=30,
        )
        error_message(response, 401, "api_key_missing")


# --- callback_url on POST /api/v1/generations ----------------------------------------------------

#: (id, callback_url, words the message must contain besides ``callback_url``).
REFUSED_CALLBACKS: list[tuple[str, Any, tuple[str, ...]]] = [
    ("unsupported-scheme", "ftp://x", ()),
    ("not-a-url", "call me back", ()),
    ("not-a-string", 5, ()),
    ("http-without-the-operators-consent", "http://8.8.8.8/cb", ("https",)),
    ("loopback", "https://127.0.0.1/cb", ("loopback",)),
    ("private", "https://192.168.1.10/cb", ("private",)),
    ("cloud-metadata", "https://169.254.169.254/cb", ("link-local",)),
    ("credentials", "https://user:hunter2@8.8.8.8/cb", ("credentials",)),
]


@pytest.mark.parametrize(
    ("callback_url", "words"),
    [pytest.param(url, words, id=name) for name, url, words in REFUSED_CALLBACKS],
)
def test_a_bad_callback_url_is_400_validation_failed_naming_callback_url(
    shared_server: Any, callback_url: Any, words: tuple[str, ...]
) -> None:
    """``callback_url`` follows the endpoint URL rules, refused as ``validation_failed``."""
    with shared_server.client() as client:
        response = post(client, {**small(), "callback_url": callback_url})
    message = error_message(response, 400, "validation_failed")
    for word in ("callback_url", *words):
        assert word in message, (word, message)


def test_refused_callback_urls_store_nothing_and_charge_nothing(shared_server: Any) -> None:
    """A create refused for its ``callback_url`` leaves no task and the balance whole."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        for _, url, _ in REFUSED_CALLBACKS:
            assert post(client, {**small(), "callback_url": url}).status_code == 400
        assert listed(client) == []
        assert credits(client) == 100


def test_a_callback_url_the_operator_allows_is_accepted(
    hook_server: Any, receiver: Receiver
) -> None:
    """With private addresses and http allowed, a 127.0.0.1 callback creates the task, whose
    callback deliveries only its owner can list."""
    key, _ = hook_server.create_key(100)
    with hook_server.client(key) as client:
        task = create(client, {**small(), "callback_url": receiver.url()})
        assert task["id"].startswith("task_"), task
        assert [t["id"] for t in listed(client)] == [task["id"]]
        callbacks = client.get(f"/api/v1/generations/{task['id']}/deliveries")
        assert callbacks.status_code == 200, callbacks.text
        assert callbacks.json()["object"] == "list"
    other, _ = hook_server.create_key(100)
    with hook_server.client(other) as stranger:
        theirs = stranger.get(f"/api/v1/generations/{task['id']}/deliveries")
        error_message(theirs, 404, "not_found")
