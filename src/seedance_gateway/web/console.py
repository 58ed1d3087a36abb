"""The browser console: ``/`` serves its page, ``/console/`` its static assets.

The assets are plain HTML, CSS and JavaScript modules shipped inside the package (no build
step); the page talks to the Public API v1 like any other client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from seedance_gateway.web.pages import html_page

ASSETS = Path(__file__).parent / "console"
#: Scripts and styles only from this server; media may come from a separate public URL.
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data: https: http:; media-src 'self' blob: https: http:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

router = APIRouter(include_in_schema=False)


@router.get("/")
async def page() -> FileResponse:
    """The console's single page (it routes by URL fragment)."""
    return html_page(ASSETS / "index.html", POLICY)


def install(app: FastAPI) -> None:
    """Serves the page at ``/`` and the assets under ``/console/``."""
    app.include_router(router)
    app.mount("/console", StaticFiles(directory=ASSETS, check_dir=False), name="console")
