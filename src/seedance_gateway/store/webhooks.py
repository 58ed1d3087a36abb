"""Webhook endpoints, events and deliveries: the management queries and the sender's writes.

The sender's writes are fenced like every job write (``jobs.fence``): an attempt is recorded,
and its delivery moved on, only while the worker still holds the delivery job's lease.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, update

from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.ids import new_id
from seedance_gateway.errors import NotFound, ValidationFailed
from seedance_gateway.store import outbox
from seedance_gateway.store import tables as t
from seedance_gateway.store.accounts import now
from seedance_gateway.store.database import Connection, Database
from seedance_gateway.store.jobs import END_JOB, fence, fenced
from seedance_gateway.store.rows import Job

EP = t.webhook_endpoints
DL = t.webhook_deliveries
EV = t.webhook_events
AT = t.webhook_attempts


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What one attempt did, and what happens next."""

    attempt: wh.Attempt | None  #: None when the delivery ends without being sent
    status: wh.DeliveryStatus
    retry_at: datetime | None = None  #: when ``status`` is pending
    disable_endpoint: str | None = None  #: a reason, to turn the endpoint off (410)


@dataclass(frozen=True, kw_only=True)
class Outgoing:
    """Everything the sender needs for one attempt."""

    delivery: wh.Delivery
    event: wh.Event
    endpoint: wh.Endpoint | None


@dataclass(frozen=True, kw_only=True)
class DeliveryPage:
    """One page of deliveries."""

    items: list[wh.Delivery]
    next_cursor: str | None


@dataclass(frozen=True, kw_only=True)
class EventPage:
    """One page of events."""

    items: list[wh.Event]
    next_cursor: str | None


