"""Webhook and callback delivery end to end: real ``seedance`` processes, a real local receiver.

Each test registers endpoints (``POST /api/v1/webhooks``) or a per-request ``callback_url``
pointing at :class:`~tests.e2e.receiver.Receiver`, runs real generations, and checks both sides:
what arrived at the receiver (the Standard Webhooks envelope, verified against the raw body) and
what the gateway logged (``/webhooks/{id}/deliveries``, ``/webhook-events``). Retries use short
schedules so failures, ``Retry-After``, timeouts, redirects, ``410`` and a ``kill -9`` of the
delivering worker all play out in seconds. Contract: ``docs/webhooks.md``.

The servers start side by side once per backend: most tests share two of them (one per retry
configuration), each test on an account of its own; the test that kills a worker and the one
that turns private URLs off have servers of their own.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from standardwebhooks import WebhookVerificationError

from ports import free_port

from .conftest import Spec, no_unhandled_errors, shared_many, workers
from .receiver import Receiver, Record, Reply, random_secret, verify, wait_for
from .support import ISO_MS, create, download, error_message, finish, post, small

#: Loopback receivers over plain HTTP, a short retry schedule and timeout.
HOOKS = {
    "allow_private_urls": "true",
    "webhook_allow_http": "true",
    "webhook_schedule": "0.3,0.3",
    "webhook_timeout_seconds": "2",
}
#: For the tests that watch retries play out: a long schedule (a receiver down for a while)
#: whose first delay (0.5 s) is still far shorter than a ``Retry-After: 2``, and a 1 s timeout.
RETRYING = {**HOOKS, "webhook_schedule": "0.5,1,1" + ",2" * 20, "webhook_timeout_seconds": "1"}
#: For a worker killed mid-delivery: short leases, a timeout longer than the receiver's hang.
KILLED_WORKER = {
    **HOOKS,
    "lease_seconds": "3",
    "heartbeat_seconds": "1",
    "webhook_timeout_seconds": "60",
}
ENVELOPE_KEYS = {"id", "type", "timestamp", "data"}
DEFAULT_TYPES = {"generation.succeeded", "generation.failed"}
GENERATION_TYPES = DEFAULT_TYPES | {"generation.processing", "generation.cancelled"}
USER_AGENT = "seedance-gateway (webhooks)"
SECRET = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")
TIMEOUT_WORDS = re.compile(r"time\s*-?\s*out|timed out", re.IGNORECASE)


@pytest.fixture(scope="module")
def hook_servers(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """This module's servers per backend, started at once.

    ``hooks`` (:data:`HOOKS`) and ``retry`` (:data:`RETRYING`) are shared; ``killed_worker``
    (:data:`KILLED_WORKER`, API only and one worker process) belongs to one test, and so
    do ``private_allowed`` (:data:`HOOKS`, API only) and ``private_refused`` (private URLs off),
    which share a database.
    """
    specs = {
        "hooks": Spec(HOOKS),
        "retry": Spec(RETRYING),
        "killed_worker": Spec(KILLED_WORKER, ("--no-worker",), workers=1),
        "private_allowed": Spec(HOOKS, ("--no-worker",), database="private"),
        "private_refused": Spec({**HOOKS, "allow_private_urls": "false"}, database="private"),
    }
    for servers in shared_many(shared_backend, request, tmp_path_factory, *specs.values()):
        yield dict(zip(specs, servers, strict=True))
        for server in servers:
            logs = server.logs()
            assert "unhandled error" not in logs, logs[-4000:]


@pytest.fixture
def hooks_server(hook_servers: dict[str, Any]) -> Any:
    """The shared server with :data:`HOOKS`."""
    return hook_servers["hooks"]


@pytest.fixture
def retry_server(hook_servers: dict[str, Any]) -> Any:
    """The shared server with :data:`RETRYING`."""
    return hook_servers["retry"]


@pytest.fixture(autouse=True)
def _hook_servers_answer_no_500(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails the test during which a server of this module logged an unhandled error (a 500)."""
    if "hook_servers" not in request.fixturenames:
        yield
        return
    with no_unhandled_errors(*request.getfixturevalue("hook_servers").values()):
        yield


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A started receiver on a free port."""
    with Receiver() as started:
        yield started


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def own_account(server: Any) -> Iterator[httpx.Client]:
    """A client of a new account (10 000 credits) on a shared server.

    The account's endpoints are deleted afterwards, so that no retry of this test reaches a
    later test's receiver (which might get the same port).
    """
    key, _ = server.create_key(10_000)
    with server.client(key) as client:
        yield client
        for endpoint in _get(client, "/api/v1/webhooks")["data"]:
            gone = client.delete(f"/api/v1/webhooks/{endpoint['id']}")
            assert gone.status_code == 200, gone.text


def register(client: httpx.Client, url: str, **fields: Any) -> dict[str, Any]:
    """``POST /api/v1/webhooks``; returns the created endpoint (with its ``secret``)."""
    response = client.post("/api/v1/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    endpoint: dict[str, Any] = response.json()
    return endpoint


def _get(client: httpx.Client, path: str, **query: Any) -> Any:
    response = client.get(path, params=query)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def deliveries(client: httpx.Client, endpoint_id: str) -> list[dict[str, Any]]:
    """The endpoint's deliveries log, newest first."""
    found: list[dict[str, Any]] = _get(client, f"/api/v1/webhooks/{endpoint_id}/deliveries")["data"]
    return found


