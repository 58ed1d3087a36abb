"""Webhook use cases: endpoints, secrets, test events, replays and the logs (docs/webhooks.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from seedance_gateway import netguard
from seedance_gateway.config import Settings
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.ids import new_id
from seedance_gateway.domain.tasks import Status, Task, TaskError, TaskResult
from seedance_gateway.errors import ValidationFailed
from seedance_gateway.store.webhooks import DeliveryPage, EventPage, WebhookStore
from seedance_gateway.webhooks import signing
from seedance_gateway.webhooks.policy import outbound_policy

MAX_GRACE_SECONDS = 7 * 86400
DEFAULT_GRACE_SECONDS = 86400
_TEST_STATUS = {
    wh.SUCCEEDED: Status.SUCCEEDED,
    wh.FAILED: Status.FAILED,
    wh.PROCESSING: Status.RUNNING,
    wh.CANCELLED: Status.CANCELLED,
}


class WebhookURLRejected(ValidationFailed):
    """A webhook endpoint URL we will not deliver to (400 webhook_url_rejected)."""

    code = "webhook_url_rejected"


@dataclass(frozen=True, kw_only=True)
class Created:
    """An endpoint and its secret, which is shown only now."""

    endpoint: wh.Endpoint
    secret: str


class Webhooks:
    """What the webhooks API does, for one account at a time."""

    def __init__(self, *, store: WebhookStore, settings: Settings, secret: str) -> None:
        self.store = store
        self.settings = settings
        self.secret = secret

    async def create(
        self,
        account_id: str,
        *,
        url: str,
        event_types: tuple[str, ...] | None,
        description: str,
        enabled: bool,
    ) -> Created:
        """Registers an endpoint with a fresh secret."""
        await self._check_url(url)
        secret = signing.new_secret()
        endpoint = await self.store.create_endpoint(
            account_id=account_id,
            url=url,
            description=description,
            event_types=check_event_types(event_types)
            if event_types is not None
            else wh.DEFAULT_EVENT_TYPES,
            enabled=enabled,
            secret=secret,
        )
        return Created(endpoint=endpoint, secret=secret)

    async def list(self, account_id: str) -> list[wh.Endpoint]:
        """The account's endpoints."""
        return await self.store.list_endpoints(account_id)

    async def get(self, account_id: str, endpoint_id: str) -> wh.Endpoint:
        """One endpoint."""
        return await self.store.get_endpoint(account_id, endpoint_id)

    async def update(
        self, account_id: str, endpoint_id: str, changes: Mapping[str, Any]
    ) -> wh.Endpoint:
        """Changes url, event_types, description or enabled (each checked as on create)."""
        values = dict(changes)
        if "url" in values:
            await self._check_url(values["url"])
        if "event_types" in values:
            values["event_types"] = check_event_types(values["event_types"])
        return await self.store.update_endpoint(account_id, endpoint_id, values)

    async def delete(self, account_id: str, endpoint_id: str) -> None:
        """Deletes an endpoint; its pending deliveries are cancelled."""
        await self.store.delete_endpoint(account_id, endpoint_id)

    async def rotate(self, account_id: str, endpoint_id: str, grace_seconds: int | None) -> Created:
        """A new secret; the old one keeps signing for ``grace_seconds`` (default a day)."""
        grace = DEFAULT_GRACE_SECONDS if grace_seconds is None else grace_seconds
        if not 0 <= grace <= MAX_GRACE_SECONDS:
            raise ValidationFailed(
                f"grace_period_seconds must be between 0 and {MAX_GRACE_SECONDS} (got {grace})",
                field="grace_period_seconds",
            )
        secret = signing.new_secret()
        endpoint = await self.store.rotate_secret(account_id, endpoint_id, secret, grace)
        return Created(endpoint=endpoint, secret=secret)

    async def send_test(
        self, account_id: str, endpoint_id: str, event_type: str | None
    ) -> wh.Delivery:
        """Queues a test event of ``event_type`` (default generation.succeeded) to one endpoint."""
        kind = event_type or wh.SUCCEEDED
        check_event_types((kind,), field="event_type")
        endpoint = await self.store.get_endpoint(account_id, endpoint_id)
        return await self.store.send_test(endpoint, kind, example_task(account_id, kind).to_json())

    async def replay(
        self, account_id: str, delivery_id: str, *, endpoint_id: str | None = None
    ) -> wh.Delivery:
        """Sends a delivery's event again (same ``webhook-id``), as a new delivery."""
        if endpoint_id is not None:
            await self.store.get_endpoint(account_id, endpoint_id)
        return await self.store.replay(account_id, delivery_id, endpoint_id)

    async def deliveries(
        self,
        account_id: str,
        *,
        endpoint_id: str | None = None,
        task_id: str | None = None,
        limit: int,
        after: str | None,
        status: str | None,
    ) -> DeliveryPage:
        """An endpoint's deliveries, or a task's callback deliveries, newest first."""
        if endpoint_id is not None:
            await self.store.get_endpoint(account_id, endpoint_id)
        if status is not None and status not in {str(s) for s in wh.DeliveryStatus}:
            allowed = ", ".join(str(s) for s in wh.DeliveryStatus)
            raise ValidationFailed(
                f"status must be one of {allowed} (got {status!r})", field="status"
            )
        return await self.store.list_deliveries(
            account_id,
            endpoint_id=endpoint_id,
            task_id=task_id,
            limit=limit,
            after=after,
            status=status,
        )

    async def delivery(self, account_id: str, endpoint_id: str, delivery_id: str) -> wh.Delivery:
        """One delivery of an endpoint, with its attempts."""
        await self.store.get_endpoint(account_id, endpoint_id)
        return await self.store.get_delivery(account_id, delivery_id, endpoint_id=endpoint_id)

    async def events(
        self, account_id: str, *, limit: int, after: str | None, kind: str | None
    ) -> EventPage:
        """The account's events, newest first."""
        if kind is not None:
            check_event_types((kind,), field="type", extra=(wh.QUEUED,))
        return await self.store.list_events(account_id, limit=limit, after=after, kind=kind)

    def callback_secret(self, account_id: str) -> str:
        """The secret that signs the account's per-request callbacks."""
        return signing.callback_secret(self.secret, account_id)

    async def _check_url(self, url: str) -> None:
        try:
            await netguard.check_url(url, outbound_policy(self.settings), field="url")
        except netguard.URLRejected as exc:
            raise WebhookURLRejected(exc.message, field="url") from None