class WebhookStore:
    """Endpoints, events and deliveries of every account."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # --- endpoints ---------------------------------------------------------------------

    async def create_endpoint(
        self,
        *,
        account_id: str,
        url: str,
        description: str,
        event_types: tuple[str, ...],
        enabled: bool,
        secret: str,
    ) -> wh.Endpoint:
        """Adds an endpoint (at most ``MAX_ENDPOINTS`` per account)."""
        stamp = now()
        async with self.db.write() as conn:
            count = (
                await conn.execute(select(func.count()).select_from(EP).where(_live(account_id)))
            ).scalar_one()
            if count >= wh.MAX_ENDPOINTS:
                raise ValidationFailed(
                    f"url: this account already has {wh.MAX_ENDPOINTS} webhook endpoints, the "
                    "most allowed; delete one (DELETE /api/v1/webhooks/{id}) to add another",
                    field="url",
                )
            row = (
                (
                    await conn.execute(
                        insert(EP)
                        .values(
                            id=new_id("wh"),
                            account_id=account_id,
                            url=url,
                            description=description,
                            event_types=list(event_types),
                            enabled=enabled,
                            secret=secret,
                            created_at=stamp,
                            updated_at=stamp,
                        )
                        .returning(*EP.c)
                    )
                )
                .mappings()
                .one()
            )
        return endpoint_from_row(row)

    async def list_endpoints(self, account_id: str) -> list[wh.Endpoint]:
        """The account's endpoints, oldest first."""
        async with self.db.read() as conn:
            rows = (
                (await conn.execute(select(EP).where(_live(account_id)).order_by(EP.c.id)))
                .mappings()
                .all()
            )
        return [endpoint_from_row(r) for r in rows]

    async def get_endpoint(self, account_id: str, endpoint_id: str) -> wh.Endpoint:
        """One endpoint of the account, or ``not_found``."""
        async with self.db.read() as conn:
            return await _endpoint(conn, account_id, endpoint_id)

    async def update_endpoint(
        self, account_id: str, endpoint_id: str, changes: Mapping[str, Any]
    ) -> wh.Endpoint:
        """Applies ``changes`` (url, description, event_types, enabled, secret...)."""
        values = dict(changes)
        if "event_types" in values:
            values["event_types"] = list(values["event_types"])
        if values.get("enabled") is True:
            values["disabled_reason"] = None
        async with self.db.write() as conn:
            await _endpoint(conn, account_id, endpoint_id)
            await conn.execute(
                update(EP).where(EP.c.id == endpoint_id).values(updated_at=now(), **values)
            )
            return await _endpoint(conn, account_id, endpoint_id)

    async def rotate_secret(
        self, account_id: str, endpoint_id: str, secret: str, grace_seconds: int
    ) -> wh.Endpoint:
        """Makes ``secret`` current; the old one keeps signing for ``grace_seconds``."""
        async with self.db.write() as conn:
            old = await _endpoint(conn, account_id, endpoint_id)
            stamp = now()
            await conn.execute(
                update(EP)
                .where(EP.c.id == endpoint_id)
                .values(
                    secret=secret,
                    previous_secret=old.secret if grace_seconds > 0 else None,
                    previous_secret_expires_at=stamp + timedelta(seconds=grace_seconds),
                    updated_at=stamp,
                )
            )
            return await _endpoint(conn, account_id, endpoint_id)

    async def delete_endpoint(self, account_id: str, endpoint_id: str) -> None:
        """Deletes an endpoint; its pending deliveries are cancelled."""
        async with self.db.write() as conn:
            await _endpoint(conn, account_id, endpoint_id)
            stamp = now()
            await conn.execute(
                update(EP).where(EP.c.id == endpoint_id).values(deleted_at=stamp, updated_at=stamp)
            )
            await conn.execute(
                update(DL)
                .where(
                    DL.c.endpoint_id == endpoint_id, DL.c.status == str(wh.DeliveryStatus.PENDING)
                )
                .values(
                    status=str(wh.DeliveryStatus.CANCELLED), next_attempt_at=None, updated_at=stamp
                )
            )

    # --- events and deliveries -----------------------------------------------------------

    async def send_test(
        self, endpoint: wh.Endpoint, kind: str, data: dict[str, Any]
    ) -> wh.Delivery:
        """Raises a test event for one endpoint and queues its delivery."""
        async with self.db.write() as conn:
            event_id = await outbox.insert_event(
                conn, endpoint.account_id, kind, None, data, test=True
            )
            delivery_id = await outbox.insert_delivery(
                conn,
                account_id=endpoint.account_id,
                event_id=event_id,
                endpoint_id=endpoint.id,
                task_id=None,
                url=endpoint.url,
                renderer=wh.ENDPOINT_RENDERER,
            )
            return await _delivery(conn, endpoint.account_id, delivery_id)

    async def replay(
        self, account_id: str, delivery_id: str, endpoint_id: str | None
    ) -> wh.Delivery:
        """Queues the same event to the same target again, as a new delivery."""
        async with self.db.write() as conn:
            old = await _delivery(conn, account_id, delivery_id, endpoint_id=endpoint_id)
            url = old.url
            if old.endpoint_id is not None:
                url = (await _endpoint(conn, account_id, old.endpoint_id)).url
            new_delivery = await outbox.insert_delivery(
                conn,
                account_id=account_id,
                event_id=old.event_id,
                endpoint_id=old.endpoint_id,
                task_id=old.task_id,
                url=url,
                renderer=old.renderer,
            )
            return await _delivery(conn, account_id, new_delivery)

    async def get_delivery(
        self, account_id: str, delivery_id: str, *, endpoint_id: str | None = None
    ) -> wh.Delivery:
        """One delivery with its attempts."""
        async with self.db.read() as conn:
            return await _delivery(conn, account_id, delivery_id, endpoint_id=endpoint_id)

    async def list_deliveries(
        self,
        account_id: str,
        *,
        endpoint_id: str | None = None,
        task_id: str | None = None,
        limit: int = 20,
        after: str | None = None,
        status: str | None = None,
    ) -> DeliveryPage:
        """Deliveries newest first, to one endpoint or for one task's callbacks."""
        query = _deliveries().where(DL.c.account_id == account_id)
        if endpoint_id is not None:
            query = query.where(DL.c.endpoint_id == endpoint_id)
        if task_id is not None:
            query = query.where(DL.c.task_id == task_id, DL.c.endpoint_id.is_(None))
        if after:
            query = query.where(DL.c.id < after)
        if status:
            query = query.where(DL.c.status == status)
        async with self.db.read() as conn:
            rows = (
                (await conn.execute(query.order_by(DL.c.id.desc()).limit(limit + 1)))
                .mappings()
                .all()
            )
            items = await _with_attempts(conn, rows[:limit])
        return DeliveryPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)

    async def list_events(
        self, account_id: str, *, limit: int, after: str | None, kind: str | None
    ) -> EventPage:
        """The account's events, newest first (test events included)."""
        query = select(EV).where(EV.c.account_id == account_id)
        if after:
            query = query.where(EV.c.id < after)
        if kind:
            query = query.where(EV.c.type == kind)
        async with self.db.read() as conn:
            rows = (
                (await conn.execute(query.order_by(EV.c.id.desc()).limit(limit + 1)))
                .mappings()
                .all()
            )
        items = [event_from_row(r) for r in rows[:limit]]
        return EventPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)

    # --- the sender's side ---------------------------------------------------------------

    async def outgoing(self, delivery_id: str) -> Outgoing | None:
        """The delivery, its event and endpoint, or None if the delivery is gone."""
        async with self.db.read() as conn:
            row = (
                (await conn.execute(_deliveries().where(DL.c.id == delivery_id))).mappings().first()
            )
            if row is None:
                return None
            delivery = (await _with_attempts(conn, [row]))[0]
            event_row = (
                (await conn.execute(select(EV).where(EV.c.id == delivery.event_id)))
                .mappings()
                .one()
            )
            endpoint = None
            if delivery.endpoint_id is not None:
                endpoint_row = (
                    (await conn.execute(select(EP).where(EP.c.id == delivery.endpoint_id)))
                    .mappings()
                    .one()
                )
                endpoint = endpoint_from_row(endpoint_row)
        return Outgoing(delivery=delivery, event=event_from_row(event_row), endpoint=endpoint)

    async def finish_job(self, job: Job) -> None:
        """Completes a delivery job that has nothing (more) to send."""
        async with self.db.write() as conn:
            await conn.run(END_JOB, {**fenced(job), "state": "completed", "updated_at": now()})

    async def settle(self, job: Job, delivery: wh.Delivery, outcome: Outcome) -> bool:
        """Records an attempt and moves the delivery and its job on; False if the lease is lost."""
        stamp = now()
        pending = outcome.status is wh.DeliveryStatus.PENDING
        job_values: dict[str, Any] = (
            {"state": "retryable", "run_at": outcome.retry_at}
            if pending
            else {"state": "completed"}
        )
        error = outcome.attempt.error if outcome.attempt else None
        async with self.db.write() as conn:
            fenced = await conn.execute(
                update(t.jobs)
                .where(fence(job))
                .values(
                    lease_owner=None,
                    lease_until=None,
                    last_error=error,
                    updated_at=stamp,
                    **job_values,
                )
            )
            if fenced.rowcount != 1:
                return False
            count = delivery.attempt_count
            if outcome.attempt is not None:
                count += 1
                await conn.execute(
                    insert(AT).values(
                        delivery_id=delivery.id, **_attempt_values(outcome.attempt, count)
                    )
                )
            await conn.execute(
                update(DL)
                .where(DL.c.id == delivery.id)
                .values(
                    status=str(outcome.status),
                    attempt_count=count,
                    next_attempt_at=outcome.retry_at if pending else None,
                    updated_at=stamp,
                )
            )
            if outcome.disable_endpoint and delivery.endpoint_id:
                await conn.execute(
                    update(EP)
                    .where(EP.c.id == delivery.endpoint_id)
                    .values(
                        enabled=False, disabled_reason=outcome.disable_endpoint, updated_at=stamp
                    )
                )
        return True


