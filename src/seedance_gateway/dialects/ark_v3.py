"""The official upstream's own contract: ``/api/v3/contents/generations/tasks``.

Facts: research/ark-official-api.md (§1 endpoints, §2 body, §3 task object, §5 errors). The
official Volcengine and BytePlus SDKs point their ``base_url`` at ``<server>/api/v3`` and work
unchanged. Ids are spelled ``cgt-<yyyymmddHHMMSS>-<body>`` (``domain.ids``); times are Unix
seconds; errors are ``{"error": {"code", "message", "param", "type"}}``. Our extension:
an ``Idempotency-Key`` header on create.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from seedance_gateway.authentication import Principal
from seedance_gateway.catalog import ModelSpec
from seedance_gateway.commands import SubmitCommand
from seedance_gateway.contracts import ark_v3 as wire
from seedance_gateway.contracts.operation import operation
from seedance_gateway.dialects import ark_body, echo, error_headers
from seedance_gateway.dialects.public_v1 import principal_of, service_of
from seedance_gateway.domain import fingerprint as fp
from seedance_gateway.domain import ids, usage
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.requests import GenerationRequest, nearest_ratio
from seedance_gateway.domain.tasks import Status, Task
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
from seedance_gateway.references import IncomingReference
from seedance_gateway.service import Service
from seedance_gateway.store.tasks import TaskFilter
from seedance_gateway.web.base_url import base_url
from seedance_gateway.web.body import read_json
from seedance_gateway.web.routing import PrefixRouter

PREFIX = "/api/v3"
router = PrefixRouter(prefix=f"{PREFIX}/contents/generations")
Caller = Annotated[Principal, Depends(principal_of)]
#: The upstream calls back on every status change.
CALLBACK_STATUSES = tuple(str(s) for s in Status)
LIST_STATUSES = tuple(str(s) for s in Status)
SERVICE_TIERS = ("default", "flex")
#: How far back the list reaches, as upstream (research/anchors-2026-12.md §2.3).
LIST_WINDOW = timedelta(days=7)
MAX_PAGE = 500


class ArkError(GatewayError):
    """An error already in the upstream's terms (status, code, type, param)."""

    def __init__(self, status: int, code: str, kind: str, message: str, *, param: str = "") -> None:
        super().__init__(message, code=code)
        self.status = status
        self.kind = kind
        self.param = param


