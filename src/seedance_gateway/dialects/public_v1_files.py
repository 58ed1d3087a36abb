"""Public API v1 Files: ``POST/GET /api/v1/files``, ``GET/DELETE /api/v1/files/{id}``.

Uploads are ``multipart/form-data`` with ``file``, ``kind`` (image | video | audio), optional
``model`` and ``client_request_id``. The returned ``url`` (and, for video and audio, the
``durationToken``) go into a generation's ``params.referenceMediaItems``. Files are private: the
``url`` downloads only with the owner's key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from seedance_gateway.contracts import public_v1_resources as wire
from seedance_gateway.contracts.operation import operation
from seedance_gateway.dialects.public_v1 import Caller, iso_time, service_of
from seedance_gateway.errors import NotFound, PayloadTooLarge, ValidationFailed
from seedance_gateway.files import KINDS, StoredFile
from seedance_gateway.store.files import FileRecord
from seedance_gateway.web import multipart
from seedance_gateway.web.base_url import base_url
from seedance_gateway.web.downloads import blob_response
from seedance_gateway.web.routing import PrefixRouter

router = PrefixRouter(prefix="/api/v1")
MAX_CLIENT_REQUEST_ID = 128
#: The bytes: the whole file, one range of it, or a redirect to the object store.
CONTENT = {"schema": {"type": "string", "format": "binary"}}
BYTES_HEADERS = {
    "Content-Disposition": {
        "description": "`inline; filename=\"...\"` (and `filename*=UTF-8''...` for others).",
        "schema": {"type": "string"},
    },
    "Accept-Ranges": {"schema": {"type": "string", "enum": ["bytes"]}},
}
CONTENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file, as the type sniffed at upload.",
        "content": dict.fromkeys(wire.FILE_MEDIA_TYPES, CONTENT),
        "headers": BYTES_HEADERS,
    },
    206: {
        "description": "The byte range asked for with `Range`.",
        "content": dict.fromkeys(wire.FILE_MEDIA_TYPES, CONTENT),
        "headers": {
            **BYTES_HEADERS,
            "Content-Range": {
                "description": "`bytes START-END/SIZE`.",
                "schema": {"type": "string", "pattern": "^bytes [0-9]+-[0-9]+/[0-9]+$"},
            },
        },
    },
    307: {
        "description": "A redirect to the object store (`SEEDANCE_BLOB_DOWNLOADS=redirect`).",
        "headers": {"Location": {"schema": {"type": "string"}}},
    },
    416: {
        "description": "The range starts past the end of the file.",
        "headers": {
            "Content-Range": {
                "description": "`bytes */SIZE`.",
                "schema": {"type": "string", "pattern": "^bytes \\*/[0-9]+$"},
            }
        },
    },
}
#: Where a new file's id leads.
FILE_LINKS = {
    name: wire.link(name, file_id="id") for name in ("get_file", "file_content", "delete_file")
}
RANGE = {
    "name": "Range",
    "in": "header",
    "required": False,
    "description": "One byte range, `bytes=START-END`, `bytes=START-` or `bytes=-LAST`; "
    "anything else (several ranges included) is ignored and the whole file is sent.",
    "schema": {"type": "string", "pattern": "^bytes=[0-9]*-[0-9]*$"},
}


@router.post(
    "/files",
    status_code=201,
    responses={201: {"model": wire.UploadedFile, "links": FILE_LINKS}},
    openapi_extra={**operation(raises=(PayloadTooLarge,)), **wire.upload_body()},
)
async def upload_file(request: Request, caller: Caller) -> JSONResponse:
    """Streams the upload to disk under the kind's cap, inspects it and stores it."""
    service = service_of(request)
    files = service.files
    path = files.temp_path()
    try:
        upload = await multipart.receive(
            request,
            path,
            file_field="file",
            max_bytes=files.cap_for(None),
            cap_for=lambda fields: files.cap_for(fields.get("kind")),
        )
        kind = _form_kind(upload.fields)
        if upload.size > files.cap_for(kind):
            cap = files.cap_for(kind) // (1024 * 1024)
            raise PayloadTooLarge(f"{kind} files may be at most {cap} MB")
        _check_model(request, upload.fields.get("model"), kind)
        client_request_id = upload.fields.get("client_request_id") or None
        if client_request_id and len(client_request_id) > MAX_CLIENT_REQUEST_ID:
            raise ValidationFailed(
                "client_request_id is longer than 128 characters", field="client_request_id"
            )
        if upload.path is None:
            raise ValidationFailed(
                "file is required (a multipart file field named 'file')", field="file"
            )
        stored = await files.create(
            caller.account_id,
            path,
            kind=kind,
            name=upload.filename or "upload",
            sha256=upload.sha256,
            client_request_id=client_request_id,
        )
    finally:
        path.unlink(missing_ok=True)
    return JSONResponse(file_json(request, stored), status_code=201)