def _live(account_id: str) -> Any:
    return (EP.c.account_id == account_id) & EP.c.deleted_at.is_(None)


async def _endpoint(conn: Connection, account_id: str, endpoint_id: str) -> wh.Endpoint:
    row = (
        (await conn.execute(select(EP).where(_live(account_id), EP.c.id == endpoint_id)))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"no webhook endpoint {endpoint_id!r}")
    return endpoint_from_row(row)


def _deliveries() -> Any:
    return select(DL, EV.c.type.label("event_type")).join(EV, EV.c.id == DL.c.event_id)


async def _delivery(
    conn: Connection, account_id: str, delivery_id: str, *, endpoint_id: str | None = None
) -> wh.Delivery:
    query = _deliveries().where(DL.c.account_id == account_id, DL.c.id == delivery_id)
    if endpoint_id is not None:
        query = query.where(DL.c.endpoint_id == endpoint_id)
    row = (await conn.execute(query)).mappings().first()
    if row is None:
        raise NotFound(f"no webhook delivery {delivery_id!r}")
    return (await _with_attempts(conn, [row]))[0]


async def _with_attempts(conn: Connection, rows: Any) -> list[wh.Delivery]:
    ids = [r["id"] for r in rows]
    attempts: dict[str, list[wh.Attempt]] = {i: [] for i in ids}
    if ids:
        query = select(AT).where(AT.c.delivery_id.in_(ids)).order_by(AT.c.delivery_id, AT.c.attempt)
        for a in (await conn.execute(query)).mappings().all():
            attempts[a["delivery_id"]].append(attempt_from_row(a))
    return [delivery_from_row(r, tuple(attempts[r["id"]])) for r in rows]


