"""Seed 003's API (seedanceapi.org): ``POST /v1/generate`` and ``GET /v1/status?task_id=`` for
Seedance 1.5 Pro; ``/v2/generate`` and ``/v2/status`` for the 2.0 family and 2.5
(research/gateways.md §3.3).

The envelope is ``{"code": 200, "message": "success", "data": ...}``; statuses are
``IN_PROGRESS | SUCCESS | FAILED``; ``data.response`` is the array of video URLs. Errors keep the
envelope with the HTTP status as ``code`` and ``data: null``, and carry the seed's error code
(``INVALID_PROMPT``...) in ``error.code`` (our choice: the seed names the codes, not where they
go). Credits follow the seed's price table (the catalog's ``table`` rule for 1.5 Pro).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from seedance_gateway.authentication import Principal
from seedance_gateway.catalog import ModelSpec
from seedance_gateway.commands import SubmitCommand
from seedance_gateway.contracts import seedanceapi as wire
from seedance_gateway.contracts.operation import operation
from seedance_gateway.dialects import echo, error_headers, whole_number
from seedance_gateway.dialects.public_v1 import principal_of, service_of
from seedance_gateway.domain import fingerprint as fp
from seedance_gateway.domain import webhooks as wh
from seedance_gateway.domain.tasks import TERMINAL, Status, Task, end_error
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
from seedance_gateway.web.base_url import base_url
from seedance_gateway.web.body import read_json

router = APIRouter()
Caller = Annotated[Principal, Depends(principal_of)]
#: Error routes: every path of this dialect lives under one of these.
PREFIXES = ("/v1/", "/v2/")
PROMPT_MAX = 2000
#: The callback hears about the end of the task, with the body ``/status`` would answer.
CALLBACK_STATUSES = tuple(str(s) for s in TERMINAL)
#: Wire name of each canonical field, for error messages.
NAMES = {
    "ratio": "aspect_ratio",
    "camera_fixed": "fixed_lens",
    "references": "image_urls",
    "callback_url": "callback_url",
}
FIELDS = frozenset(
    {
        "model",
        "prompt",
        "aspect_ratio",
        "resolution",
        "duration",
        "generate_audio",
        "fixed_lens",
        "image_urls",
        "callback_url",
    }
)
#: Seed 003's error codes by the field a validation error names.
FIELD_CODES = {
    "prompt": "INVALID_PROMPT",
    "aspect_ratio": "INVALID_ASPECT_RATIO",
    "resolution": "INVALID_RESOLUTION",
    "duration": "INVALID_DURATION",
    "model": "INVALID_MODEL",
}


@dataclass(frozen=True, kw_only=True)
class Surface:
    """What one version of the API offers."""

    version: str
    families: tuple[str, ...]  #: the catalog families its models belong to
    default_model: str
    ratios: tuple[str, ...] | None  #: None: the model's own
    resolutions: tuple[str, ...] | None
    durations: tuple[int, ...] | None
    max_images: int  #: first frame, then last frame


V1 = Surface(
    version="v1",
    families=("1.5",),
    default_model="seedance-1-5-pro",
    ratios=("1:1", "16:9", "9:16", "4:3", "3:4", "21:9", "9:21"),
    resolutions=("480p", "720p"),
    durations=(4, 8, 12),
    max_images=1,
)
V2 = Surface(
    version="v2",
    families=("2.0", "2.5"),
    default_model="seedance-2-0",
    ratios=None,
    resolutions=None,
    durations=None,
    max_images=2,
)
DEFAULTS = {"aspect_ratio": "1:1", "resolution": "720p", "duration": 8}


class TooManyImages(ValidationFailed):
    """``image_urls`` holds more images than the version takes."""


@router.post(
    "/v1/generate",
    responses={
        200: {"model": wire.SeedanceApiCreated, "headers": wire.REPLAYED, "links": wire.TASK_LINKS}
    },
    openapi_extra=operation(
        body=wire.SeedanceApiGenerateV1, raises=(InsufficientCredits, IdempotencyConflict)
    ),
)
async def generate_v1(
    request: Request, caller: Caller, idempotency_key: Annotated[str | None, Header()] = None
) -> JSONResponse:
    """Queues a Seedance 1.5 Pro task."""
    return await _generate(V1, request, caller, idempotency_key)


@router.post(
    "/v2/generate",
    responses={
        200: {"model": wire.SeedanceApiCreated, "headers": wire.REPLAYED, "links": wire.TASK_LINKS}
    },
    openapi_extra=operation(
        body=wire.SeedanceApiGenerateV2, raises=(InsufficientCredits, IdempotencyConflict)
    ),
)
async def generate_v2(
    request: Request, caller: Caller, idempotency_key: Annotated[str | None, Header()] = None
) -> JSONResponse:
    """Queues a Seedance 2.0 family or 2.5 task (``model`` picks; default ``seedance-2-0``)."""
    return await _generate(V2, request, caller, idempotency_key)


@router.get(
    "/v1/status",
    responses={200: {"model": wire.SeedanceApiStatus}},
    openapi_extra=operation(raises=(NotFound,)),
)
@router.get(
    "/v2/status",
    responses={200: {"model": wire.SeedanceApiStatus}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def status(request: Request, caller: Caller, task_id: str | None = None) -> dict[str, Any]:
    """A task's status and, once it succeeded, its video URLs. Any dialect's task id works."""
    if not task_id or not task_id.strip():
        raise ValidationFailed("task_id is required: GET /v1/status?task_id=...", field="task_id")
    service = service_of(request)
    try:
        task = await service.get(caller, task_id)
    except NotFound:
        raise NotFound(
            f"task {task_id} was not found in your account", code="TASK_NOT_FOUND"
        ) from None
    return envelope(status_json(task, service.results.links(task, base_url(request))))


async def _generate(
    surface: Surface, request: Request, caller: Caller, idempotency_key: str | None
) -> JSONResponse:
    service = service_of(request)
    raw = await read_json(request)
    command = parse_generate(service, surface, raw)
    command = dataclasses.replace(
        command, idempotency_key=idempotency_key, request_id=request.state.request_id
    )
    submission = await service.submit(caller, command)
    task = submission.task
    headers = {"Idempotent-Replayed": "true"} if submission.replayed else {}
    body = envelope({"task_id": task.id, "status": status_word(task.status)})
    return JSONResponse(body, headers=headers)


def parse_generate(service: Service, surface: Surface, raw: Any) -> SubmitCommand:
    """The create body, checked field by field with the seed's error codes."""
    if not isinstance(raw, dict):
        raise ValidationFailed("the request body must be a JSON object", field="body")
    unknown = sorted(set(raw) - FIELDS)
    if unknown:
        raise ValidationFailed(
            f"unknown field {unknown[0]!r}; allowed: {', '.join(sorted(FIELDS))}",
            field=unknown[0],
        )
    body = {k: v for k, v in raw.items() if v is not None}
    prompt = _prompt(body.get("prompt"))
    images = _images(body.get("image_urls"), surface)
    spec = _model(service, surface, body.get("model"), images)
    ratios = surface.ratios or spec.capabilities.ratios
    resolutions = surface.resolutions or spec.capabilities.resolutions
    fields = {
        "resolution": _choice(body, "resolution", resolutions, spec),
        "duration": _duration(body.get("duration", DEFAULTS["duration"]), surface, spec),
        "generate_audio": _flag(body, "generate_audio"),
    }
    ratio = _choice(body, "aspect_ratio", ratios, spec)
    if "aspect_ratio" in body or not (images and spec.capabilities.adaptive_frames):
        fields["ratio"] = ratio  # else the frame's shape (adaptive), not this API's default
    if _flag(body, "fixed_lens"):
        fields["camera_fixed"] = True
    callback_url = body.get("callback_url")
    if callback_url is not None and not isinstance(callback_url, str):
        raise ValidationFailed("callback_url must be a string URL", field="callback_url")
    return SubmitCommand(
        dialect="seedanceapi",
        spec=spec,
        model_alias=str(body.get("model") or spec.id),
        prompt=prompt,
        fields=fields,
        names=NAMES,
        references=images,
        fingerprint=fp.fingerprint([surface.version, raw]),  # a key is per path too
        callback_url=callback_url,
        callback_statuses=CALLBACK_STATUSES,
        wire_request=echo.redacted(raw),
    )