@router.get("/files", responses={200: {"model": wire.UploadedFileList}})
async def list_files(
    request: Request,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    after: str | None = None,
) -> dict[str, Any]:
    """The caller's files, newest first."""
    files = service_of(request).files
    records = await files.store.list_files(caller.account_id, limit=limit + 1, after=after)
    page = records[:limit]
    data = [
        file_json(request, StoredFile(record=r, duration_token=files.token_for(r))) for r in page
    ]
    more = len(records) > limit
    return {
        "object": "list",
        "data": data,
        "has_more": more,
        "next_cursor": page[-1].id if more else None,
    }


@router.get(
    "/files/{file_id}",
    responses={200: {"model": wire.UploadedFile}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def get_file(request: Request, file_id: str, caller: Caller) -> dict[str, Any]:
    """One of the caller's files."""
    files = service_of(request).files
    record = await files.store.get(file_id, caller.account_id)
    return file_json(request, StoredFile(record=record, duration_token=files.token_for(record)))


@router.get(
    "/files/{file_id}/content",
    response_class=Response,
    responses=CONTENT_RESPONSES,
    openapi_extra={**operation(raises=(NotFound,)), "parameters": [RANGE]},
)
async def file_content(request: Request, file_id: str, caller: Caller) -> Response:
    """The file's bytes, for its owner only (Range requests supported), shown ``inline`` as the
    type sniffed at upload."""
    service = service_of(request)
    record = await service.files.store.get(file_id, caller.account_id)
    return await blob_response(
        request,
        service.blobs,
        record.blob_key,
        media_type=record.mime_type,
        name=record.name,
        redirect=service.settings.blob_downloads == "redirect",
        missing=f"the bytes of {file_id} are no longer stored",
    )


@router.delete(
    "/files/{file_id}",
    responses={200: {"model": wire.DeletedFile}},
    openapi_extra=operation(raises=(NotFound,)),
)
async def delete_file(request: Request, file_id: str, caller: Caller) -> dict[str, Any]:
    """Deletes one of the caller's files (tasks that used it keep their own copy or result)."""
    record = await service_of(request).files.delete(caller.account_id, file_id)
    return {"id": record.id, "object": "file", "deleted": True}


def file_json(request: Request, stored: StoredFile) -> dict[str, Any]:
    """The file object."""
    record: FileRecord = stored.record
    body: dict[str, Any] = {
        "id": record.id,
        "object": "file",
        "url": f"{_base(request)}/api/v1/files/{record.id}/content",
        "kind": record.kind,
        "name": record.name,
        "mimeType": record.mime_type,
        "size": record.size,
        "sha256": record.sha256,
        "created_at": iso_time(record.created_at),
        "expires_at": _expiry(request, record),
    }
    if record.kind == "image":
        body.update(width=record.width, height=record.height)
    else:
        body.update(duration=record.duration, durationToken=stored.duration_token)
    return body


def _expiry(request: Request, record: FileRecord) -> str | None:
    expires_at = service_of(request).files.expires_at(record)
    return iso_time(expires_at) if expires_at else None


def _base(request: Request) -> str:
    public = service_of(request).settings.public_url
    return (public or base_url(request)).rstrip("/")


def _form_kind(fields: dict[str, str]) -> str:
    kind = (fields.get("kind") or "").strip().lower()
    if kind not in KINDS:
        got = f" (got {fields.get('kind')!r})" if fields.get("kind") else ""
        raise ValidationFailed(f"kind is required: one of {', '.join(KINDS)}{got}", field="kind")
    return kind


def _check_model(request: Request, model: str | None, kind: str) -> None:
    if not model:
        return
    spec = service_of(request).catalog.find(model)
    if spec is None:
        raise ValidationFailed(f"model {model!r} is not a known model", field="model")
    media = spec.media
    takes = {
        "image": any(m != "t2v" for m in spec.modes),
        "video": media.reference_videos[1] > 0,
        "audio": media.reference_audios[1] > 0,
    }
    if not takes[kind]:
        raise ValidationFailed(f"{spec.id} does not take {kind} references", field="kind")
