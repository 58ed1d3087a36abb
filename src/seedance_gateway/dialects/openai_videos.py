"""The OpenAI Videos API shape: ``/v1/videos`` (create, retrieve, list, delete, content).

Facts: research/peer-apis.md §1 (openai-python's ``resources/videos.py``). The official ``openai``
package drives it with ``base_url=<server>/v1``. Ids are spelled ``video_<body>`` (``domain.ids``);
statuses are ``queued | in_progress | completed | failed`` (a cancelled or expired task is
``failed`` with that ``error.code``); times are Unix seconds; errors are
``{"error": {"message", "type", "param", "code"}}``. ``size`` ("WxH") picks the model's nearest
ratio and resolution; the object reports the size actually rendered. Extensions: an
``Idempotency-Key`` header on create, and ``DELETE`` of a queued video cancels it and gives its
credits back.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from seedance_gateway.authentication import Principal
from seedance_gateway.catalog import ModelSpec
from seedance_gateway.commands import SubmitCommand
from seedance_gateway.contracts import openai_videos as wire
from seedance_gateway.contracts.operation import operation
from seedance_gateway.dialects import echo, error_headers, whole_number
from seedance_gateway.dialects.public_v1 import principal_of, service_of
from seedance_gateway.domain import fingerprint as fp
from seedance_gateway.domain import ids
from seedance_gateway.domain.requests import nearest_ratio
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
from seedance_gateway.references import IncomingReference
from seedance_gateway.results import RESULT_GONE, Results
from seedance_gateway.service import Service
from seedance_gateway.web import multipart
from seedance_gateway.web.body import read_json
from seedance_gateway.web.downloads import blob_response
from seedance_gateway.web.routing import PrefixRouter

PREFIX = "/v1/videos"
router = PrefixRouter(prefix=PREFIX)
Caller = Annotated[Principal, Depends(principal_of)]
DEFAULT_MODEL = "seedance-1-5-pro"
DEFAULT_SECONDS = "4"
DEFAULT_SIZE = "720x1280"
FIELDS = ("prompt", "model", "seconds", "size", "input_reference")
MAX_FORM_FIELD = 256 * 1024  #: a form text field (a prompt, a data: URL); larger images go as files
STATUS_WORDS = {
    Status.QUEUED: "queued",
    Status.RUNNING: "in_progress",
    Status.SUCCEEDED: "completed",
}
POLL_MIN_MS, POLL_MAX_MS = 1000, 10000


class OpenAIError(GatewayError):
    """An error already in OpenAI's terms."""

    def __init__(
        self, status: int, kind: str, code: str, message: str, *, param: str | None = None
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.kind = kind
        self.param = param


@dataclass(frozen=True, kw_only=True)
class CreateForm:
    """A create request's fields, JSON or multipart, before any upload is stored."""

    fields: dict[str, Any]
    upload: Path | None = None
    upload_name: str | None = None
    upload_sha256: str | None = None


@router.post(
    "",
    responses={
        200: {
            "model": wire.OpenAIVideo,
            "headers": {**wire.POLL_HEADER, **wire.REPLAYED},
            "links": wire.VIDEO_LINKS,
        }
    },
    openapi_extra={
        **operation(raises=(InsufficientCredits, IdempotencyConflict)),
        **wire.create_body(),
    },
)
async def create_video(
    request: Request, caller: Caller, idempotency_key: Annotated[str | None, Header()] = None
) -> JSONResponse:
    """Queues a video (JSON or multipart/form-data, as the SDK sends)."""
    service = service_of(request)
    form = await _read_form(request, service)
    try:
        command = parse_create(service, form.fields, upload_sha256=form.upload_sha256)
        command = dataclasses.replace(
            command, idempotency_key=idempotency_key, request_id=request.state.request_id
        )
        uploaded = await _store_upload(service, caller, form)
        if uploaded:
            command = _with_reference(command, uploaded)
        try:
            submission = await service.submit(caller, command)
        except BaseException:
            if uploaded:
                await service.files.delete(caller.account_id, uploaded)
            raise
        if uploaded and submission.replayed:
            await service.files.delete(caller.account_id, uploaded)  # the first create kept one
    finally:
        if form.upload is not None:
            form.upload.unlink(missing_ok=True)
    headers = _poll_headers(submission.task)
    if submission.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(video_json(submission.task, service.results), headers=headers)


@router.get("", responses={200: {"model": wire.OpenAIVideoList}})
async def list_videos(
    request: Request,
    caller: Caller,
    after: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    order: Literal["asc", "desc"] = "desc",
) -> dict[str, Any]:
    """The caller's videos; the next page starts ``after`` the previous ``last_id``."""
    if after is not None and not ids.task_id_of(after).startswith(f"{ids.TASK_PREFIX}_"):
        raise ValidationFailed(
            f"after must be a video id from an earlier page's last_id (got {after!r})",
            field="after",
        )
    page = await service_of(request).list_tasks(
        caller, limit=limit, after=after, status=None, model=None, oldest_first=order == "asc"
    )
    data = [video_json(t, service_of(request).results) for t in page.items]
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["id"] if data else None,
        "last_id": data[-1]["id"] if data else None,
        "has_more": page.next_cursor is not None,
    }


