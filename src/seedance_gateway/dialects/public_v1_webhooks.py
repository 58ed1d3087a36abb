"""Public API v1 webhooks: endpoints, secrets, tests, the deliveries log and events.

Wire facts: research/gateways.md §3.1 (Rivya's webhooks API) and docs/webhooks.md, which is
this module's contract. Every route answers in the Public API v1 error envelope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from seedance_gateway.contracts import public_v1_resources as wire
from seedance_gateway.contracts.operation import operation
from seedance_gateway.contracts.public_v1_resources import (
    CreateWebhookEndpoint,
    RotateWebhookSecret,
    SendWebhookTest,
    UpdateWebhookEndpoint,
)
from seedance_gateway.dialects.public_v1 import (
    Caller,
    iso_time,
    parse_body,
    service_of,
    task_view,
)
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.tasks import Task
from seedance_gateway.errors import NotFound
from seedance_gateway.service import Service
from seedance_gateway.web.body import read_json
from seedance_gateway.web.routing import PrefixRouter
from seedance_gateway.webhooks.manage import Created, Webhooks

router = PrefixRouter(prefix="/api/v1")
Limit = Annotated[int, Query(ge=1, le=100)]
StatusFilter = Annotated[
    str | None, Query(json_schema_extra={"enum": [str(s) for s in wh.DeliveryStatus]})
]
TypeFilter = Annotated[str | None, Query(json_schema_extra={"enum": [*wh.EVENT_TYPES, wh.QUEUED]})]
#: Where a new endpoint's id leads.
ENDPOINT_LINKS = {
    name: wire.link(name, endpoint_id="id")
    for name in (
        "get_endpoint",
        "update_endpoint",
        "delete_endpoint",
        "rotate_secret",
        "send_test",
        "list_deliveries",
    )
}
#: Where a new delivery's ids lead.
DELIVERY_LINKS = {
    name: wire.link(name, endpoint_id="endpoint_id", delivery_id="id")
    for name in ("get_delivery", "replay_delivery")
}


def optional_body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of a route on a path with an id whose JSON body may be left out."""
    extra = operation(body=model, raises=(NotFound,))
    extra["requestBody"]["required"] = False
    return extra


def webhooks_of(request: Request) -> Webhooks:
    """The webhook use cases of the app's service."""
    return service_of(request).webhooks


@router.post(
    "/webhooks",
    status_code=201,
    responses={201: {"model": wire.WebhookEndpointWithSecret, "links": ENDPOINT_LINKS}},
    openapi_extra=operation(body=CreateWebhookEndpoint),
)
async def create_endpoint(request: Request, caller: Caller) -> JSONResponse:
    """Registers an endpoint; the answer is the only time its secret is shown."""
    body = parse_body(CreateWebhookEndpoint, await read_json(request))
    created = await webhooks_of(request).create(
        caller.account_id,
        url=body.url,
        event_types=tuple(body.event_types) if body.event_types is not None else None,
        description=body.description or "",
        enabled=body.enabled is not False,
    )
    return JSONResponse(_with_secret(created), 201)


@router.get("/webhooks", responses={200: {"model": wire.WebhookEndpointList}})
async def list_endpoints(request: Request, caller: Caller) -> dict[str, Any]:
    """The caller's endpoints, oldest first."""
    endpoints = await webhooks_of(request).list(caller.account_id)
    return {"object": "list", "data": [endpoint_json(e) for e in endpoints]}


@router.get("/webhooks/callback-secret", responses={200: {"model": wire.CallbackSecret}})
async def callback_secret(request: Request, caller: Caller) -> dict[str, Any]:
    """The secret that signs this account's per-request callbacks."""
    return {
        "object": "callback_secret",
        "secret": webhooks_of(request).callback_secret(caller.account_id),
    }


