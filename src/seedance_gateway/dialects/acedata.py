"""Seed 004's API: ``POST /seedance/videos`` (the upstream's body, synchronous by default) and
``POST /seedance/tasks`` (retrieve one or a batch).

Facts: seed 004 and research/gateways.md §3.2. Each task has two ids here: ``task_id`` (a UUID,
the platform's record) and ``data.task_id`` (the upstream's ``cgt-...``); both are spellings of
our one id (``domain.ids``). ``trace_id`` is the UUID spelling of the create request's
``x-request-id``. Errors: ``{"success": false, "error": {"code", "message"}, "trace_id"}``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from seedance_gateway.authentication import Principal
from seedance_gateway.contracts import acedata as wire
from seedance_gateway.contracts.operation import operation
from seedance_gateway.dialects import error_headers
from seedance_gateway.dialects.ark_v3 import parse_create
from seedance_gateway.dialects.public_v1 import principal_of, service_of
from seedance_gateway.domain import ids
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.tasks import TERMINAL, Status, Task
from seedance_gateway.errors import (
    Forbidden,
    GatewayError,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidState,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from seedance_gateway.links import ResultLinks
from seedance_gateway.service import Service
from seedance_gateway.web.base_url import base_url
from seedance_gateway.web.body import read_json
from seedance_gateway.web.routing import PrefixRouter

PREFIX = "/seedance"
router = PrefixRouter(prefix=PREFIX)
Caller = Annotated[Principal, Depends(principal_of)]
#: The callback hears about the end of the task.
CALLBACK_STATUSES = tuple(str(s) for s in TERMINAL)
MAX_BATCH = 100
FIRST_POLL, MAX_POLL = 0.25, 2.0  #: seconds between reads while a synchronous create waits


@router.post(
    "/videos",
    description="Creates a video. Without `callback_url` the answer waits until the task ends "
    "or the server's wait limit passes (`sync_wait_seconds`, 300 s by default; then the answer "
    "is the task as it stands, to read later through `/seedance/tasks`); a task that failed or "
    'expired answers 500, as the seed does. With `callback_url` the answer is `{"task_id"}` '
    "at once and the final answer is POSTed there.",
    responses={
        200: {"model": wire.AceDataCreated, "links": wire.RETRIEVE_LINK},
        500: {"model": wire.AceDataAnswer, "description": "The task failed or expired."},
    },
    openapi_extra=operation(
        body=wire.AceDataCreateVideo, raises=(InsufficientCredits, IdempotencyConflict)
    ),
)
async def create_video(
    request: Request,
    caller: Caller,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Creates a video; waits for it unless the body has a ``callback_url``."""
    service = service_of(request)
    raw = await read_json(request)
    command = parse_create(service, raw, request_id=request.state.request_id)
    command = dataclasses.replace(
        command,
        dialect="acedata",
        idempotency_key=idempotency_key,
        callback_statuses=CALLBACK_STATUSES,
    )
    submission = await service.submit(caller, command)
    task = submission.task
    if command.callback_url:
        return JSONResponse({"task_id": ids.uuid_form(task.id)})
    task = await wait_for_end(service, caller, task, request)
    return _answer(task, service.results.links(task, base_url(request)))


@router.post(
    "/tasks",
    responses={200: {"model": wire.AceDataTasks}},
    openapi_extra=operation(body=wire.AceDataTasksQuery, raises=(NotFound,)),
)
async def tasks(request: Request, caller: Caller) -> dict[str, Any]:
    """``{"id" | "trace_id", "action": "retrieve"}`` or ``{"ids": [...], "action":
    "retrieve_batch"}``."""
    service = service_of(request)
    raw = await read_json(request)
    if not isinstance(raw, dict):
        raise ValidationFailed("the request body must be a JSON object", field="body")
    action = raw.get("action", "retrieve")
    if action == "retrieve":
        task = await _retrieve_one(service, caller, raw)
        return record_json(task, service.results.links(task, base_url(request)))
    if action == "retrieve_batch":
        found = await _retrieve_batch(service, caller, raw.get("ids"))
        items = [record_json(t, service.results.links(t, base_url(request))) for t in found]
        return {"items": items, "count": len(items)}
    raise ValidationFailed(
        f"action must be retrieve or retrieve_batch (got {action!r})", field="action"
    )


async def wait_for_end(service: Service, caller: Principal, task: Task, request: Request) -> Task:
    """Reads the task until it ends, the wait limit passes or the client goes away."""
    deadline = time.monotonic() + service.settings.sync_wait_seconds
    delay = FIRST_POLL
    while not task.status.terminal and time.monotonic() < deadline:
        if await request.is_disconnected():
            break
        await asyncio.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, MAX_POLL)
        task = await service.get(caller, task.id)
    return task


