"""The upstream's callbacks: ``POST /upstream/ark/{task_id}/{secret}``.

The upstream signs nothing (research/ark-official-api.md §3.3), so the URL carries a secret made
for that one task, and the body is never trusted: a valid call only makes the task due for a
check now, and the check asks the upstream itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from seedance_gateway.errors import NotFound
from seedance_gateway.service import Service

router = APIRouter()


@router.post("/upstream/ark/{task_id}/{secret}")
async def ark_callback(request: Request, task_id: str, secret: str) -> JSONResponse:
    """Acknowledges at once (the upstream retries after 5 s without one)."""
    service: Service = request.app.state.service
    if not await service.upstream_callback(task_id, secret):
        raise NotFound("no such callback")
    return JSONResponse({"received": True})
