"""The webhook outbox: events and their delivery jobs, written inside the status change's
transaction, so a committed status change always has its deliveries queued (and a rolled-back
one never does)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, insert, select, update

from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.ids import new_id
from seedance_gateway.domain.tasks import Status, Task
from seedance_gateway.store import tables as t
from seedance_gateway.store.accounts import now
from seedance_gateway.store.database import Connection

DELIVER = "deliver"
#: Lease losses a delivery job survives; the retry schedule itself is the sender's business.
DELIVER_MAX_ATTEMPTS = 50


#: Every status change's statements, built once and run prepared (``Connection.run``); an
#: ``INSERT`` stores the columns its parameters name.
INSERT_EVENT = insert(t.webhook_events)
INSERT_DELIVERY = insert(t.webhook_deliveries)
INSERT_JOB = insert(t.jobs)
SUBSCRIBED = select(
    t.webhook_endpoints.c.id, t.webhook_endpoints.c.url, t.webhook_endpoints.c.event_types
).where(
    t.webhook_endpoints.c.account_id == bindparam("account_id"),
    t.webhook_endpoints.c.enabled.is_(True),
    t.webhook_endpoints.c.deleted_at.is_(None),
)


async def record_status_change(conn: Connection, task: Task) -> None:
    """Raises the event for ``task``'s (new) status and queues its deliveries."""
    kind = wh.event_type_for(task.status)
    callback = _callback_url(task)
    if kind not in wh.EVENT_TYPES:  # queued: no endpoint can subscribe to it (a create's case)
        if callback is None:
            return
        endpoints = []
    else:
        endpoints = [
            e for e in await _subscribed(conn, task.account_id) if kind in e["event_types"]
        ]
    event_id = await insert_event(conn, task.account_id, kind, task.id, task.to_json())
    targets = [(e["id"], e["url"], wh.ENDPOINT_RENDERER) for e in endpoints]
    if callback is not None:
        targets.append((None, callback, task.dialect))
    for endpoint_id, url, renderer in targets:
        await insert_delivery(
            conn,
            account_id=task.account_id,
            event_id=event_id,
            endpoint_id=endpoint_id,
            task_id=task.id,
            url=url,
            renderer=renderer,
        )


async def insert_event(
    conn: Connection,
    account_id: str,
    kind: str,
    task_id: str | None,
    data: dict[str, Any],
    *,
    test: bool = False,
) -> str:
    """Stores one event; returns its id (the ``webhook-id`` of every delivery of it)."""
    event_id = new_id("evt")
    event = {"id": event_id, "account_id": account_id, "type": kind, "task_id": task_id}
    await conn.run(INSERT_EVENT, {**event, "data": data, "test": test, "created_at": now()})
    return event_id


async def insert_delivery(
    conn: Connection,
    *,
    account_id: str,
    event_id: str,
    endpoint_id: str | None,
    task_id: str | None,
    url: str,
    renderer: str,
) -> str:
    """Stores one delivery and queues its job; returns the delivery id."""
    delivery_id = new_id("dlv")
    stamp = now()
    target = {"event_id": event_id, "endpoint_id": endpoint_id, "url": url, "renderer": renderer}
    await conn.run(
        INSERT_DELIVERY,
        {
            "id": delivery_id,
            "account_id": account_id,
            "task_id": task_id,
            **target,
            "status": str(wh.DeliveryStatus.PENDING),
            "attempt_count": 0,
            "next_attempt_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    await conn.run(
        INSERT_JOB,
        {
            "kind": DELIVER,
            "task_id": None,
            "payload": {"delivery_id": delivery_id},
            "state": "available",
            "attempt": 0,
            "max_attempts": DELIVER_MAX_ATTEMPTS,
            "run_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
        },
    )
    return delivery_id


async def abandon_delivery(conn: Connection, payload: dict[str, Any] | None) -> None:
    """Fails a delivery whose job the reaper gave up on (its workers kept dying)."""
    delivery_id = (payload or {}).get("delivery_id")
    await conn.execute(
        update(t.webhook_deliveries)
        .where(
            t.webhook_deliveries.c.id == delivery_id,
            t.webhook_deliveries.c.status == str(wh.DeliveryStatus.PENDING),
        )
        .values(status=str(wh.DeliveryStatus.FAILED), next_attempt_at=None, updated_at=now())
    )


async def _subscribed(conn: Connection, account_id: str) -> list[dict[str, Any]]:
    return (await conn.run(SUBSCRIBED, {"account_id": account_id})).rows


def _callback_url(task: Task) -> str | None:
    return _callback_for(task.request, task.status)


def _callback_for(request: Mapping[str, Any], status: Status) -> str | None:
    """The request's callback URL, if it asked to hear of ``status``."""
    url = request.get("callback_url")
    wanted = request.get("callback_statuses") or ()
    return url if url and str(status) in wanted else None


def writes_on_create(request: Mapping[str, Any]) -> bool:
    """Whether ``record_status_change`` writes anything for a task just created (queued) from
    ``request``: only when an endpoint may subscribe to ``queued`` or its callback asked for it."""
    queued = Status.QUEUED
    return wh.event_type_for(queued) in wh.EVENT_TYPES or _callback_for(request, queued) is not None