def response_json(task: Task, links: ResultLinks) -> dict[str, Any]:
    """The seed's answer: ``success``, ``task_id``, ``trace_id`` and ``data``."""
    data: dict[str, Any] = {
        "task_id": ids.ark_task_id(task.id),
        "status": str(task.status),
        "model": task.model_alias,
    }
    if task.status is Status.SUCCEEDED:
        data["video_url"] = links.video_url
        data["last_frame_url"] = links.last_frame_url
    body: dict[str, Any] = {
        "success": task.status not in (Status.FAILED, Status.EXPIRED, Status.CANCELLED),
        "task_id": ids.uuid_form(task.id),
        "trace_id": trace_id(task),
        "data": data,
    }
    if task.error is not None:
        body["error"] = {"code": task.error.code, "message": task.error.message}
    return body


def record_json(task: Task, links: ResultLinks) -> dict[str, Any]:
    """A ``/seedance/tasks`` record: the request as sent and the response as it stands."""
    request = task.wire_request or {
        "model": task.model_alias,
        "content": [{"type": "text", "text": task.request.get("prompt", "")}],
    }
    return {
        "id": ids.uuid_form(task.id),
        "created_at": round(task.created_at.timestamp(), 3),
        "finished_at": round(task.finished_at.timestamp(), 3) if task.finished_at else None,
        "request": request,
        "trace_id": trace_id(task),
        "type": "videos",
        "response": response_json(task, links),
    }


def callback_json(event: wh.Event, task: Task, links: ResultLinks) -> dict[str, Any]:
    """A ``callback_url`` body: the same answer a synchronous create gives."""
    return response_json(task, links)


def trace_id(task: Task) -> str | None:
    """The UUID spelling of the create request's id."""
    return ids.uuid_form(task.request_id) if task.request_id else None


def render_error(request: Request, error: GatewayError, request_id: str) -> JSONResponse:
    """``{"success": false, "error": {"code", "message"}, "trace_id"}`` (seed 004)."""
    status, code = _terms(error)
    body = {
        "success": False,
        "error": {"code": code, "message": error.message},
        "trace_id": ids.uuid_form(request_id),
    }
    return JSONResponse(body, status_code=status, headers=error_headers(error))


def _terms(error: GatewayError) -> tuple[int, str]:
    if isinstance(error, ValidationFailed):
        unsupported = error.reason == "unsupported"
        return 400, "api_not_implemented" if unsupported else "token_mismatched"
    if getattr(error, "param", None) == "model":
        return 400, "api_not_implemented"  # an unknown model, as the v3 parser reports it
    table: list[tuple[type[GatewayError], tuple[int, str]]] = [
        (Unauthorized, (401, "invalid_token")),
        (Forbidden, (403, "insufficient_scope")),
        (RateLimited, (429, "too_many_requests")),
        (InsufficientCredits, (403, "used_up")),
        (NotFound, (404, "not_found")),
        (IdempotencyConflict, (409, "idempotency_conflict")),
        (InvalidState, (409, "invalid_state")),
        (PayloadTooLarge, (413, "payload_too_large")),
    ]
    for cls, terms in table:
        if isinstance(error, cls):
            return terms
    if error.status == 404:
        return 404, "not_found"
    if error.status == 405:
        return 405, "method_not_allowed"
    return 500, "api_error"


def _answer(task: Task, links: ResultLinks) -> JSONResponse:
    body = response_json(task, links)
    if task.status in (Status.FAILED, Status.EXPIRED):
        return JSONResponse(body, status_code=500)  # the seed's api_error: the upstream failed
    return JSONResponse(body)


async def _retrieve_one(service: Service, caller: Principal, raw: dict[str, Any]) -> Task:
    if isinstance(raw.get("id"), str) and raw["id"]:
        return await service.get(caller, raw["id"])
    if isinstance(raw.get("trace_id"), str) and raw["trace_id"]:
        return await service.get_by_trace(caller, raw["trace_id"])
    raise ValidationFailed("id or trace_id is required for action retrieve", field="id")


async def _retrieve_batch(service: Service, caller: Principal, raw: Any) -> list[Task]:
    if not isinstance(raw, list) or not raw or not all(isinstance(i, str) for i in raw):
        raise ValidationFailed(
            "ids is required for action retrieve_batch: a non-empty array of task ids",
            field="ids",
        )
    if len(raw) > MAX_BATCH:
        raise ValidationFailed(f"ids has {len(raw)} entries; at most {MAX_BATCH}", field="ids")
    found = []
    for task_id in raw:
        try:
            found.append(await service.get(caller, task_id))
        except NotFound:
            continue  # a batch lists what exists
    return found