@router.get(
    "/{video_id}",
    responses={
        200: {
            "model": wire.OpenAIVideo,
            "headers": wire.POLL_HEADER,
            "links": wire.VIDEO_LINKS,
        }
    },
)
async def retrieve_video(request: Request, video_id: str, caller: Caller) -> JSONResponse:
    """One video; ``openai-poll-after-ms`` says when to ask again while it is unfinished."""
    task = await _get(service_of(request), caller, video_id)
    results = service_of(request).results
    return JSONResponse(video_json(task, results), headers=_poll_headers(task))


@router.delete(
    "/{video_id}",
    responses={200: {"model": wire.OpenAIVideoDeleted}},
    openapi_extra=operation(raises=(InvalidState,)),
)
async def delete_video(request: Request, video_id: str, caller: Caller) -> dict[str, Any]:
    """Deletes a finished video; a queued one is cancelled (credits back) and deleted."""
    try:
        task = await service_of(request).delete(caller, ids.task_id_of(video_id))
    except NotFound as exc:
        raise _not_found(video_id, exc) from None
    except InvalidState:
        raise OpenAIError(
            409,
            "invalid_request_error",
            "video_in_progress",
            f"video {video_id} is in_progress; it can be deleted once it has completed or failed",
        ) from None
    return {"id": ids.video_id(task.id), "object": "video.deleted", "deleted": True}


@router.get(
    "/{video_id}/content",
    response_model=None,
    response_class=Response,
    responses=wire.CONTENT_RESPONSES,
    openapi_extra={**operation(raises=(InvalidState,)), "parameters": [wire.RANGE]},
)
async def download_content(
    request: Request,
    video_id: str,
    caller: Caller,
    variant: Literal["video", "thumbnail", "spritesheet"] = "video",
) -> Response:
    """The MP4 (``variant=video``), a WEBP thumbnail or a JPEG spritesheet."""
    service = service_of(request)
    try:
        task = await service.get(caller, ids.task_id_of(video_id))
        key, media_type = await service.results.asset(task, variant)
        name = f"{ids.video_id(task.id)}.{key.rpartition('.')[2]}"  # not the path's spelling
        return await blob_response(
            request,
            service.blobs,
            key,
            media_type=media_type,
            name=name,
            redirect=service.settings.blob_downloads == "redirect",
            missing=f"the video of task {task.id} is no longer stored",
        )
    except InvalidState as exc:
        raise OpenAIError(409, "invalid_request_error", "video_not_ready", exc.message) from None
    except NotFound as exc:
        raise _not_found(video_id, exc) from None


def parse_create(
    service: Service, raw: dict[str, Any], *, upload_sha256: str | None = None
) -> SubmitCommand:
    """The create fields as a command; an uploaded ``input_reference`` (its digest given here,
    part of the idempotency fingerprint) is attached later."""
    has_upload = upload_sha256 is not None
    unknown = [k for k in raw if k not in FIELDS]
    if unknown:
        raise ValidationFailed(
            f"Unknown parameter: {unknown[0]!r}; allowed: {', '.join(FIELDS)}",
            field=unknown[0],
            reason="unknown",
        )
    prompt = raw.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValidationFailed(
            "prompt is required: a non-empty string", field="prompt", reason="missing"
        )
    if has_upload and raw.get("input_reference") not in (None, ""):
        raise ValidationFailed(
            "send input_reference once: as a file or as a URL / file id, not both",
            field="input_reference",
        )
    reference = None if has_upload else _reference(raw.get("input_reference"))
    placeholder = IncomingReference(url="", role="first_frame", field="input_reference")
    items = (reference or placeholder,) if reference or has_upload else ()
    model = _text(raw, "model", DEFAULT_MODEL)
    spec = service.resolve_model(model, items)
    width, height = _size(_text(raw, "size", DEFAULT_SIZE))
    ratio, resolution = size_terms(spec, width, height)
    return SubmitCommand(
        dialect="openai_videos",
        spec=spec,
        model_alias=model,
        prompt=prompt,
        fields={
            "duration": _seconds(raw.get("seconds", DEFAULT_SECONDS), spec),
            "ratio": ratio,
            "resolution": resolution,
        },
        names={
            "duration": "seconds",
            "ratio": "size",
            "resolution": "size",
            "references": "input_reference",
        },
        references=(reference,) if reference else (),
        fingerprint=fp.fingerprint([raw, upload_sha256]),
        wire_request=echo.redacted(raw),
    )


