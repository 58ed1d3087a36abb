"""``seedance serve --workers N``: N API processes on one port, each on its own listening socket.

Uvicorn's supervisor shares one listening socket between its processes. The first one awake
accepts a whole burst of new connections, and a keep-alive connection stays where it landed:
the API bench's 16 connections went 16 to one process and none to the other (issue 19), and an
SDK's connection pool can pin one process the same way. Here each process binds its own socket
with ``SO_REUSEPORT``, and the kernel spreads new connections over them by hash.

``run`` supervises (``supervisor``): it starts the processes (each building its app with
``app.app_from_environment``), starts another when one exits, and on SIGINT or SIGTERM asks each
to stop (uvicorn's graceful shutdown).
"""

from __future__ import annotations

import logging
import socket

import uvicorn

from seedance_gateway.supervisor import supervise

APP = "seedance_gateway.app:app_from_environment"

log = logging.getLogger(__name__)


def run(host: str, port: int, workers: int) -> None:
    """Serves the API from ``workers`` processes until SIGINT or SIGTERM."""
    log.info("serving on http://%s:%d from %d processes", host, port, workers)
    supervise([(_serve, (host, port))] * workers, "API process")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` with ``SO_REUSEPORT``: the processes' sockets share the
    port, and the kernel gives each new connection to one of them."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def _serve(host: str, port: int) -> None:
    """One API process: its own socket, uvicorn on it (the settings come from the environment
    ``serve`` prepared)."""
    config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        log_config=None,  # uvicorn's loggers go through ``logs.configure``'s handler
        log_level="info",
        access_log=False,
    )
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])
