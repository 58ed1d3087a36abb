"""Static pages shipped in the package (the console, the API docs): the page itself, never
cached stale, under its own Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse


def html_page(path: Path, policy: str) -> FileResponse:
    """``path`` as an HTML page, revalidated on every load, under ``policy``."""
    return FileResponse(
        path,
        media_type="text/html",
        headers={"Cache-Control": "no-cache", "Content-Security-Policy": policy},
    )