def size_terms(spec: ModelSpec, width: int, height: int) -> tuple[str, str]:
    """The model's ratio and resolution nearest to a ``width`` x ``height`` size."""
    ratios = [r for r in spec.capabilities.ratios if r != "adaptive"]
    ratio = nearest_ratio(width, height, ratios)
    area = width * height

    def distance(resolution: str) -> float:
        w, h = spec.size(resolution, ratio)
        return abs((w * h) / area - 1) if w * h >= area else abs(area / (w * h) - 1)

    return ratio, min(spec.capabilities.resolutions, key=distance)


def video_json(task: Task, results: Results) -> dict[str, Any]:
    """The ``Video`` object (``expires_at``: when retention deletes the video)."""
    expires_at = results.expiry(task)
    request = task.request
    return {
        "id": ids.video_id(task.id),
        "object": "video",
        "model": task.model_alias,
        "status": STATUS_WORDS.get(task.status, "failed"),
        "progress": 100 if task.status is Status.SUCCEEDED else task.progress,
        "created_at": int(task.created_at.timestamp()),
        "completed_at": int(task.finished_at.timestamp()) if task.finished_at else None,
        "expires_at": int(expires_at.timestamp()) if expires_at else None,
        "prompt": request.get("prompt", ""),
        "seconds": _seconds_of(request),
        "size": f"{request.get('width')}x{request.get('height')}",
        "remixed_from_video_id": None,
        "error": _error_json(task),
    }


def render_error(request: Request, error: GatewayError, request_id: str) -> JSONResponse:
    """``{"error": {"message", "type", "param", "code"}}`` with OpenAI's statuses."""
    status, kind, code, param = openai_terms(error)
    body = {"error": {"message": error.message, "type": kind, "param": param, "code": code}}
    headers = error_headers(error)
    if status == 409 or code == "insufficient_quota":
        headers["x-should-retry"] = "false"  # the SDK retries 409 and 429 otherwise
    return JSONResponse(body, status_code=status, headers=headers)


def openai_terms(error: GatewayError) -> tuple[int, str, str, str | None]:
    """``(HTTP status, type, code, param)`` for one of our errors."""
    if isinstance(error, OpenAIError):
        return error.status, error.kind, error.code, error.param
    if isinstance(error, ValidationFailed):
        codes = {
            "missing": "missing_required_parameter",
            "unsupported": "unsupported_parameter",
            "unknown": "unknown_parameter",
        }
        code = codes.get(error.reason, "invalid_value")
        return 400, "invalid_request_error", code, error.field
    table: list[tuple[type[GatewayError], tuple[int, str, str]]] = [
        (Unauthorized, (401, "invalid_request_error", "invalid_api_key")),
        (Forbidden, (403, "invalid_request_error", "insufficient_scope")),
        (InsufficientCredits, (429, "insufficient_quota", "insufficient_quota")),
        (RateLimited, (429, "rate_limit_error", "rate_limit_exceeded")),
        (NotFound, (404, "invalid_request_error", "not_found")),
        (IdempotencyConflict, (409, "invalid_request_error", "idempotency_conflict")),
        (InvalidState, (409, "invalid_request_error", "invalid_state")),
        (PayloadTooLarge, (413, "invalid_request_error", "payload_too_large")),
    ]
    for cls, terms in table:
        if isinstance(error, cls):
            return (*terms, None)
    if error.status == 404:
        return 404, "invalid_request_error", "not_found", None
    if error.status == 405:
        return 405, "invalid_request_error", "method_not_allowed", None
    return 500, "server_error", "server_error", None


