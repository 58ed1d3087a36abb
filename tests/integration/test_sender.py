"""The webhook sender against a real local HTTP receiver, on SQLite and PostgreSQL.

Each test queues a delivery, claims its job like a worker, lets ``Sender.deliver`` make one
attempt and checks what the receiver got and what the deliveries log recorded.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from integration_support import open_account
from standardwebhooks import Webhook

from seedance_gateway import netguard
from seedance_gateway.dialects import public_v1
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.store import Store
from seedance_gateway.store.outbox import DELIVER
from seedance_gateway.webhooks.manage import example_task
from seedance_gateway.webhooks.sender import Sender, SenderConfig

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


@dataclass
class Receiver:
    """Answers POSTs from a script of (status, headers, delay) and records what arrived."""

    script: list[tuple[int, dict[str, str], float]] = field(default_factory=list)
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            state.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            status, headers, delay = state.script.pop(0) if state.script else (200, {}, 0.0)
            time.sleep(delay)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def make_sender(
    store: Store,
    *,
    allow_private: bool = True,
    resolve: netguard.Resolve = netguard.system_resolve,
    **config: Any,
) -> Sender:
    policy = netguard.FetchPolicy(
        allow_private=allow_private, timeout_seconds=1, max_redirects=0, schemes=("https", "http")
    )
    settings: dict[str, Any] = {"schedule": (0.05, 0.05), "timeout_seconds": 1.0, "secret": "s"}
    settings.update(config)
    renderers = {wh.ENDPOINT_RENDERER: public_v1.event_json}
    return Sender(
        store=store.webhooks,
        renderers=renderers,
        config=SenderConfig(policy=policy, **settings),
        resolve=resolve,
    )


async def queued(store: Store, url: str) -> wh.Delivery:
    owner = await open_account(store, 0)
    endpoint = await store.webhooks.create_endpoint(
        account_id=owner.account_id,
        url=url,
        description="",
        event_types=wh.DEFAULT_EVENT_TYPES,
        enabled=True,
        secret=SECRET,
    )
    return await store.webhooks.send_test(endpoint, wh.SUCCEEDED, sample_task(owner.account_id))


def sample_task(account_id: str) -> dict[str, Any]:
    return example_task(account_id, wh.SUCCEEDED).to_json()


async def attempt(store: Store, sender: Sender, delivery: wh.Delivery) -> wh.Delivery:
    """Claims the delivery's job once it is due, runs one attempt, returns the logged state."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        jobs = await store.jobs.claim("w1", 1, 30, (DELIVER,))
        if jobs:
            await sender.deliver(jobs[0])
            return await store.webhooks.get_delivery(delivery.account_id, delivery.id)
        await asyncio.sleep(0.02)
    raise AssertionError("the delivery job never became due")


async def test_a_2xx_succeeds_signed_with_a_stable_webhook_id(
    store: Store, receiver: Receiver
) -> None:
    delivery = await queued(store, receiver.url())
    sender = make_sender(store)
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert done.status is wh.DeliveryStatus.SUCCEEDED and done.next_attempt_at is None
    [(path, headers, body)] = receiver.seen
    assert path == "/hook"
    payload = Webhook(SECRET).verify(body, headers)
    assert headers["webhook-id"] == delivery.event_id == payload["id"]
    assert payload["type"] == wh.SUCCEEDED and payload["test"] is True
    assert headers["content-type"] == "application/json"
    [logged] = done.attempts
    assert (logged.attempt, logged.status_code, logged.error) == (1, 200, None)
    assert logged.response_excerpt == "ok" and logged.latency_ms >= 0


async def test_a_5xx_is_retried_on_the_schedule_with_the_same_webhook_id(
    store: Store, receiver: Receiver
) -> None:
    receiver.script = [(503, {}, 0.0), (500, {}, 0.0)]
    delivery = await queued(store, receiver.url())
    sender = make_sender(store, schedule=(0.05, 0.05))
    first = await attempt(store, sender, delivery)
    assert first.status is wh.DeliveryStatus.PENDING and first.next_attempt_at is not None
    assert first.attempts[0].error == "the receiver answered 503"
    second = await attempt(store, sender, delivery)
    third = await attempt(store, sender, delivery)
    await sender.close()
    assert second.status is wh.DeliveryStatus.PENDING
    assert third.status is wh.DeliveryStatus.SUCCEEDED
    assert [a.status_code for a in third.attempts] == [503, 500, 200]
    assert len({h["webhook-id"] for _, h, _ in receiver.seen}) == 1
    assert len({h["webhook-timestamp"] for _, h, _ in receiver.seen}) >= 1


async def test_the_schedule_running_out_fails_the_delivery(
    store: Store, receiver: Receiver
) -> None:
    receiver.script = [(500, {}, 0.0)] * 3
    delivery = await queued(store, receiver.url())
    sender = make_sender(store, schedule=(0.01,))
    await attempt(store, sender, delivery)
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert done.status is wh.DeliveryStatus.FAILED and len(done.attempts) == 2
    assert await store.jobs.claim("w1", 1, 30, (DELIVER,)) == []


