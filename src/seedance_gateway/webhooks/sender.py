"""One attempt of one delivery: render, sign, POST through the outbound guard, decide what next.

A worker calls ``Sender.deliver`` for each claimed ``deliver`` job. The attempt and its outcome
are written in one fenced transaction (``WebhookStore.settle``), so a worker that dies mid-POST
records nothing and the reaper hands the job to another worker: at-least-once delivery.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from seedance_gateway import logs, metrics, netguard
from seedance_gateway.config import Settings
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.tasks import Task
from seedance_gateway.links import ResultLinks, result_links
from seedance_gateway.store.rows import Job
from seedance_gateway.store.webhooks import Outcome, Outgoing, WebhookStore
from seedance_gateway.webhooks import schedule, signing
from seedance_gateway.webhooks.policy import outbound_policy

log = logging.getLogger(__name__)

#: Renders a delivery's JSON body: (event, the task as it was, fresh result links) -> body.
Renderer = Callable[[wh.Event, Task, ResultLinks], dict[str, Any]]
USER_AGENT = "seedance-gateway (webhooks)"
EXCERPT_BYTES = 1000


@dataclass(frozen=True, kw_only=True)
class SenderConfig:
    """How deliveries go out (from the operator's settings)."""

    policy: netguard.FetchPolicy  #: the outbound guard's rules (no redirects)
    schedule: tuple[float, ...] = schedule.STANDARD
    timeout_seconds: float = 15.0
    max_payload_bytes: int = 64 * 1024
    public_url: str = "http://127.0.0.1:8000"
    secret: str = ""  #: the server secret (callback secrets derive from it; blob URLs too)
    url_ttl_seconds: int = 86400
    retention: timedelta | None = None  #: how long results are kept (SEEDANCE_RESULT_TTL_DAYS)

    @classmethod
    def from_settings(cls, settings: Settings, secret: str) -> SenderConfig:
        """The configuration a deployment's settings describe."""
        return cls(
            policy=outbound_policy(settings),
            schedule=settings.webhook_delays,
            timeout_seconds=settings.webhook_timeout_seconds,
            max_payload_bytes=settings.webhook_max_payload_bytes,
            public_url=settings.effective_public_url,
            secret=secret,
            url_ttl_seconds=settings.url_ttl_seconds,
            retention=settings.result_ttl,
        )


@dataclass(frozen=True)
class Response:
    """What the receiver answered (or None fields when nothing came back)."""

    status_code: int | None
    retry_after: float | None
    error: str | None
    excerpt: str | None
    retryable: bool = True


class Sender:
    """Delivers events; one shared guarded HTTP client."""

    def __init__(
        self,
        *,
        store: WebhookStore,
        renderers: Mapping[str, Renderer],
        config: SenderConfig,
        resolve: netguard.Resolve = netguard.system_resolve,
    ) -> None:
        self.store = store
        self.renderers = renderers
        self.config = config
        self.client = netguard.guarded_client(config.policy, field="url", resolve=resolve)
        self.client.headers["User-Agent"] = USER_AGENT

    async def close(self) -> None:
        """Closes the HTTP client."""
        await self.client.aclose()

    async def deliver(self, job: Job) -> None:
        """Makes one attempt of the job's delivery and records it."""
        delivery_id = (job.payload or {}).get("delivery_id", "")
        outgoing = await self.store.outgoing(delivery_id)
        if outgoing is None or outgoing.delivery.status is not wh.DeliveryStatus.PENDING:
            await self.store.finish_job(job)
            return
        delivery = outgoing.delivery
        logs.bind(task_id=delivery.task_id, account_id=delivery.account_id)
        outcome = await self._attempt(outgoing)
        if not await self.store.settle(job, delivery, outcome):
            log.warning("delivery %s lost its lease; another worker will retry it", delivery_id)
            return
        metrics.webhook_settled(_target(delivery), _outcome(outcome))

    async def _attempt(self, outgoing: Outgoing) -> Outcome:
        endpoint = outgoing.endpoint
        if endpoint is not None and not endpoint.enabled:
            return Outcome(attempt=None, status=wh.DeliveryStatus.CANCELLED)
        started = datetime.now(UTC)
        if outgoing.delivery.renderer not in self.renderers:
            error = f"no payload renderer {outgoing.delivery.renderer!r} in this deployment"
            return _final(_record(started, 0, Response(None, None, error, None)))
        body = self._body(outgoing)
        size = len(body.encode())
        if size > self.config.max_payload_bytes:
            error = (
                f"the payload is {size} bytes; the limit is "
                f"{self.config.max_payload_bytes} (SEEDANCE_WEBHOOK_MAX_PAYLOAD_BYTES)"
            )
            return _final(_record(started, 0, Response(None, None, error, None)))
        secrets_ = (
            endpoint.signing_secrets(started)
            if endpoint is not None
            else (signing.callback_secret(self.config.secret, outgoing.delivery.account_id),)
        )
        headers = signing.headers(outgoing.event.id, body, secrets_, started)
        clock = time.monotonic()
        response = await self._post(outgoing.delivery.url, body, headers)
        attempt = _record(started, int((time.monotonic() - clock) * 1000), response)
        return self._decide(outgoing.delivery, attempt, response)

    def _body(self, outgoing: Outgoing) -> str:
        task = Task.from_json(outgoing.event.data)
        links = result_links(
            task,
            base_url=self.config.public_url,
            secret=self.config.secret,
            ttl_seconds=self.config.url_ttl_seconds,
            retention=self.config.retention,
        )
        render = self.renderers[outgoing.delivery.renderer]
        payload = render(outgoing.event, task, links)
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)

    async def _post(self, url: str, body: str, headers: dict[str, str]) -> Response:
        headers = {**headers, "content-type": "application/json"}
        try:
            async with asyncio.timeout(self.config.timeout_seconds):
                return await self._exchange(url, body, headers)
        except TimeoutError:
            seconds = f"{self.config.timeout_seconds:g}"
            return Response(None, None, f"timed out after {seconds} s", None)
        except netguard.UnresolvableHost as exc:
            return Response(None, None, exc.message, None)
        except netguard.URLRejected as exc:
            return Response(None, None, f"refused: {exc.message}", None, retryable=False)
        except httpx.TimeoutException:
            seconds = f"{self.config.timeout_seconds:g}"
            return Response(None, None, f"timed out after {seconds} s", None)
        except httpx.HTTPError as exc:
            return Response(None, None, f"{type(exc).__name__}: {exc}".rstrip(": "), None)

    async def _exchange(self, url: str, body: str, headers: dict[str, str]) -> Response:
        async with self.client.stream("POST", url, content=body.encode(), headers=headers) as reply:
            excerpt = b""
            async for chunk in reply.aiter_bytes():
                excerpt += chunk
                if len(excerpt) >= EXCERPT_BYTES:
                    break
        code = reply.status_code
        return Response(
            status_code=code,
            retry_after=schedule.retry_after_seconds(reply.headers.get("retry-after")),
            error=None if 200 <= code < 300 else _status_error(code, reply.headers),
            excerpt=excerpt[:EXCERPT_BYTES].decode("utf-8", "replace") or None,
        )

    def _decide(self, delivery: wh.Delivery, attempt: wh.Attempt, response: Response) -> Outcome:
        code = response.status_code
        if code is not None and 200 <= code < 300:
            return Outcome(attempt=attempt, status=wh.DeliveryStatus.SUCCEEDED)
        if code == 410:
            reason = (
                f"the endpoint answered 410 Gone at {attempt.started_at:%Y-%m-%dT%H:%M:%SZ}; "
                'turn it back on with PATCH {"enabled": true}'
            )
            return Outcome(
                attempt=attempt, status=wh.DeliveryStatus.FAILED, disable_endpoint=reason
            )
        if not response.retryable:
            return _final(attempt)
        delay = schedule.next_delay(
            delivery.attempt_count + 1, self.config.schedule, retry_after=response.retry_after
        )
        if delay is None:
            return _final(attempt)
        retry_at = datetime.now(UTC) + timedelta(seconds=delay)
        return Outcome(attempt=attempt, status=wh.DeliveryStatus.PENDING, retry_at=retry_at)


def _target(delivery: wh.Delivery) -> str:
    """``endpoint`` (a registered webhook) or ``callback`` (a create's ``callback_url``)."""
    return "endpoint" if delivery.renderer == wh.ENDPOINT_RENDERER else "callback"


def _outcome(outcome: Outcome) -> str:
    """What an attempt ended as: its delivery's status, ``retrying`` while one is due again."""
    if outcome.status is wh.DeliveryStatus.PENDING:
        return "retrying"
    return str(outcome.status)


def _final(attempt: wh.Attempt) -> Outcome:
    return Outcome(attempt=attempt, status=wh.DeliveryStatus.FAILED)


def _record(started: datetime, latency_ms: int, response: Response) -> wh.Attempt:
    return wh.Attempt(
        attempt=0,  # numbered when stored
        started_at=started,
        status_code=response.status_code,
        latency_ms=latency_ms,
        error=response.error,
        response_excerpt=response.excerpt,
    )


def _status_error(code: int, headers: httpx.Headers) -> str:
    if 300 <= code < 400:
        where = headers.get("location", "")
        target = f" to {where}" if where else ""
        return f"the receiver answered {code} (a redirect{target}); redirects are not followed"
    return f"the receiver answered {code}"