async def _read_form(request: Request, service: Service) -> CreateForm:
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raw = await read_json(request)
        if not isinstance(raw, dict):
            raise ValidationFailed("the request body must be a JSON object", field="body")
        return CreateForm(fields={k: v for k, v in raw.items() if v is not None})
    path = service.files.temp_path()
    cap = service.files.cap_for("image")
    try:
        upload = await multipart.receive(
            request,
            path,
            file_field="input_reference",
            max_bytes=cap,
            cap_for=lambda _: cap,
            max_field_bytes=MAX_FORM_FIELD,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return CreateForm(
        fields=_form_fields(upload.fields),
        upload=upload.path,
        upload_name=upload.filename,
        upload_sha256=upload.sha256 if upload.path else None,
    )


def _form_fields(form: dict[str, str]) -> dict[str, Any]:
    """Text fields; ``input_reference[image_url]`` / ``[file_id]`` become one object."""
    fields: dict[str, Any] = {}
    for name, value in form.items():
        match = re.fullmatch(r"input_reference\[(\w+)\]", name)
        if match:
            fields.setdefault("input_reference", {})[match.group(1)] = value
        else:
            fields[name] = value
    return fields


async def _store_upload(service: Service, caller: Principal, form: CreateForm) -> str | None:
    """Keeps an uploaded ``input_reference`` as one of the caller's files; its id."""
    if form.upload is None:
        return None
    stored = await service.files.create(
        caller.account_id,
        form.upload,
        kind="image",
        name=form.upload_name or "input_reference",
        sha256=form.upload_sha256 or "",
        field="input_reference",
    )
    return stored.record.id


def _with_reference(command: SubmitCommand, file_id: str) -> SubmitCommand:
    item = IncomingReference(url=file_id, role="first_frame", field="input_reference")
    return dataclasses.replace(command, references=(item,))


def _reference(value: Any) -> IncomingReference | None:
    """``input_reference`` as a URL or file id, or ``{"image_url"}`` / ``{"file_id"}``."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.lstrip().startswith("{"):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if isinstance(value, dict):
        url = value.get("image_url") or value.get("file_id")
        extra = set(value) - {"image_url", "file_id"}
        if extra or len(value) != 1 or not isinstance(url, str) or not url:
            raise ValidationFailed(
                "input_reference must be a file upload, {'image_url': <URL>} or {'file_id': <id>}",
                field="input_reference",
            )
        value = url
    if not isinstance(value, str):
        raise ValidationFailed(
            "input_reference must be a file upload, an image URL or a file id",
            field="input_reference",
        )
    return IncomingReference(url=value.strip(), role="first_frame", field="input_reference")


def _text(raw: dict[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed(f"{key} must be a non-empty string", field=key)
    return value.strip()


def _size(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"([1-9][0-9]{0,4})x([1-9][0-9]{0,4})", value)
    if not match:
        raise ValidationFailed(
            f"size must be WIDTHxHEIGHT in pixels, e.g. 1280x720 (got {value!r})", field="size"
        )
    return int(match.group(1)), int(match.group(2))


def _seconds(value: Any, spec: ModelSpec) -> int:
    seconds = whole_number(value)
    low, high = spec.capabilities.duration.minimum, spec.capabilities.duration.maximum
    if seconds is None or not low <= seconds <= high:
        raise ValidationFailed(
            f"seconds must be a whole number from {low} to {high} for {spec.id} (got {value!r})",
            field="seconds",
        )
    return seconds


async def _get(service: Service, caller: Principal, video_id: str) -> Task:
    try:
        return await service.get(caller, video_id)
    except NotFound as exc:
        raise _not_found(video_id, exc) from None


def _not_found(video_id: str, exc: NotFound) -> OpenAIError:
    message = exc.message if exc.code == RESULT_GONE else None
    return OpenAIError(
        404,
        "invalid_request_error",
        "not_found",
        message or f"Video with id {video_id!r} not found.",
        param="video_id",
    )


def _seconds_of(request: dict[str, Any]) -> str:
    """The length made, in whole seconds as OpenAI spells it (a frame count is rounded)."""
    frames, fps = int(request.get("frames", 0)), max(1, int(request.get("fps", 24)))
    return str(round(frames / fps))


def _error_json(task: Task) -> dict[str, str] | None:
    error = end_error(task)
    return {"code": error.code, "message": error.message} if error else None


def _poll_headers(task: Task) -> dict[str, str]:
    """``openai-poll-after-ms`` while unfinished: a tenth of the time waited so far, 1-10 s."""
    if task.status in TERMINAL:
        return {}
    waited_ms = (time.time() - task.created_at.timestamp()) * 1000
    after = int(min(POLL_MAX_MS, max(POLL_MIN_MS, waited_ms / 10)))
    return {"openai-poll-after-ms": str(after)}