def check_event_types(
    types: tuple[str, ...] | list[str],
    *,
    field: str = "event_types",
    extra: tuple[str, ...] = (),
) -> tuple[str, ...]:
    """The types, de-duplicated, or ``validation_failed`` naming the allowed ones."""
    allowed = (*wh.EVENT_TYPES, *extra)
    if not types:
        raise ValidationFailed(
            f"{field} must not be empty; choose from {', '.join(allowed)}", field=field
        )
    for kind in types:
        if kind not in allowed:
            raise ValidationFailed(
                f"{field}: {kind!r} is not an event type; use one of {', '.join(allowed)}",
                field=field,
            )
    return tuple(dict.fromkeys(types))


def example_task(account_id: str, kind: str) -> Task:
    """An example generation for test events (its URLs do not resolve)."""
    stamp = datetime.now(UTC)
    status = _TEST_STATUS[kind]
    task_id = new_id("task")
    succeeded = status is Status.SUCCEEDED
    return Task(
        id=task_id,
        account_id=account_id,
        api_key_id="",
        dialect="public_v1",
        model="seedance-1-0-pro",
        model_alias="seedance-1-0-pro",
        request={},
        status=status,
        progress=100 if succeeded else 0,
        quote=25,
        reserved_credits=25,
        final_credits=25 if succeeded else 0,
        result=TaskResult(video_key=f"examples/{task_id}/video.mp4") if succeeded else None,
        error=_EXAMPLE_ERROR if status is Status.FAILED else None,
        created_at=stamp,
        updated_at=stamp,
    )


_EXAMPLE_ERROR = TaskError(code="example_failure", message="an example of a failed generation")