@router.post(
    "/tasks",
    responses={
        200: {"model": wire.ArkCreated, "headers": wire.REPLAYED, "links": wire.CREATED_LINKS}
    },
    openapi_extra=operation(
        body=wire.ArkCreateTask, raises=(NotFound, InsufficientCredits, IdempotencyConflict)
    ),
)
async def create_task(
    request: Request,
    caller: Caller,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Queues a generation; answers ``{"id": "cgt-..."}``."""
    service = service_of(request)
    raw = await read_json(request)
    command = parse_create(service, raw, request_id=request.state.request_id)
    command = dataclasses.replace(command, idempotency_key=idempotency_key)
    submission = await service.submit(caller, command)
    body: dict[str, Any] = {"id": ids.ark_task_id(submission.task.id)}
    if submission.task.request.get("safety_identifier"):
        body["safety_identifier"] = submission.task.request["safety_identifier"]
    headers = {"Idempotent-Replayed": "true"} if submission.replayed else {}
    return JSONResponse(body, headers=headers)


@router.get(
    "/tasks",
    responses={200: {"model": wire.ArkTaskList}},
    openapi_extra={**operation(), "parameters": wire.LIST_PARAMETERS},
)
async def list_tasks(request: Request, caller: Caller) -> dict[str, Any]:
    """``{"total", "items"}``, newest first, of the last ``LIST_WINDOW`` (the upstream's 7 days;
    a task stays readable by id after it); without ``filter.service_tier`` only ``default``."""
    query = request.query_params
    page = _page_number(query.get("page_num"), "page_num", 1)
    size = _page_number(query.get("page_size"), "page_size", 20)
    tier = _one_of(query.get("filter.service_tier"), "filter.service_tier", SERVICE_TIERS)
    where = TaskFilter(
        statuses=_one_of(query.get("filter.status"), "filter.status", LIST_STATUSES),
        task_ids=tuple(query.getlist("filter.task_ids")),
        model=_model_filter(service_of(request), query.get("filter.model")),
        service_tier=tier[0] if tier else "default",
        created_after=datetime.now(UTC) - LIST_WINDOW,
    )
    service = service_of(request)
    found = await service.tasks_page(caller, page=page, size=size, where=where)
    return {"total": found.total, "items": [task_view(service, t, request) for t in found.items]}


@router.get("/tasks/{task_id}", responses={200: {"model": wire.ArkTask, "links": wire.TASK_LINKS}})
async def get_task(request: Request, task_id: str, caller: Caller) -> dict[str, Any]:
    """One task, by any spelling of its id."""
    service = service_of(request)
    return task_view(service, await service.get(caller, task_id), request)


@router.delete(
    "/tasks/{task_id}",
    responses={200: {"model": wire.ArkDeleted}},
    openapi_extra=operation(raises=(InvalidState,)),
)
async def delete_task(request: Request, task_id: str, caller: Caller) -> dict[str, Any]:
    """Cancels a queued task (credits released) or deletes a finished one; ``{}``."""
    await service_of(request).cancel_or_delete(caller, task_id)
    return {}


def parse_create(service: Service, raw: Any, *, request_id: str | None) -> SubmitCommand:
    """The upstream create body as a ``SubmitCommand`` (shared with ``/seedance/videos``)."""
    model, items, body = ark_body.parse_shape(raw)
    spec = resolve(service, model, ark_body.references_of(items))
    parsed = ark_body.build(spec, items, body, model)
    return SubmitCommand(
        dialect="ark_v3",
        spec=spec,
        model_alias=model,
        prompt=parsed.prompt,
        fields=parsed.fields,
        names=ark_body.names(),
        references=parsed.references,
        fingerprint=fp.fingerprint(raw),
        callback_url=parsed.callback_url,
        callback_statuses=CALLBACK_STATUSES,
        expires_after=parsed.expires_after,
        request_id=request_id,
        wire_request=echo.redacted(raw),
        draft_task_id=parsed.draft_task_id,
    )


def resolve(service: Service, model: str, items: tuple[IncomingReference, ...]) -> ModelSpec:
    """The catalog model, or the upstream's ``404 InvalidEndpointOrModel.NotFound``."""
    try:
        return service.resolve_model(model, items)
    except ValidationFailed as exc:
        if exc.field != "model":
            raise
        raise ArkError(
            404,
            "InvalidEndpointOrModel.NotFound",
            "NotFound",
            f"The model or endpoint {model} does not exist or you do not have access to it; "
            f"use one of {', '.join(m.id for m in service.catalog.models)} or one of their "
            "upstream ids (GET /api/v1/models lists every alias)",
            param="model",
        ) from None


def task_json(task: Task, links: ResultLinks) -> dict[str, Any]:
    """The upstream's task object (research §3)."""
    request = GenerationRequest.from_json(task.request)
    body: dict[str, Any] = {
        "id": ids.ark_task_id(task.id),
        "model": task.model_alias,
        "status": str(task.status),
        "error": {"code": task.error.code, "message": task.error.message} if task.error else None,
        "created_at": int(task.created_at.timestamp()),
        "updated_at": int(task.updated_at.timestamp()),
        "seed": request.seed,
        "resolution": request.resolution,
        "ratio": concrete_ratio(request),
        "framespersecond": request.fps,
        "service_tier": request.service_tier,
        "execution_expires_after": request.expires_after,
        "generate_audio": request.generate_audio,
        "draft": request.draft,
    }
    if usage.requested_by_frames(request):
        body["frames"] = request.frames
    else:
        body["duration"] = usage.echoed_duration(request)
    if request.priority:
        body["priority"] = request.priority
    if request.safety_identifier:
        body["safety_identifier"] = request.safety_identifier
    if request.draft_task_id:
        body["draft_task_id"] = ids.ark_task_id(request.draft_task_id)
    if task.status is Status.SUCCEEDED:
        content = {"video_url": links.video_url}
        if links.last_frame_url:
            content["last_frame_url"] = links.last_frame_url
        body["content"] = content
        tokens = usage.video_tokens(request)
        body["usage"] = {"completion_tokens": tokens, "total_tokens": tokens}
        made = task.result
        if made is not None and made.tool_usage:
            body["usage"]["tool_usage"] = dict(made.tool_usage)
        if made is not None and made.revised_prompt:
            body["revised_prompt"] = made.revised_prompt
    return body


def task_view(service: Service, task: Task, request: Request) -> dict[str, Any]:
    """``task_json`` with result URLs signed for this request's host."""
    return task_json(task, service.results.links(task, base_url(request)))


def callback_json(event: wh.Event, task: Task, links: ResultLinks) -> dict[str, Any]:
    """A ``callback_url`` body: the task object as GET shows it (the upstream sends no envelope)."""
    return task_json(task, links)


def concrete_ratio(request: GenerationRequest) -> str:
    """The ratio actually used: the requested one, or what ``adaptive`` chose."""
    if request.ratio != "adaptive":
        return request.ratio
    return nearest_ratio(request.width, request.height)


def render_error(request: Request, error: GatewayError, request_id: str) -> JSONResponse:
    """The upstream's envelope, its codes and HTTP statuses (research §5)."""
    status, code, kind, param = upstream_terms(error)
    body = {
        "error": {
            "code": code,
            "message": f"{error.message.rstrip('.')}. Request id: {request_id}",
            "param": param,
            "type": kind,
        }
    }
    headers = error_headers(error)
    if status == 409:
        headers["x-should-retry"] = "false"  # the SDKs retry 409 (a lock timeout upstream)
    return JSONResponse(body, status_code=status, headers=headers)


def upstream_terms(error: GatewayError) -> tuple[int, str, str, str]:
    """``(HTTP status, code, type, param)`` for one of our errors."""
    if isinstance(error, ArkError):
        return error.status, error.code, error.kind, error.param
    if isinstance(error, ValidationFailed):
        return 400, _validation_code(error), "BadRequest", error.field or ""
    simple: list[tuple[type[GatewayError], tuple[int, str, str]]] = [
        (Unauthorized, (401, "AuthenticationError", "Unauthorized")),
        (Forbidden, (403, "AccessDenied", "Forbidden")),
        (InsufficientCredits, (403, "AccountOverdueError", "Forbidden")),
        (NotFound, (404, "NotFound", "NotFound")),
        (InvalidState, (403, "OperationDenied.InvalidState", "Forbidden")),
        (IdempotencyConflict, (409, "IdempotencyConflict", "Conflict")),
        (PayloadTooLarge, (400, "InvalidParameter", "BadRequest")),
    ]
    for cls, terms in simple:
        if isinstance(error, cls):
            return (*terms, "")
    if isinstance(error, RateLimited):
        code = "QuotaExceeded" if error.in_flight else "RateLimitExceeded"
        return 429, code, "TooManyRequests", ""
    if error.status == 404:
        return 404, "NotFound", "NotFound", ""
    if error.status == 405:
        return 405, "MethodNotAllowed", "MethodNotAllowed", ""
    return 500, "InternalServiceError", "InternalServerError", ""


def _validation_code(error: ValidationFailed) -> str:
    field = error.field or ""
    if error.reason == "missing":
        return "MissingParameter"
    if error.reason == "unsupported":
        return "InvalidParameter.UnsupportedParameter"
    if error.reason == "empty_url":
        return "InvalidImageURL.EmptyURL" if "image_url" in field else "InvalidParameter"
    return "InvalidParameter"


def _model_filter(service: Service, raw: str | None) -> str | None:
    """``filter.model`` by any name of the model (the upstream's ids included)."""
    if not raw:
        return None
    spec = service.catalog.find(raw)
    return spec.id if spec is not None else raw


def _page_number(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_PAGE:
        raise ValidationFailed(
            f"the parameter `{name}` must be an integer between 1 and {MAX_PAGE} (got {raw!r})",
            field=name,
        )
    return int(text)


def _one_of(raw: str | None, name: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if not raw:
        return ()
    if raw not in allowed:
        raise ValidationFailed(
            f"the parameter `{name}` must be one of {', '.join(allowed)} (got {raw!r})",
            field=name,
        )
    return (raw,)