def delivery(client: httpx.Client, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    """One delivery with all its attempts."""
    found: dict[str, Any] = _get(client, f"/api/v1/webhooks/{endpoint_id}/deliveries/{delivery_id}")
    return found


def settled(
    client: httpx.Client, endpoint_id: str, count: int = 1, timeout: float = 120
) -> list[dict[str, Any]]:
    """Waits until the endpoint has ``count`` deliveries, none pending; returns them in full."""

    def done() -> list[dict[str, Any]]:
        found = deliveries(client, endpoint_id)
        ready = len(found) >= count and all(d["status"] != "pending" for d in found)
        return found if ready else []

    found = wait_for(done, timeout, f"{count} settled deliveries of {endpoint_id}")
    return [delivery(client, endpoint_id, d["id"]) for d in found]


def events(client: httpx.Client, **query: Any) -> list[dict[str, Any]]:
    """``GET /api/v1/webhook-events`` (newest first)."""
    found: list[dict[str, Any]] = _get(client, "/api/v1/webhook-events", limit=100, **query)["data"]
    return found


def statuses(logged: dict[str, Any]) -> list[int | None]:
    """The HTTP status of each attempt of a delivery (None where no response came)."""
    return [attempt["status_code"] for attempt in logged["attempts"]]


def comparable(generation: dict[str, Any]) -> dict[str, Any]:
    """A generation without ``updated_at`` and with signed URLs stripped of their query; and
    without ``request`` (the create body: only ``GET /api/v1/generations/{id}`` carries it)."""
    return {k: _unsigned(v) for k, v in generation.items() if k not in ("updated_at", "request")}


def _unsigned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unsigned(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsigned(v) for v in value]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return urlunsplit(urlsplit(value)._replace(query=""))
    return value


def signatures(record: Record) -> list[str]:
    """The ``v1,...`` entries of a request's ``webhook-signature`` header."""
    entries = record.headers["webhook-signature"].split()
    assert all(entry.startswith("v1,") for entry in entries), entries
    return entries


def parse_time(text: str) -> float:
    """An ISO 8601 ``...Z`` timestamp as Unix seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# --- tests -----------------------------------------------------------------------------------


def test_a_succeeded_generation_reaches_the_endpoint_signed_and_logged(
    hooks_server: Any, receiver: Receiver
) -> None:
    """One signed envelope whose ``data`` is the generation; the event and the log agree."""
    with own_account(hooks_server) as client:
        endpoint = register(client, receiver.url("/hooks"), description="e2e")
        assert SECRET.match(endpoint["secret"]), endpoint
        assert endpoint["enabled"] is True and endpoint["disabled_reason"] is None
        assert set(endpoint["event_types"]) == DEFAULT_TYPES
        assert "secret" not in _get(client, f"/api/v1/webhooks/{endpoint['id']}")
        task = create(client, small())
        [logged] = settled(client, endpoint["id"])
        generation = finish(client, task["id"])
        listed = events(client)
    [record] = receiver.records()
    assert (record.method, record.path) == ("POST", "/hooks")
    assert record.headers["content-type"].startswith("application/json")
    assert record.headers["user-agent"] == USER_AGENT
    assert abs(int(record.headers["webhook-timestamp"]) - time.time()) < 60
    assert len(signatures(record)) == 1
    payload = verify(record, endpoint["secret"])
    with pytest.raises(WebhookVerificationError):
        verify(record, random_secret())
    assert set(payload) == ENVELOPE_KEYS
    assert payload["type"] == "generation.succeeded"
    assert ISO_MS.match(payload["timestamp"]), payload["timestamp"]
    assert comparable(payload["data"]) == comparable(generation)
    video = download(generation["result"]["primary_url"])
    assert download(payload["data"]["result"]["primary_url"]) == video  # freshly signed, works
    assert record.headers["webhook-id"] == payload["id"]
    assert payload["id"].startswith("evt_")
    [event] = [e for e in listed if e["id"] == payload["id"]]
    assert (event["object"], event["type"], event["task_id"]) == (
        "event",
        "generation.succeeded",
        task["id"],
    )
    assert event["data"]["id"] == task["id"]
    assert logged["status"] == "succeeded", logged
    assert (logged["event_id"], logged["endpoint_id"], logged["task_id"]) == (
        payload["id"],
        endpoint["id"],
        task["id"],
    )
    assert logged["event_type"] == "generation.succeeded"
    assert logged["url"] == receiver.url("/hooks")
    assert logged["attempt_count"] == 1 and logged["next_attempt_at"] is None
    [attempt] = logged["attempts"]
    assert (attempt["attempt"], attempt["status_code"], attempt["error"]) == (1, 200, None)
    assert isinstance(attempt["latency_ms"], int) and attempt["latency_ms"] >= 0


def test_a_receiver_that_was_down_gets_every_event_once_it_is_up(retry_server: Any) -> None:
    """Connection errors are logged and retried; once the receiver listens, nothing is missing."""
    later = Receiver(port=free_port())
    with own_account(retry_server) as client:
        endpoint = register(client, later.url("/down"))
        tasks = [create(client, small(seed=seed)) for seed in range(4)]

        def all_failed_once() -> list[dict[str, Any]]:
            found = deliveries(client, endpoint["id"])
            ready = len(found) == len(tasks) and all(d["attempt_count"] >= 1 for d in found)
            return found if ready else []

        for failing in wait_for(all_failed_once, 180, "a failed attempt on every delivery"):
            shown = delivery(client, endpoint["id"], failing["id"])
            assert shown["status"] == "pending", shown
            assert shown["next_attempt_at"] is not None, shown
            first = shown["attempts"][0]
            assert first["status_code"] is None, shown
            assert "connect" in (first["error"] or "").lower(), shown  # nothing listens
        with later:
            logged = settled(client, endpoint["id"], len(tasks), timeout=60)
            expected = {e["id"]: e["task_id"] for e in events(client, type="generation.succeeded")}
    assert sorted(expected.values()) == sorted(t["id"] for t in tasks)
    assert all(d["status"] == "succeeded" for d in logged), logged
    assert all(statuses(d)[0] is None and statuses(d)[-1] == 200 for d in logged), logged
    assert {d["event_id"] for d in logged} == set(expected)
    records = later.records("/down")
    assert {r.headers["webhook-id"] for r in records} == set(expected)  # each at least once
    for record in records:
        payload = verify(record, endpoint["secret"])
        assert payload["id"] == record.headers["webhook-id"]
        assert payload["data"]["id"] == expected[payload["id"]]


def test_a_worker_killed_mid_delivery_leaves_the_delivery_to_another_worker(
    hook_servers: dict[str, Any], receiver: Receiver
) -> None:
    """``kill -9`` while the receiver holds the request: another worker delivers it again."""
    server = hook_servers["killed_worker"]  # API only, this test's alone
    receiver.script("/hooks", Reply(delay=120))  # the first request never gets an answer
    [doomed] = workers(server)  # started with the server
    with server.client() as client:
        endpoint = register(client, receiver.url("/hooks"))
        task = create(client, small())
        [hung] = receiver.wait_for_requests(1, "/hooks", timeout=120)
        os.killpg(doomed.pid, signal.SIGKILL)
        doomed.wait(timeout=10)
        server.spawn("worker")
        records = receiver.wait_for_requests(2, "/hooks", timeout=60)
        [logged] = settled(client, endpoint["id"])
        assert finish(client, task["id"])["status"] == "succeeded"
    assert len(records) == 2, records
    again = records[1]
    assert again.headers["webhook-id"] == hung.headers["webhook-id"]
    assert again.reply.status == 200
    first, second = verify(hung, endpoint["secret"]), verify(again, endpoint["secret"])
    assert first["id"] == second["id"] == again.headers["webhook-id"]
    assert second["data"]["id"] == task["id"]
    assert logged["status"] == "succeeded", logged
    assert logged["event_id"] == hung.headers["webhook-id"]
    assert statuses(logged)[-1] == 200, logged


def test_410_disables_the_endpoint_until_it_is_enabled_again(
    hooks_server: Any, receiver: Receiver
) -> None:
    """``410 Gone`` ends the delivery and disables the endpoint; ``PATCH enabled`` revives it."""
    receiver.script("/gone", Reply(410))
    with own_account(hooks_server) as client:
        gone = register(client, receiver.url("/gone"))
        register(client, receiver.url("/witness"))
        create(client, small(seed=1))
        [logged] = settled(client, gone["id"])
        assert logged["status"] == "failed", logged
        assert statuses(logged) == [410] and logged["next_attempt_at"] is None, logged
        shown = _get(client, f"/api/v1/webhooks/{gone['id']}")
        assert shown["enabled"] is False, shown
        assert "410" in (shown["disabled_reason"] or ""), shown
        second = create(client, small(seed=2))
        receiver.wait_for_requests(2, "/witness", timeout=120)
        time.sleep(1.5)  # well past the 0.3 s retry delays
        assert len(receiver.records("/gone")) == 1
        assert not [
            d
            for d in deliveries(client, gone["id"])
            if d["task_id"] == second["id"] and d["attempt_count"] > 0
        ]
        patched = client.patch(f"/api/v1/webhooks/{gone['id']}", json={"enabled": True})
        assert patched.status_code == 200, patched.text
        assert (patched.json()["enabled"], patched.json()["disabled_reason"]) == (True, None)
        third = create(client, small(seed=3))
        arrived = receiver.wait_for_requests(2, "/gone", timeout=120)
    payloads = [verify(record, gone["secret"]) for record in arrived]
    assert second["id"] not in {p["data"]["id"] for p in payloads}
    assert payloads[-1]["data"]["id"] == third["id"]
    assert arrived[-1].reply.status == 200


def test_429_retry_after_is_honoured_over_a_shorter_schedule(
    retry_server: Any, receiver: Receiver
) -> None:
    """``429`` with ``Retry-After: 2`` and a 0.5 s schedule: the retry waits about 2 s."""
    receiver.script("/busy", Reply(429, {"Retry-After": "2"}))
    with own_account(retry_server) as client:
        endpoint = register(client, receiver.url("/busy"))
        create(client, small())
        [logged] = settled(client, endpoint["id"])
    first, second = receiver.records("/busy")
    gap = second.at - first.at
    assert gap >= 1.9, f"the retry came {gap:.2f} s after the 429, before its Retry-After"
    assert gap < 6, f"the retry came {gap:.2f} s after the 429"
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.reply.status == 200
    assert logged["status"] == "succeeded", logged
    assert statuses(logged) == [429, 200] and logged["attempt_count"] == 2, logged


def test_a_redirect_is_a_failed_attempt_and_is_never_followed(
    hooks_server: Any, receiver: Receiver
) -> None:
    """``302``: the Location is never requested; every attempt fails; the schedule runs out."""
    moved = Reply(302, {"Location": receiver.url("/elsewhere")})
    receiver.script("/moved", default=moved)
    with own_account(hooks_server) as client:
        endpoint = register(client, receiver.url("/moved"))
        create(client, small())
        [logged] = settled(client, endpoint["id"])
    assert receiver.records("/elsewhere") == []
    records = receiver.records("/moved")
    assert len(records) == 3
    assert len({r.headers["webhook-id"] for r in records}) == 1
    assert logged["status"] == "failed", logged
    assert logged["attempt_count"] == 3 and logged["next_attempt_at"] is None, logged
    assert statuses(logged) == [302, 302, 302], logged
    assert all("redirect" in (a["error"] or "").lower() for a in logged["attempts"]), logged


def test_a_receiver_slower_than_the_timeout_gets_the_event_on_the_next_attempt(
    retry_server: Any, receiver: Receiver
) -> None:
    """A 3 s answer under a 1 s timeout: a timed-out attempt, then a quick success."""
    receiver.script("/slow", Reply(delay=3))
    with own_account(retry_server) as client:
        endpoint = register(client, receiver.url("/slow"))
        create(client, small())
        [logged] = settled(client, endpoint["id"])
    first, second = receiver.records("/slow")
    assert second.at - first.at < 2.9  # the gateway gave up before the receiver answered
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert logged["status"] == "succeeded", logged
    assert statuses(logged) == [None, 200], logged
    timed_out = logged["attempts"][0]
    assert TIMEOUT_WORDS.search(timed_out["error"] or ""), timed_out
    assert 800 <= timed_out["latency_ms"] < 2900, timed_out


def test_private_addresses_are_refused_when_registering_and_when_connecting(
    hook_servers: dict[str, Any], receiver: Receiver
) -> None:
    """Loopback URLs are ``400``; an endpoint already pointing at one fails at connect time."""
    allowed, refused_by = hook_servers["private_allowed"], hook_servers["private_refused"]
    with allowed.client() as client:  # no worker: nothing is delivered from this server
        endpoint = register(client, receiver.url("/private"))
    # The operator turns private URLs off (a server on the same database); the endpoint stays.
    with refused_by.client(allowed.key) as client:
        for url in (receiver.url("/new"), f"http://localhost:{receiver.port}/new"):
            refused = client.post("/api/v1/webhooks", json={"url": url})
            assert "loopback" in error_message(refused, 400, "webhook_url_rejected")
        callback = post(client, {**small(), "callback_url": receiver.url("/cb")})
        assert "callback_url" in error_message(callback, 400, "validation_failed")
        create(client, small())
        [logged] = settled(client, endpoint["id"])
        time.sleep(1)  # past the 0.3 s retry delays: a refusal is not retried
        again = delivery(client, endpoint["id"], logged["id"])
    assert receiver.records() == []
    assert logged["status"] == "failed", logged
    assert again["attempt_count"] == 1 and statuses(again) == [None], again
    assert "127.0.0.1" in again["attempts"][0]["error"], again


def test_a_rotated_secret_signs_beside_the_new_one_only_during_the_grace_period(
    hooks_server: Any, receiver: Receiver
) -> None:
    """Two ``v1,`` signatures during the grace period; after it, only the new secret signs."""
    with own_account(hooks_server) as client:
        endpoint = register(client, receiver.url("/hooks"))
        old = endpoint["secret"]
        rotated = client.post(
            f"/api/v1/webhooks/{endpoint['id']}/rotate-secret", json={"grace_period_seconds": 4}
        )
        assert rotated.status_code == 200, rotated.text
        new = rotated.json()["secret"]
        assert SECRET.match(new) and new != old
        expires = parse_time(rotated.json()["previous_secret_expires_at"])
        assert 2 < expires - time.time() <= 5
        queued = client.post(f"/api/v1/webhooks/{endpoint['id']}/test", json={})
        assert queued.status_code == 202, queued.text
        [during] = receiver.wait_for_requests(1, "/hooks", timeout=30)
        assert time.time() < expires, "the test event came too late to check the grace period"
        time.sleep(max(0.0, expires - time.time()) + 0.5)
        create(client, small())
        after = receiver.wait_for_requests(2, "/hooks", timeout=120)[1]
    assert len(signatures(during)) == 2
    test_event = verify(during, [old, new])
    assert set(test_event) == ENVELOPE_KEYS | {"test"} and test_event["test"] is True
    assert test_event["type"] == "generation.succeeded"
    assert len(signatures(after)) == 1
    assert verify(after, new)["type"] == "generation.succeeded"
    with pytest.raises(WebhookVerificationError):
        verify(after, old)


def test_a_callback_url_gets_the_terminal_event_signed_with_the_callback_secret(
    hooks_server: Any, receiver: Receiver
) -> None:
    """No endpoint: the ``callback_url`` gets the same envelope, signed with the account's key."""
    with own_account(hooks_server) as client:
        secret = _get(client, "/api/v1/webhooks/callback-secret")["secret"]
        assert SECRET.match(secret), secret
        assert _get(client, "/api/v1/webhooks")["data"] == []
        task = create(client, {**small(), "callback_url": receiver.url("/cb")})
        generation = finish(client, task["id"])

        def delivered() -> list[dict[str, Any]]:
            found = _get(client, f"/api/v1/generations/{task['id']}/deliveries")["data"]
            final = [d for d in found if d["event_type"] == "generation.succeeded"]
            return final if final and final[0]["status"] != "pending" else []

        [logged] = wait_for(delivered, 60, "the settled callback delivery in the log")
        other_key, _ = hooks_server.create_key(10)
        with hooks_server.client(other_key) as other:
            other_secret = _get(other, "/api/v1/webhooks/callback-secret")["secret"]
    assert other_secret != secret  # one key per account
    payloads = [verify(record, secret) for record in receiver.records("/cb")]
    assert {p["type"] for p in payloads} <= GENERATION_TYPES
    [final] = [p for p in payloads if p["type"] == "generation.succeeded"]
    assert set(final) == ENVELOPE_KEYS
    assert comparable(final["data"]) == comparable(generation)
    with pytest.raises(WebhookVerificationError):
        verify(receiver.records("/cb")[-1], random_secret())
    assert logged["status"] == "succeeded", logged
    assert (logged["event_id"], logged["task_id"]) == (final["id"], task["id"])
    assert logged["url"] == receiver.url("/cb")
    assert logged["endpoint_id"] is None