async def test_retry_after_is_a_floor_for_the_next_attempt(
    store: Store, receiver: Receiver
) -> None:
    receiver.script = [(429, {"Retry-After": "30"}, 0.0)]
    delivery = await queued(store, receiver.url())
    sender = make_sender(store, schedule=(0.05,))
    before = time.time()
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert done.status is wh.DeliveryStatus.PENDING and done.next_attempt_at is not None
    assert done.next_attempt_at.timestamp() >= before + 29
    assert await store.jobs.claim("w1", 1, 30, (DELIVER,)) == []  # not due yet


async def test_410_disables_the_endpoint_and_ends_the_delivery(
    store: Store, receiver: Receiver
) -> None:
    receiver.script = [(410, {}, 0.0)]
    delivery = await queued(store, receiver.url())
    sender = make_sender(store)
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert done.status is wh.DeliveryStatus.FAILED
    assert done.endpoint_id is not None
    endpoint = await store.webhooks.get_endpoint(done.account_id, done.endpoint_id)
    assert not endpoint.enabled and endpoint.disabled_reason is not None
    assert "410" in endpoint.disabled_reason


async def test_a_redirect_is_a_failed_attempt_and_is_not_followed(
    store: Store, receiver: Receiver
) -> None:
    receiver.script = [(302, {"Location": receiver.url("/elsewhere")}, 0.0)]
    delivery = await queued(store, receiver.url())
    sender = make_sender(store)
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert [path for path, _, _ in receiver.seen] == ["/hook"]
    [logged] = done.attempts
    assert logged.status_code == 302 and logged.error is not None
    assert "not followed" in logged.error and "/elsewhere" in logged.error
    assert done.status is wh.DeliveryStatus.PENDING


async def test_a_slow_receiver_times_out_and_is_retried(store: Store, receiver: Receiver) -> None:
    receiver.script = [(200, {}, 2.0)]
    delivery = await queued(store, receiver.url())
    sender = make_sender(store, timeout_seconds=0.5)
    done = await attempt(store, sender, delivery)
    await sender.close()
    [logged] = done.attempts
    assert logged.status_code is None and logged.error == "timed out after 0.5 s"
    assert 400 <= logged.latency_ms < 1500
    assert done.status is wh.DeliveryStatus.PENDING


async def test_a_private_address_is_refused_at_connect_time_and_not_retried(
    store: Store, receiver: Receiver
) -> None:
    """The name resolves to loopback only when the POST is made (DNS changed): refused."""

    async def to_loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    delivery = await queued(store, f"http://hooks.example:{receiver.port}/hook")
    sender = make_sender(store, allow_private=False, resolve=to_loopback)
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert receiver.seen == []
    [logged] = done.attempts
    assert logged.error is not None and "loopback" in logged.error
    assert done.status is wh.DeliveryStatus.FAILED


async def test_an_unresolvable_host_is_retried(store: Store) -> None:
    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    delivery = await queued(store, "https://gone.example/hook")
    sender = make_sender(store, resolve=nowhere)
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert done.status is wh.DeliveryStatus.PENDING
    assert "could not resolve host gone.example" in (done.attempts[0].error or "")


async def test_an_oversized_payload_is_not_sent(store: Store, receiver: Receiver) -> None:
    delivery = await queued(store, receiver.url())
    sender = make_sender(store, max_payload_bytes=100)
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert receiver.seen == []
    assert done.status is wh.DeliveryStatus.FAILED
    assert "the limit is 100" in (done.attempts[0].error or "")


async def test_a_worker_that_lost_its_lease_records_nothing(
    store: Store, receiver: Receiver
) -> None:
    """The POST may happen, but the stale worker's outcome is dropped (another owns the job)."""
    delivery = await queued(store, receiver.url())
    sender = make_sender(store)
    [stale] = await store.jobs.claim("w1", 1, 0.05, (DELIVER,))
    await asyncio.sleep(0.15)
    assert await store.jobs.reap() == 1
    await sender.deliver(stale)
    after = await store.webhooks.get_delivery(delivery.account_id, delivery.id)
    assert after.status is wh.DeliveryStatus.PENDING and after.attempts == ()
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert done.status is wh.DeliveryStatus.SUCCEEDED and len(done.attempts) == 1


async def test_a_disabled_endpoint_cancels_its_pending_delivery(
    store: Store, receiver: Receiver
) -> None:
    delivery = await queued(store, receiver.url())
    assert delivery.endpoint_id is not None
    await store.webhooks.update_endpoint(
        delivery.account_id, delivery.endpoint_id, {"enabled": False}
    )
    sender = make_sender(store)
    done = await attempt(store, sender, delivery)
    await sender.close()
    assert receiver.seen == [] and done.status is wh.DeliveryStatus.CANCELLED
