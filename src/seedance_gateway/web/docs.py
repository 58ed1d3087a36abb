"""The API docs page: ``/docs`` renders the published OpenAPI documents, ``/docs/assets/`` serves
its files.

The viewer is Redoc, vendored (``docs_assets/README.md``: version, license, how it was fetched),
so the page works on a closed network. The page picks a document from ``/openapi/index.json``:
``/docs`` shows ``public-v1``, ``/docs?doc=ark-v3`` another dialect's.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from seedance_gateway.web.pages import html_page

ASSETS = Path(__file__).parent / "docs_assets"
#: Scripts only from this server, no ``eval``; requests only to it. What Redoc needs beyond
#: that: ``style-src 'unsafe-inline'`` (styled-components writes ``<style>`` elements and
#: ``style=`` attributes) and ``worker-src blob:`` (its search index runs in a worker made from
#: a Blob). ``img-src data:`` is for the page's empty favicon. No fonts are loaded (the theme
#: names system fonts); the document picker is a GET form back to ``/docs``.
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def page() -> FileResponse:
    """The docs page (``?doc=NAME`` picks the document; its script reads it)."""
    return html_page(ASSETS / "index.html", POLICY)


def install(app: FastAPI) -> None:
    """Serves the page at ``/docs`` and its assets under ``/docs/assets/``."""
    app.include_router(router)
    app.mount("/docs/assets", StaticFiles(directory=ASSETS, check_dir=False), name="docs_assets")
