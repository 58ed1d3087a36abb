"""Health checks and signed, expiring blob downloads (with HTTP Range support)."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from sqlalchemy import text

from seedance_gateway.blobs.signing import verify
from seedance_gateway.errors import NotFound
from seedance_gateway.service import Service

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
    path = service.blobs.local_path(key)
    if path is None:
        raise NotFound("this file no longer exists")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"}
    )