@router.get(
    "/webhooks/{endpoint_id}",
    responses={200: {"model": wire.WebhookEndpoint}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def get_endpoint(request: Request, endpoint_id: str, caller: Caller) -> dict[str, Any]:
    """One endpoint (never its secret)."""
    return endpoint_json(await webhooks_of(request).get(caller.account_id, endpoint_id))


@router.patch(
    "/webhooks/{endpoint_id}",
    responses={200: {"model": wire.WebhookEndpoint}},
    openapi_extra=operation(body=UpdateWebhookEndpoint, raises=(NotFound,)),
)
async def update_endpoint(request: Request, endpoint_id: str, caller: Caller) -> dict[str, Any]:
    """Changes url, event_types, description or enabled."""
    body = parse_body(UpdateWebhookEndpoint, await read_json(request))
    changes = body.model_dump(exclude_none=True)  # JSON null counts as absent
    if "event_types" in changes:
        changes["event_types"] = tuple(changes["event_types"])
    endpoint = await webhooks_of(request).update(caller.account_id, endpoint_id, changes)
    return endpoint_json(endpoint)


@router.delete(
    "/webhooks/{endpoint_id}",
    responses={200: {"model": wire.DeletedWebhookEndpoint}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def delete_endpoint(request: Request, endpoint_id: str, caller: Caller) -> dict[str, Any]:
    """Deletes an endpoint; its pending deliveries are cancelled."""
    await webhooks_of(request).delete(caller.account_id, endpoint_id)
    return {"id": endpoint_id, "object": "webhook_endpoint", "deleted": True}


@router.post(
    "/webhooks/{endpoint_id}/rotate-secret",
    responses={200: {"model": wire.RotatedWebhookEndpoint}},
    openapi_extra=optional_body(RotateWebhookSecret),
)
async def rotate_secret(request: Request, endpoint_id: str, caller: Caller) -> dict[str, Any]:
    """A new secret, shown once; the old one keeps signing for the grace period."""
    body = parse_body(RotateWebhookSecret, await _optional_body(request))
    created = await webhooks_of(request).rotate(
        caller.account_id, endpoint_id, body.grace_period_seconds
    )
    return _with_secret(created)


@router.post(
    "/webhooks/{endpoint_id}/test",
    status_code=202,
    responses={202: {"model": wire.WebhookDelivery, "links": DELIVERY_LINKS}},
    openapi_extra=optional_body(SendWebhookTest),
)
async def send_test(request: Request, endpoint_id: str, caller: Caller) -> JSONResponse:
    """Queues a test event to the endpoint; 202 with the delivery."""
    body = parse_body(SendWebhookTest, await _optional_body(request))
    delivery = await webhooks_of(request).send_test(caller.account_id, endpoint_id, body.event_type)
    return JSONResponse(delivery_json(delivery), 202)


@router.get(
    "/webhooks/{endpoint_id}/deliveries",
    responses={200: {"model": wire.WebhookDeliveryList}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def list_deliveries(
    request: Request,
    endpoint_id: str,
    caller: Caller,
    limit: Limit = 20,
    after: str | None = None,
    status: StatusFilter = None,
) -> dict[str, Any]:
    """The endpoint's deliveries, newest first, each with its attempts."""
    page = await webhooks_of(request).deliveries(
        caller.account_id, endpoint_id=endpoint_id, limit=limit, after=after, status=status
    )
    return _page([delivery_json(d) for d in page.items], page.next_cursor)


@router.get(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}",
    responses={200: {"model": wire.WebhookDelivery}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def get_delivery(
    request: Request, endpoint_id: str, delivery_id: str, caller: Caller
) -> dict[str, Any]:
    """One delivery with all its attempts."""
    delivery = await webhooks_of(request).delivery(caller.account_id, endpoint_id, delivery_id)
    return delivery_json(delivery)


@router.post(
    "/webhooks/{endpoint_id}/deliveries/{delivery_id}/replay",
    status_code=202,
    responses={202: {"model": wire.WebhookDelivery, "links": DELIVERY_LINKS}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def replay_delivery(
    request: Request, endpoint_id: str, delivery_id: str, caller: Caller
) -> JSONResponse:
    """Sends the delivery's event again (same ``webhook-id``) as a new delivery."""
    delivery = await webhooks_of(request).replay(
        caller.account_id, delivery_id, endpoint_id=endpoint_id
    )
    return JSONResponse(delivery_json(delivery), 202)


@router.get("/webhook-events", responses={200: {"model": wire.WebhookEventList}})
async def list_events(
    request: Request,
    caller: Caller,
    limit: Limit = 20,
    after: str | None = None,
    type: TypeFilter = None,
) -> dict[str, Any]:
    """The account's events, newest first, each with the generation as it was then."""
    service = service_of(request)
    page = await service.webhooks.events(caller.account_id, limit=limit, after=after, kind=type)
    data = [_event_view(service, event, request) for event in page.items]
    return _page(data, page.next_cursor)


@router.get(
    "/generations/{task_id}/deliveries",
    responses={200: {"model": wire.WebhookDeliveryList}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def task_deliveries(
    request: Request,
    task_id: str,
    caller: Caller,
    limit: Limit = 20,
    after: str | None = None,
) -> dict[str, Any]:
    """The per-request callback deliveries of one generation."""
    service = service_of(request)
    await service.get(caller, task_id)
    page = await service.webhooks.deliveries(
        caller.account_id, task_id=task_id, limit=limit, after=after, status=None
    )
    return _page([delivery_json(d) for d in page.items], page.next_cursor)


def _event_view(service: Service, event: wh.Event, request: Request) -> dict[str, Any]:
    """An event with the generation as it was then (result URLs signed for this host)."""
    task = Task.from_json(event.data)
    return {
        "id": event.id,
        "object": "event",
        "type": event.type,
        "created_at": iso_time(event.created_at),
        "task_id": event.task_id,
        "test": event.test,
        "data": task_view(service, task, request),
    }


def endpoint_json(endpoint: wh.Endpoint) -> dict[str, Any]:
    """The endpoint object (without its secret)."""
    return {
        "id": endpoint.id,
        "object": "webhook_endpoint",
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": iso_time(endpoint.created_at),
        "updated_at": iso_time(endpoint.updated_at),
    }


def delivery_json(delivery: wh.Delivery) -> dict[str, Any]:
    """The delivery object of the deliveries log."""
    return {
        "id": delivery.id,
        "object": "webhook_delivery",
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "task_id": delivery.task_id,
        "url": delivery.url,
        "status": str(delivery.status),
        "attempt_count": delivery.attempt_count,
        "next_attempt_at": _time(delivery.next_attempt_at),
        "created_at": iso_time(delivery.created_at),
        "updated_at": iso_time(delivery.updated_at),
        "attempts": [
            {
                "attempt": a.attempt,
                "started_at": iso_time(a.started_at),
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "error": a.error,
                "response_excerpt": a.response_excerpt,
            }
            for a in delivery.attempts
        ],
    }


def _with_secret(created: Created) -> dict[str, Any]:
    body = endpoint_json(created.endpoint)
    body["secret"] = created.secret
    expires = created.endpoint.previous_secret_expires_at
    if created.endpoint.previous_secret and expires is not None:
        body["previous_secret_expires_at"] = iso_time(expires)
    return body


async def _optional_body(request: Request) -> Any:
    return await read_json(request, empty={})


def _page(data: list[dict[str, Any]], cursor: str | None) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": cursor is not None, "next_cursor": cursor}


def _time(value: Any) -> str | None:
    return iso_time(value) if value is not None else None
