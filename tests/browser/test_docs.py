"""The API docs page (``/docs``) in a real Chromium against a real server process: each dialect's
published OpenAPI document renders every operation with the vendored Redoc, with no script
error, no Content-Security-Policy violation and no request to any other host; the console
links to it and its picker switches documents.

One server (SQLite) and one browser serve the module. Screenshots land in
``$SEEDANCE_ARTIFACTS/screenshots/docs-*.png`` (default ``build/artifacts``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import SHARED_SETTINGS
from e2e.support import make_server
from seedance_gateway.store import migrate
from seedance_gateway.web import docs

from .conftest import SHOTS

DOCUMENTS = ["public-v1", "ark-v3", "openai-videos", "seedanceapi", "acedata"]
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
#: Reports a Content-Security-Policy violation to the console, where the tab's listener sees it.
REPORT_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) =>
  console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`));"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    path = tmp_path_factory.mktemp("db") / "seedance.db"
    asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    started = make_server(
        tmp_path_factory.mktemp("server"), f"sqlite+aiosqlite:///{path}", **SHARED_SETTINGS
    )
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def page(browser: Browser, server: Any) -> Iterator[Page]:
    """A fresh tab that fails the test on a console error (CSP violations included), an
    uncaught exception, or a request to anywhere but the server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server.url)
    context.add_init_script(REPORT_VIOLATIONS)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    local = (f"{server.url}/", f"blob:{server.url}/")
    tab.on("request", lambda r: None if r.url.startswith(local) else problems.append(r.url))
    yield tab
    context.close()
    assert not problems, problems


def document(server: Any, name: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/openapi/{name}.json", timeout=30)
    assert answer.status_code == 200, (name, answer.status_code)
    body: dict[str, Any] = answer.json()
    return body


def titles(spec: dict[str, Any]) -> set[str]:
    """The heading Redoc gives each operation: its summary, else its id, else its path."""
    return {
        operation.get("summary") or operation.get("operationId") or path
        for path, item in spec.get("paths", {}).items()
        for method, operation in item.items()
        if method in METHODS
    }


def screenshot_is_not_blank(path: Path) -> None:
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.uint32)
    assert pixels.shape == (900, 1280, 3)
    colours = np.unique(pixels[..., 0] << 16 | pixels[..., 1] << 8 | pixels[..., 2])
    assert len(colours) > 50, "the screenshot is nearly blank"
    assert pixels.std() > 20


def test_page_headers_and_index(server: Any) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        answer = http.get("/docs")
        assert answer.status_code == 200
        assert answer.headers["content-security-policy"] == docs.POLICY
        assert http.get("/docs/assets/redoc.standalone.js").status_code == 200
        listed = http.get("/openapi/index.json").json()["documents"]
    assert [d["name"] for d in listed] == DOCUMENTS
    assert all(d["url"] == f"/openapi/{d['name']}.json" and d["title"] for d in listed)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_each_document_renders(page: Page, server: Any, name: str) -> None:
    spec = document(server, name)
    expected = titles(spec)
    assert expected, f"{name} has no operations"
    page.goto("/docs" if name == DOCUMENTS[0] else f"/docs?doc={name}")
    page.wait_for_selector(f"body[data-ready='{name}']")
    expect(page.locator("#message")).to_be_hidden()
    expect(page.locator("#doc")).to_have_value(name)
    headings = {text.strip() for text in page.locator("[data-section-id] h2").all_inner_texts()}
    assert expected <= headings, f"not rendered: {expected - headings}"
    page.wait_for_timeout(300)  # time for a late violation (the search worker starts after)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"docs-{name}.png")
    screenshot_is_not_blank(SHOTS / f"docs-{name}.png")


def test_console_link_and_picker(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="API docs").click()
    page.wait_for_url("**/docs")
    page.goto("/docs?doc=no-such-document")
    page.wait_for_selector("body[data-ready='error']")
    expect(page.locator("#message")).to_contain_text("no-such-document")
    expect(page.locator("#doc option")).to_have_count(len(DOCUMENTS))
    page.locator("#doc").select_option("openai-videos")
    page.get_by_role("button", name="Show").click()
    page.wait_for_selector("body[data-ready='openai-videos']")
    assert page.url.endswith("/docs?doc=openai-videos")
