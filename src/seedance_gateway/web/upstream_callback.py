"""The upstream's callbacks: ``POST /upstream/ark/{task_id}/{secret}``.

The upstream signs nothing (research/ark-official-api.md §3.3), so the URL carries a secret made
for that one task, and the body is never trusted for an outcome: a valid call makes the task due
for a check now, and the check asks the upstream itself. A body saying the task succeeded only
starts the copy at once; the copy asks the upstream first and goes back to checking if the
upstream does not confirm.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedance_gateway.errors import NotFound, ValidationFailed
from seedance_gateway.providers.ark import wire
from seedance_gateway.service import Service
from seedance_gateway.web import body

router = APIRouter()


@router.post("/upstream/ark/{task_id}/{secret}")
async def ark_callback(request: Request, task_id: str, secret: str) -> JSONResponse:
    """Acknowledges at once (the upstream retries after 5 s without one)."""
    service: Service = request.app.state.service
    claimed = wire.parse_task(await _json(request))
    finished_as = claimed.id if claimed and claimed.status == "succeeded" else None
    if not await service.upstream_callback(task_id, secret, finished_as=finished_as):
        raise NotFound("no such callback")
    return JSONResponse({"received": True})


async def _json(request: Request) -> Any:
    """The body as JSON (None when it is not JSON within the bounds); at most 64 KB is read."""
    raw = await body.read(request, body.SMALL_BYTES)
    try:
        return body.decode(raw)
    except ValidationFailed:
        return None
