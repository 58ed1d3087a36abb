"""Health checks and signed, expiring blob downloads (with HTTP Range support)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from seedance_gateway.blobs.signing import verify
from seedance_gateway.errors import NotFound
from seedance_gateway.media.formats import BY_EXTENSION
from seedance_gateway.service import Service
from seedance_gateway.web.downloads import blob_response

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """The database answers."""
    service: Service = request.app.state.service
    try:
        async with service.store.db.read() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:
        return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, 503)
    return JSONResponse({"status": "ready"})


@router.get("/blobs/{key:path}")
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
