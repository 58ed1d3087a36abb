"""What the browser tests share: one headless Chromium per module, and where screenshots go."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = os.environ.get("SEEDANCE_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("SEEDANCE_ARTIFACTS", "build/artifacts")) / "screenshots"


@pytest.fixture(scope="module")
def browser(server: Any) -> Iterator[Browser]:
    """One headless Chromium for the module; missing Chromium is a failure, not a skip.

    Playwright's sync API keeps an event loop running in this thread, so the module's
    ``server`` starts first (and anything that runs ``asyncio.run`` does so in a thread of its
    own)."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        found = shutil.which("chromium")
        pytest.fail(
            f"Chromium is required for the browser tests but {CHROMIUM} is missing"
            f"{f' (there is one at {found}: set SEEDANCE_CHROMIUM)' if found else ''}; "
            "install it with scripts/chromium (Debian: apt-get install chromium)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()
