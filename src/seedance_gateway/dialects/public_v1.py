"""The Public API v1 dialect: ``/api/v1/models``, ``/generations``, ``/credits``.

Wire facts: seeds 000-002 and research/gateways.md §3.1. Statuses are ``queued | processing |
succeeded | failed`` plus ``cancelled`` and ``expired``; errors are
``{"error": {"code", "message", "requestId"}}``. Beyond the reference API: list and cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ValidationError

from seedance_gateway.authentication import Principal
from seedance_gateway.catalog import ModelSpec
from seedance_gateway.catalog import params as catalog_params
from seedance_gateway.commands import SubmitCommand
from seedance_gateway.contracts import public_v1 as wire
from seedance_gateway.contracts.operation import operation
from seedance_gateway.contracts.public_v1 import CreateGeneration, ReferenceItem
from seedance_gateway.contracts.public_v1_resources import CALLBACKS
from seedance_gateway.dialects import echo
from seedance_gateway.domain import fingerprint as fp
from seedance_gateway.domain import scopes
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.tasks import TERMINAL, Status, Task
from seedance_gateway.errors import (
    IdempotencyConflict,
    InsufficientCredits,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from seedance_gateway.links import ResultLinks
from seedance_gateway.references import IncomingReference
from seedance_gateway.service import Service
from seedance_gateway.web.base_url import base_url
from seedance_gateway.web.body import read_json
from seedance_gateway.web.routing import PrefixRouter

router = PrefixRouter(prefix="/api/v1")
Body = TypeVar("Body", bound=BaseModel)
STATUS_WORDS = {Status.RUNNING: "processing"}
STATUS_FILTER = tuple(STATUS_WORDS.get(s, str(s)) for s in Status)  #: the words ``status`` takes
#: A ``callback_url`` (our extension) hears about the end of the task, whatever it is.
CALLBACK_STATUSES = tuple(str(s) for s in TERMINAL)
SSE_KEEPALIVE_SECONDS = 15.0
RESULT_EXPIRED = "result_expired"  #: a succeeded task whose results retention deleted
REPLAYED = {
    "Idempotent-Replayed": {
        "description": "`true` when an earlier create with this `Idempotency-Key` answered.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
#: What a client does next with a created generation (schemathesis's stateful phase follows).
GENERATION_LINKS = {
    name: {"operationId": operation_id, "parameters": {"task_id": "$response.body#/id"}}
    for name, operation_id in (
        ("GetGeneration", "get_generation"),
        ("CancelGeneration", "cancel_generation"),
    )
}
#: One server-sent event, as OpenAPI 3.2 models an event (3.1 documents each event).
GENERATION_EVENT = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"const": "generation"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/Generation"},
        },
    },
}


def service_of(request: Request) -> Service:
    """The service the composition root attached to the app."""
    service: Service = request.app.state.service
    return service


async def principal_of(request: Request) -> Principal:
    """Authenticates (and rate-limits) the caller by its ``Authorization`` header, for the scope
    this request needs. (Only the request as a parameter: FastAPI's header parameters cost
    about 15 µs of CPU per request.)"""
    scope = scopes.required(request.method, request.scope["path"])
    authorization = request.headers.get("authorization")
    return await service_of(request).auth.authenticate(authorization, scope)


Caller = Annotated[Principal, Depends(principal_of)]


@router.get("/models", tags=["Models"], responses={200: {"model": wire.ModelList}})
async def list_models(request: Request, _: Caller) -> dict[str, Any]:
    """Every model in the catalog."""
    return {"object": "list", "data": [model_json(m) for m in service_of(request).catalog.models]}


@router.get(
    "/models/{model_id}",
    tags=["Models"],
    responses={200: {"model": wire.Model}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def get_model(request: Request, model_id: str, _: Caller) -> dict[str, Any]:
    """One model, by id or alias."""
    spec = service_of(request).catalog.find(model_id)
    if spec is None:
        raise NotFound(f"no model {model_id!r}")
    return model_json(spec)


@router.post(
    "/generations",
    tags=["Generations"],
    status_code=201,
    responses={201: {"model": wire.Generation, "headers": REPLAYED, "links": GENERATION_LINKS}},
    callbacks=CALLBACKS.routes,
    openapi_extra=operation(
        body=CreateGeneration, raises=(InsufficientCredits, IdempotencyConflict)
    ),
)
async def create_generation(
    request: Request,
    caller: Caller,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """Queues a generation (or a draft's final); replays the original for a repeated
    idempotency key."""
    service = service_of(request)
    command = _command(request, await read_json(request), idempotency_key)
    submission = await service.submit(caller, command)
    headers = {"Idempotent-Replayed": "true"} if submission.replayed else {}
    return JSONResponse(task_view(service, submission.task, request), 201, headers=headers)


@router.post(
    "/generations/quote",
    tags=["Generations"],
    responses={200: {"model": wire.Quote}},
    openapi_extra=operation(body=CreateGeneration),
)
async def quote_generation(request: Request, caller: Caller) -> dict[str, Any]:
    """What a create with this body would cost, checked like a create; nothing is created.

    References are checked by role only (not fetched), so a quote never reads media.
    """
    service = service_of(request)
    command = _command(request, await read_json(request), None)
    if command.draft_task_id is not None:
        command = await service.finals.command(caller.account_id, command)
    priced = service.quote(command)
    return {
        "object": "quote",
        "model": command.spec.id,
        "credits": priced.credits,
        "resolution": priced.request.resolution,
        "width": priced.request.width,
        "height": priced.request.height,
        "duration_seconds": priced.request.frames / priced.request.fps,
        "fps": priced.request.fps,
        "generate_audio": priced.request.generate_audio,
    }


def _command(request: Request, raw: Any, idempotency_key: str | None) -> SubmitCommand:
    """The service command for a create body (``validation_failed`` if it is not one)."""
    body = _parse(raw)
    params = dict(body.params or {})
    items = tuple(_references(params.get("referenceMediaItems")))
    _check_final_or_not(body, items)
    spec = service_of(request).resolve_model(body.model, items)
    return SubmitCommand(
        dialect="public_v1",
        spec=spec,
        model_alias=body.model,
        prompt=body.prompt or "",
        fields=_fields(spec, params, final=body.draft_task_id is not None),
        names=catalog_params.wire_names(spec),
        references=items,
        idempotency_key=idempotency_key,
        fingerprint=fp.fingerprint(raw),
        client_request_id=body.client_request_id,
        callback_url=body.callback_url,
        callback_statuses=CALLBACK_STATUSES,
        request_id=request.state.request_id,
        wire_request=echo.redacted(raw),
        draft_task_id=body.draft_task_id,
    )


#: Where a create body holds its reference media.
REFERENCES = "params.referenceMediaItems"


def _check_final_or_not(body: CreateGeneration, items: tuple[IncomingReference, ...]) -> None:
    """A final (``draft_task_id``) takes its prompt and media from its draft; any other
    generation needs a prompt."""
    if body.draft_task_id is None:
        if body.prompt is None:
            raise ValidationFailed("prompt is required", field="prompt", reason="missing")
        return
    for sent, name in ((body.prompt is not None, "prompt"), (bool(items), REFERENCES)):
        if sent:
            raise ValidationFailed(
                f"{name} is taken from the draft: leave it out when draft_task_id is set",
                field=name,
            )


def _fields(spec: ModelSpec, params: dict[str, Any], *, final: bool) -> dict[str, Any]:
    """The canonical fields of ``params``: with the v1 defaults, except for a final (whose
    scene is its draft's), and for a draft the resolution, 480p unless sent."""
    fields = catalog_params.parse(spec, params, defaults=not final)
    resolution = catalog_params.wire_names(spec).get("resolution", "").removeprefix("params.")
    if fields.get("draft") and params.get(resolution) is None:
        fields.pop("resolution", None)
    return fields


@router.get("/generations", tags=["Generations"], responses={200: {"model": wire.GenerationList}})
async def list_generations(
    request: Request,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: Annotated[str | None, Query(description="The previous page's `next_cursor`.")] = None,
    status: Annotated[str | None, Query(json_schema_extra={"enum": list(STATUS_FILTER)})] = None,
    model: Annotated[str | None, Query(description="A model's id.")] = None,
) -> dict[str, Any]:
    """The caller's generations, newest first, ``after`` = the previous page's ``next_cursor``."""
    internal = _status_filter(status)
    page = await service_of(request).list_tasks(
        caller, limit=limit, after=after, status=internal, model=model
    )
    data = [task_view(service_of(request), t, request) for t in page.items]
    return {
        "object": "list",
        "data": data,
        "has_more": page.next_cursor is not None,
        "next_cursor": page.next_cursor,
    }


@router.get(
    "/generations/{task_id}",
    tags=["Generations"],
    responses={200: {"model": wire.GenerationWithRequest}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def get_generation(request: Request, task_id: str, caller: Caller) -> dict[str, Any]:
    """One generation's status and, once succeeded, its result URLs; ``request`` is the create
    body as sent here (data: URLs elided), None for a task created through another dialect."""
    task = await service_of(request).get(caller, task_id)
    sent = task.wire_request if task.dialect == "public_v1" else None
    return {**task_view(service_of(request), task, request), "request": sent}


@router.get(
    "/generations/{task_id}/events",
    tags=["Generations"],
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": GENERATION_EVENT}}}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def generation_events(request: Request, task_id: str, caller: Caller) -> StreamingResponse:
    """Server-sent events: ``event: generation`` with the task object whenever its status or
    progress changes, a comment every 15 s to keep proxies open, closed once the task ends."""
    service = service_of(request)
    await service.get(caller, task_id)  # not_found in the dialect's envelope, before streaming
    return StreamingResponse(
        _sse(request, service.watch(caller, task_id)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _sse(request: Request, tasks: AsyncIterator[Task]) -> AsyncIterator[str]:
    """Renders ``tasks`` as events, with a keep-alive comment whenever none came for a while."""
    pending = asyncio.ensure_future(anext(tasks))
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=SSE_KEEPALIVE_SECONDS)
            if not done:
                yield ": keep-alive\n\n"
                continue
            try:
                task = pending.result()
            except StopAsyncIteration:
                return
            view = task_view(service_of(request), task, request)
            yield f"event: generation\ndata: {json.dumps(view)}\n\n"
            pending = asyncio.ensure_future(anext(tasks))
    finally:
        pending.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await pending


@router.post(
    "/generations/{task_id}/cancel",
    tags=["Generations"],
    responses={200: {"model": wire.Generation}},
    openapi_extra=operation(raises=(NotFound, InvalidState)),
)
async def cancel_generation(request: Request, task_id: str, caller: Caller) -> dict[str, Any]:
    """Cancels a queued generation (or a running one on an open-weight model, which stops at
    its next denoising step) and releases its credits."""
    task = await service_of(request).cancel(caller, task_id)
    return task_view(service_of(request), task, request)


@router.get("/credits", tags=["Credits"], responses={200: {"model": wire.Credits}})
async def get_credits(request: Request, caller: Caller) -> dict[str, Any]:
    """The caller's balance."""
    return {"current_credits": await service_of(request).credits(caller)}


def task_json(task: Task, links: ResultLinks) -> dict[str, Any]:
    """The seeds' task object (plus ``progress`` and, when sent, ``client_request_id``)."""
    body: dict[str, Any] = {
        "id": task.id,
        "status": STATUS_WORDS.get(task.status, str(task.status)),
        "model": task.model,
        "reserved_credits": task.reserved_credits,
        "final_credits": task.final_credits,
        "created_at": iso_time(task.created_at),
        "updated_at": iso_time(task.updated_at),
        "progress": task.progress,
        "result": None,
        "error": {"code": task.error.code, "message": task.error.message} if task.error else None,
    }
    if task.client_request_id:
        body["client_request_id"] = task.client_request_id
    draft_task_id = task.request.get("draft_task_id")
    if draft_task_id:
        body["draft_task_id"] = draft_task_id
    if task.status is Status.SUCCEEDED and links.expired:
        body["error"] = _results_deleted(links)
    elif task.status is Status.SUCCEEDED:
        body["result"] = {
            "primary_url": links.video_url,
            "urls": [links.video_url],
            "last_frame_url": links.last_frame_url,
            "expires_at": iso_time(links.expires_at) if links.expires_at else None,
        }
    return body


def _results_deleted(links: ResultLinks) -> dict[str, str]:
    when = f" on {links.expires_at:%Y-%m-%d}" if links.expires_at else ""
    return {
        "code": RESULT_EXPIRED,
        "message": f"the results of this task were deleted{when} under the server's retention "
        "setting (result.expires_at said when); create the generation again",
    }


def task_view(service: Service, task: Task, request: Request) -> dict[str, Any]:
    """``task_json`` with result URLs signed for this request's host."""
    return task_json(task, service.results.links(task, base_url(request)))


def event_json(event: wh.Event, task: Task, links: ResultLinks) -> dict[str, Any]:
    """A webhook (and v1 callback) body: Standard Webhooks' envelope around the generation."""
    body: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "timestamp": iso_time(event.created_at),
        "data": task_json(task, links),
    }
    if event.test:
        body["test"] = True
    return body


def model_json(spec: ModelSpec) -> dict[str, Any]:
    """A catalog model as the models endpoints show it, with its parameter schema."""
    return {
        "id": spec.id,
        "name": spec.name,
        "description": spec.description,
        "capability": "video",
        "billing": "FIXED",
        "base_credits": spec.price.base_credits,
        "inputs": ["text", "file"] if len(spec.modes) > 1 or spec.modes[0] != "t2v" else ["text"],
        "modes": [str(m) for m in spec.modes],
        "prompt_max_chars": spec.prompt_max,
        "aliases": list(spec.aliases),
        "fps": spec.fps,
        "params": [
            {
                "key": p.key,
                "type": p.kind,
                "required": False,
                "default": p.default,
                "options": list(p.options) or None,
                "min": p.minimum,
                "max": p.maximum,
                "description": p.description,
                "extension": p.extension,
            }
            for p in spec.params
        ],
        "reference_media": {  # reference mode only; first/last frames are one image each
            kind: {"min": low, "max": high}
            for kind, (low, high) in (
                ("images", spec.media.reference_images),
                ("videos", spec.media.reference_videos),
                ("audios", spec.media.reference_audios),
            )
        },
        "output_sizes": {
            res: {r: f"{w}x{h}" for r, (w, h) in row.items()}
            for res, row in spec.pixels.items()
            if res in spec.capabilities.resolutions
        },
    }


def _parse(raw: Any) -> CreateGeneration:
    return parse_body(CreateGeneration, raw)


def parse_body(model: type[Body], raw: Any) -> Body:
    """``raw`` (a decoded JSON body) as ``model``, or ``validation_failed`` naming the field."""
    if not isinstance(raw, dict):
        raise ValidationFailed("request body must be a JSON object", field="body")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(_describe(exc), field=_loc(exc)) from None


def _references(raw: Any) -> list[IncomingReference]:
    if raw is None:
        return []
    field = REFERENCES
    if not isinstance(raw, list):
        raise ValidationFailed(f"{field} must be an array", field=field)
    items = []
    for index, entry in enumerate(raw):
        try:
            item = ReferenceItem.model_validate(entry)
        except ValidationError as exc:
            raise ValidationFailed(f"{field}[{index}]: {_describe(exc)}", field=field) from None
        items.append(
            IncomingReference(
                url=item.url,
                kind=item.kind,
                role=item.role,
                name=item.name,
                mime_type=item.mimeType,
                duration_token=item.durationToken,
                field=f"{field}[{index}]",
            )
        )
    return items


def _status_filter(status: str | None) -> str | None:
    if status is None:
        return None
    words = {STATUS_WORDS.get(s, str(s)): str(s) for s in Status}
    if status not in words:
        raise ValidationFailed(
            f"status must be one of {', '.join(words)} (got {status!r})", field="status"
        )
    return words[status]


def _loc(exc: ValidationError) -> str:
    return ".".join(str(p) for p in exc.errors()[0]["loc"]) or "body"


def _describe(exc: ValidationError) -> str:
    error = exc.errors()[0]
    field = _loc(exc)
    if error["type"] == "missing":
        return f"{field} is required"
    if error["type"] == "extra_forbidden":
        return f"{field} is not a recognized field"
    return f"{field}: {error['msg']}"


def iso_time(value: datetime) -> str:
    """ISO 8601 in UTC with milliseconds, as the seeds show."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