def _attempt_values(attempt: wh.Attempt, number: int) -> dict[str, Any]:
    return {
        "attempt": number,
        "started_at": attempt.started_at,
        "status_code": attempt.status_code,
        "latency_ms": attempt.latency_ms,
        "error": (attempt.error or "")[:1000] or None,
        "response_excerpt": (attempt.response_excerpt or "")[:1000] or None,
    }


def endpoint_from_row(row: Any) -> wh.Endpoint:
    """The ``Endpoint`` of a ``webhook_endpoints`` row."""
    return wh.Endpoint(
        id=row["id"],
        account_id=row["account_id"],
        url=row["url"],
        description=row["description"],
        event_types=tuple(row["event_types"]),
        enabled=bool(row["enabled"]),
        disabled_reason=row["disabled_reason"],
        secret=row["secret"],
        previous_secret=row["previous_secret"],
        previous_secret_expires_at=row["previous_secret_expires_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def event_from_row(row: Any) -> wh.Event:
    """The ``Event`` of a ``webhook_events`` row."""
    return wh.Event(
        id=row["id"],
        account_id=row["account_id"],
        type=row["type"],
        task_id=row["task_id"],
        data=dict(row["data"]),
        test=bool(row["test"]),
        created_at=row["created_at"],
    )


def delivery_from_row(row: Any, attempts: tuple[wh.Attempt, ...]) -> wh.Delivery:
    """The ``Delivery`` of a deliveries row joined with its event's type."""
    return wh.Delivery(
        id=row["id"],
        account_id=row["account_id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        endpoint_id=row["endpoint_id"],
        task_id=row["task_id"],
        url=row["url"],
        renderer=row["renderer"],
        status=wh.DeliveryStatus(row["status"]),
        attempt_count=row["attempt_count"],
        next_attempt_at=row["next_attempt_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        attempts=attempts,
    )


def attempt_from_row(row: Any) -> wh.Attempt:
    """The ``Attempt`` of a ``webhook_attempts`` row."""
    return wh.Attempt(
        attempt=row["attempt"],
        started_at=row["started_at"],
        status_code=row["status_code"],
        latency_ms=row["latency_ms"],
        error=row["error"],
        response_excerpt=row["response_excerpt"],
    )
