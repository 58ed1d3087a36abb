"""Health checks and signed, expiring blob downloads (with HTTP Range support)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from seedance_gateway.blobs.signing import verify
from seedance_gateway.contracts.operation import operation
from seedance_gateway.errors import NotFound
from seedance_gateway.media.formats import BY_EXTENSION
from seedance_gateway.service import Service
from seedance_gateway.web.downloads import blob_response

router = APIRouter(tags=["Operations"])
PUBLIC = operation(public=True)
STATUS = {"type": "object", "properties": {"status": {"type": "string"}}, "required": ["status"]}
#: A stored file: the whole of it, a range, or a redirect to the object store.
BLOB_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"description": "The file.", "content": {"*/*": {"schema": {}}}},
    206: {"description": "The requested byte range.", "content": {"*/*": {"schema": {}}}},
    307: {"description": "A redirect to the object store (`SEEDANCE_BLOB_DOWNLOADS=redirect`)."},
    416: {"description": "The range lies beyond the end of the file."},
}


@router.get("/healthz", openapi_extra=PUBLIC)
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={
        200: {"content": {"application/json": {"schema": STATUS}}},
        503: {
            "description": "The database does not answer.",
            "content": {"application/json": {"schema": STATUS}},
        },
    },
    openapi_extra=PUBLIC,
)
async def readyz(request: Request) -> JSONResponse:
    """The database answers."""
    service: Service = request.app.state.service
    try:
        async with service.store.db.read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, 503)
    return JSONResponse({"status": "ready"})


@router.get(
    "/blobs/{key:path}", response_class=Response, responses=BLOB_RESPONSES, openapi_extra=PUBLIC
)
async def blob(request: Request, key: str, exp: str = "", sig: str = "") -> Response:
    """A stored file, if the URL's signature is valid and unexpired."""
    service: Service = request.app.state.service
    if not verify(service.secret, key, exp, sig):
        raise NotFound("this link is invalid or has expired; fetch the task again for a fresh one")
    return await blob_response(
        request,
        service.blobs,
        key,
        media_type=stored_type(key),
        name=key.rpartition("/")[2],
        headers={"Cache-Control": "private, max-age=3600"},
        redirect=service.settings.blob_downloads == "redirect",
        missing="this file no longer exists",
    )


def stored_type(name: str) -> str:
    """The type of a stored blob: every key the gateway writes ends in its sniffed type's
    extension (``video.mp4``, ``inputs/<task>/0.wav``); anything else is plain bytes."""
    ftype = BY_EXTENSION.get(name.rpartition(".")[2].lower()) if "." in name else None
    return ftype.mime_type if ftype is not None else "application/octet-stream"