def _prompt(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(
            "prompt is required: a non-empty string of at most 2000 characters", field="prompt"
        )
    if len(value) > PROMPT_MAX:
        raise ValidationFailed(
            f"prompt has {len(value)} characters; at most {PROMPT_MAX} allowed", field="prompt"
        )
    return value


def _images(value: Any, surface: Surface) -> tuple[IncomingReference, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(u, str) and u for u in value):
        raise ValidationFailed("image_urls must be an array of image URLs", field="image_urls")
    if len(value) > surface.max_images:
        allowed = "1 image" if surface.max_images == 1 else f"{surface.max_images} images"
        raise TooManyImages(
            f"image_urls has {len(value)} entries; at most {allowed} allowed on "
            f"/{surface.version}/generate",
            field="image_urls",
        )
    roles = ("first_frame", "last_frame")
    return tuple(
        IncomingReference(url=url, kind="image", role=roles[i], field=f"image_urls[{i}]")
        for i, url in enumerate(value)
    )


def _model(
    service: Service, surface: Surface, name: Any, images: tuple[IncomingReference, ...]
) -> ModelSpec:
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ValidationFailed("model must be a non-empty string", field="model")
    spec = service.catalog.find(name or surface.default_model)
    if spec is None or spec.family not in surface.families:
        offered = [m.id for m in service.catalog.models if m.family in surface.families]
        raise ValidationFailed(
            f"model {name!r} is not offered on /{surface.version}/generate; use one of: "
            + ", ".join(offered),
            field="model",
        )
    return service.resolve_model(spec.id, images)


def _choice(body: Mapping[str, Any], key: str, allowed: tuple[str, ...], spec: ModelSpec) -> str:
    value = body.get(key, DEFAULTS[key])
    if value not in allowed:
        raise ValidationFailed(
            f"{key} must be one of {', '.join(allowed)} for {spec.id} (got {value!r})", field=key
        )
    return str(value)


def _duration(value: Any, surface: Surface, spec: ModelSpec) -> int:
    seconds = whole_number(value)
    low, high = spec.capabilities.duration.minimum, spec.capabilities.duration.maximum
    allowed = surface.durations or tuple(range(low, high + 1))
    if seconds is None or seconds not in allowed:
        what = (
            ", ".join(str(d) for d in surface.durations)
            if surface.durations
            else f"a whole number from {low} to {high}"
        )
        raise ValidationFailed(
            f"duration must be {what} seconds for {spec.id} (got {value!r})", field="duration"
        )
    return seconds


def _flag(body: Mapping[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ValidationFailed(f"{key} must be true or false (got {value!r})", field=key)
    return value


def status_word(status: Status) -> str:
    """``IN_PROGRESS`` while queued or running, then ``SUCCESS`` or ``FAILED``."""
    if status is Status.SUCCEEDED:
        return "SUCCESS"
    return "FAILED" if status.terminal else "IN_PROGRESS"


def status_json(task: Task, links: ResultLinks) -> dict[str, Any]:
    """``data`` of ``/status``: the seed's fields for any task, whichever dialect made it."""
    return {
        "task_id": task.id,
        "status": status_word(task.status),
        "consumed_credits": consumed_credits(task),
        "created_at": _iso_seconds(task.created_at),
        "request": request_echo(task),
        "response": [links.video_url] if links.video_url else [],
        "error_message": error.message if (error := end_error(task)) else None,
    }


def consumed_credits(task: Task) -> int:
    """Credits held while the task runs, charged once it succeeded, 0 once given back."""
    if task.status is Status.SUCCEEDED:
        return task.final_credits
    return 0 if task.status.terminal else task.quote


def request_echo(task: Task) -> dict[str, Any]:
    """The create body as sent here, or this dialect's fields for a task made elsewhere."""
    if task.dialect == "seedanceapi" and task.wire_request is not None:
        return task.wire_request
    request = task.request
    echo_body: dict[str, Any] = {
        "prompt": request.get("prompt", ""),
        "aspect_ratio": request.get("ratio"),
        "resolution": request.get("resolution"),
        "duration": str(request.get("duration")),
    }
    if task.model != V1.default_model:
        echo_body["model"] = task.model_alias
    return echo_body


def envelope(data: dict[str, Any]) -> dict[str, Any]:
    """``{"code": 200, "message": "success", "data": ...}``."""
    return {"code": 200, "message": "success", "data": data}


def callback_json(event: wh.Event, task: Task, links: ResultLinks) -> dict[str, Any]:
    """A ``callback_url`` body: what ``/status`` answers at that moment."""
    return envelope(status_json(task, links))


def render_error(request: Request, error: GatewayError, request_id: str) -> JSONResponse:
    """``{"code": <status>, "message", "data": null, "error": {"code", "message",
    "request_id"}}``."""
    status, code = error_terms(error)
    body = {
        "code": status,
        "message": error.message,
        "data": None,
        "error": {"code": code, "message": error.message, "request_id": request_id},
    }
    return JSONResponse(body, status_code=status, headers=error_headers(error))


def error_terms(error: GatewayError) -> tuple[int, str]:
    """``(HTTP status, seed error code)`` for one of our errors."""
    if isinstance(error, TooManyImages):
        return 400, "TOO_MANY_IMAGES"
    if isinstance(error, ValidationFailed):
        if error.field == "body":
            return 400, "INVALID_REQUEST"
        return 400, FIELD_CODES.get(error.field or "", "INVALID_PARAMETER")
    table: list[tuple[type[GatewayError], tuple[int, str]]] = [
        (Unauthorized, (401, "INVALID_API_KEY")),
        (Forbidden, (403, "INSUFFICIENT_SCOPE")),
        (InsufficientCredits, (402, "INSUFFICIENT_CREDITS")),
        (IdempotencyConflict, (409, "IDEMPOTENCY_CONFLICT")),
        (InvalidState, (409, "INVALID_STATE")),
        (PayloadTooLarge, (413, "PAYLOAD_TOO_LARGE")),
        (RateLimited, (429, "RATE_LIMITED")),
    ]
    for cls, terms in table:
        if isinstance(error, cls):
            return terms
    if error.code == "TASK_NOT_FOUND":
        return 404, "TASK_NOT_FOUND"
    if error.status == 404:
        return 404, "NOT_FOUND"
    if error.status == 405:
        return 405, "METHOD_NOT_ALLOWED"
    return 500, "INTERNAL_ERROR"


def _iso_seconds(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
