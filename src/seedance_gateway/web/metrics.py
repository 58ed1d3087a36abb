"""``GET /metrics``: this process's metrics in the Prometheus text format, behind an optional
bearer token; and the small listener that serves it from a standalone ``seedance worker``.

A scrape reads the queue with one aggregate query (``JobStore.waiting``) and renders the
registry; everything else was counted as it happened (``seedance_gateway.metrics``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from seedance_gateway import metrics
from seedance_gateway.errors import Unauthorized
from seedance_gateway.store import JOB_KINDS
from seedance_gateway.store.jobs import JobStore

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, kw_only=True)
class Scrape:
    """What ``/metrics`` needs: the token it asks for (empty: none) and the queue it reads."""

    token: str
    jobs: JobStore

    def authorize(self, authorization: str | None) -> None:
        """Refuses a request without ``Authorization: Bearer <token>`` when there is a token."""
        if not self.token:
            return
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self.token.encode()
        ):
            raise Unauthorized(
                "send the metrics token: Authorization: Bearer <SEEDANCE_METRICS_TOKEN>",
                code="metrics_token_required",
            )

    async def read_queue(self) -> None:
        """Sets the queue gauges from the database (0 for a kind with nothing waiting)."""
        found = {w.kind: w for w in await self.jobs.waiting()}
        for kind in sorted({*JOB_KINDS, *found}):
            waiting = found.get(kind)
            metrics.queue_seen(
                kind,
                waiting.depth if waiting else 0,
                waiting.oldest_seconds if waiting else 0.0,
            )


@router.get("/metrics")
async def scrape(request: Request) -> Response:
    """The metrics of this process, and the queue as it is now."""
    source: Scrape = request.app.state.metrics
    source.authorize(request.headers.get("authorization"))
    await source.read_queue()
    body, content_type = metrics.exposition(request.headers.get("accept"))
    return Response(body, headers={"content-type": content_type})


class _Listener(uvicorn.Server):
    """A uvicorn server inside another program's event loop: signals stay that program's."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def listening(app: FastAPI, host: str, port: int) -> AsyncIterator[None]:
    """Serves ``app`` on ``host:port`` while the block runs (a worker's ``/metrics``).

    The port is bound before the block starts, so a taken port fails the start, loudly.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
    server = _Listener(config)
    running = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield
    finally:
        server.should_exit = True
        await running
        sock.close()
