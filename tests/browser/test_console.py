"""The browser console in a real Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright)
against a real server process: sign-in, keys, a playground generation that plays, reference
media dropped by role, revocation, password sign-in, the admin page, and every page at phone
width.

One server (SQLite: the console only speaks HTTP) and one browser serve the whole module.
Full-page screenshots of every page land in ``$SEEDANCE_ARTIFACTS/screenshots``
(default ``build/artifacts/screenshots``).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
import shlex
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from e2e.conftest import SHARED_SETTINGS
from e2e.receiver import Receiver
from e2e.support import make_server, probe
from seedance_gateway.store import migrate

from .conftest import SHOTS

PAGES = ["playground", "generations", "files", "keys", "credits", "webhooks"]
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server with a worker on SQLite (the preview renderer makes real MP4s); webhooks may
    point at a local receiver."""
    path = tmp_path_factory.mktemp("db") / "seedance.db"
    asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))
    settings = {**SHARED_SETTINGS, "webhook_allow_http": "true", "allow_private_urls": "true"}
    server = make_server(
        tmp_path_factory.mktemp("server"), f"sqlite+aiosqlite:///{path}", **settings
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """A local webhook receiver that answers 200."""
    with Receiver() as started:
        yield started


@pytest.fixture
def page(browser: Browser, server: Any) -> Iterator[Page]:
    """A fresh tab (own sessionStorage) that fails the test on a script error, a Content
    Security Policy violation or a 500."""
    context = browser.new_context(viewport=DESKTOP, base_url=server.url)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    mark = len(server.logs())
    yield tab
    context.close()
    assert not errors, f"the console threw: {errors}"
    assert "unhandled error" not in server.logs()[mark:], server.logs()[mark:][-4000:]


def new_key(server: Any, credits: int, name: str, role: str = "user") -> str:
    """A key on a new account (made the way ``seedance keys create`` makes one)."""
    with ThreadPoolExecutor(1) as pool:
        key, _ = pool.submit(server.create_key, credits, name, role).result()
    return str(key)


def shot(page: Page, name: str) -> None:
    """Saves a full-page screenshot, and checks the text in it meets WCAG AA contrast."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"{name}.png", full_page=True)
    assert not low_contrast(page), (name, low_contrast(page))


def visit(page: Page, route: str) -> None:
    """Opens ``#/route`` and waits until its page finished rendering."""
    page.evaluate("route => { location.hash = route }", f"#/{route}")
    name = route.split("/")[0]
    page.wait_for_selector(f"#page[data-ready='{name}']")
    expect(page.locator("#alert")).to_be_hidden()  # the page loaded without an error


def sign_in_with_key(page: Page, key: str) -> None:
    page.goto("/")
    page.get_by_label("API key", exact=True).fill(key)
    page.locator("form", has=page.get_by_label("API key", exact=True)).get_by_role("button").click()
    page.wait_for_selector("#page[data-ready='playground']")


def no_horizontal_overflow(page: Page) -> bool:
    return bool(page.evaluate("document.scrollingElement.scrollWidth <= innerWidth"))


#: Every visible text node's colour against the first opaque background behind it, as WCAG 2
#: contrast ratios; answers the pairs below AA (4.5:1, or 3:1 for large text). Disabled
#: controls and text over images or video are exempt, as WCAG exempts them.
LOW_CONTRAST = r"""() => {
  const rgba = (css) => (css.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const lin = (c) => ((c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== "none" || ["VIDEO", "IMG"].includes(node.tagName)) return null;
      const [r, g, b, a = 1] = rgba(style.backgroundColor);
      if (a >= 0.99) return [r, g, b];
    }
    return [255, 255, 255];
  };
  const failures = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let text = walker.nextNode(); text; text = walker.nextNode()) {
    const el = text.parentElement;
    const words = text.textContent.trim();
    if (!words || !el || !el.checkVisibility({visibilityProperty: true})) continue;
    if (el.closest("[disabled], [aria-disabled='true'], svg, option")) continue;
    const style = getComputedStyle(el);
    const behind = background(el);
    if (!behind) continue;
    const [r, g, b, a = 1] = rgba(style.color);
    const fg = [r, g, b].map((c, i) => c * a + behind[i] * (1 - a));
    const [hi, lo] = [lum(fg), lum(behind)].sort((x, y) => y - x);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(`${ratio.toFixed(2)}:1 "${words.slice(0, 40)}" <${el.tagName}>`);
    }
  }
  return failures;
}"""


def low_contrast(page: Page) -> list[str]:
    """The text on the page below WCAG AA contrast (see ``LOW_CONTRAST``)."""
    found: list[str] = page.evaluate(LOW_CONTRAST)
    return found


def png(size: tuple[int, int], colour: tuple[int, int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def mp4(seconds: float = 2.5, size: tuple[int, int] = (320, 240), fps: int = 12) -> bytes:
    """A small H.264 clip fading from blue to green."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        frames = round(seconds * fps)
        for index in range(frames):
            picture = np.zeros((size[1], size[0], 3), dtype=np.uint8)
            picture[..., 2] = 255 - 255 * index // frames
            picture[..., 1] = 255 * index // frames
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def drop(page: Page, role: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drops ``files`` ([(name, mime type, bytes)]) on the playground's ``role`` box: a real
    ``drop`` event whose DataTransfer is built in the page."""
    transfer = page.evaluate_handle(
        """files => {
            const data = new DataTransfer();
            for (const [name, type, b64] of files) {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                data.items.add(new File([bytes], name, { type }));
            }
            return data;
        }""",
        [[name, mime, base64.b64encode(data).decode()] for name, mime, data in files],
    )
    zone = page.locator(f".drop[data-role={role}]")
    zone.dispatch_event("dragover", {"dataTransfer": transfer})
    zone.dispatch_event("drop", {"dataTransfer": transfer})


def test_key_sign_in_new_key_playground_generation_and_revocation(
    page: Page, server: Any, tmp_path: Path
) -> None:
    key = new_key(server, 1000, "owner")
    page.goto("/")
    shot(page, "sign-in")
    sign_in_with_key(page, key)
    expect(page.locator("#account-name")).to_have_text("owner")
    expect(page.locator("#account-credits")).to_have_text("1,000 credits")
    expect(page.locator("#nav-admin")).to_be_hidden()

    # A new key is shown once, with a Copy button.
    visit(page, "keys")
    page.get_by_label("Name", exact=True).fill("ci key")
    page.get_by_label("Expires", exact=True).select_option("30")
    page.get_by_role("button", name="Create key").click()
    secret = page.locator("#new-key-value")
    expect(secret).to_have_value(re.compile(r"^sdg_[\w-]{20,}$"))
    made = secret.input_value()
    shot(page, "keys-new-key-shown-once")
    page.get_by_role("button", name="Copy", exact=True).click()
    assert page.evaluate("navigator.clipboard.readText()") == made
    page.get_by_role("button", name="Done").click()
    visit(page, "credits")
    visit(page, "keys")
    assert made not in page.content()
    row = page.locator("tr", has_text="ci key")
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("until")  # it expires in 30 days
    with httpx.Client(base_url=server.url, timeout=30) as http:
        answer = http.get("/api/v1/credits", headers={"Authorization": f"Bearer {made}"})
        assert answer.status_code == 200
        listed = http.get("/api/v1/keys", headers={"Authorization": f"Bearer {key}"}).json()
    expires = next(k["expires_at"] for k in listed["data"] if k["name"] == "ci key")
    assert expires is not None

    # The playground: a first-frame picture, a live price, progress, a video that plays.
    picture = tmp_path / "first.png"
    Image.new("RGB", (640, 360), (200, 30, 30)).save(picture)
    visit(page, "playground")
    page.get_by_label("Model", exact=True).select_option("seedance-1-0-pro")
    page.get_by_label("Resolution", exact=True).select_option("480p")
    page.get_by_label("Prompt", exact=True).fill("a red wall at noon")
    page.locator("input[type=file][data-role=first_frame]").set_input_files(picture)
    expect(page.locator(".ref-item")).to_contain_text("first.png uploaded")
    quote = page.locator("#quote-credits")
    expect(quote).to_have_text(re.compile(r"^\d+$"))
    price = int(quote.inner_text())
    shot(page, "playground-form")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#run-progress")).to_be_visible()
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )
    assert page.locator("#run-progress").evaluate("bar => bar.value") == 100
    page.wait_for_function(
        "() => { const v = document.querySelector('#result-video');"
        " return v && v.currentTime > 0 && !v.paused; }",
        timeout=30_000,
    )
    download = page.get_by_role("link", name="Download MP4")
    expect(download).to_have_attribute("href", re.compile(r"/blobs/.+\.mp4\?exp=.+&sig="))
    expect(page.locator("#account-credits")).to_have_text(f"{1000 - price:,} credits")
    shot(page, "playground-result-playing")

    # The generation's page shows the request it was made with and copies it as code.
    page.locator("#run-t a").click()
    page.wait_for_selector("#page[data-ready='generations']")
    expect(page.locator("video.player")).to_be_visible()
    expect(page.locator("pre.code")).to_contain_text('"role": "first_frame"')
    page.get_by_role("button", name="Copy as Python").click()
    python = page.evaluate("navigator.clipboard.readText()")
    assert "from seedance_gateway.client import Client" in python
    assert '"a red wall at noon"' in python and '"resolution": "480p"' in python
    compile(python, "copied.py", "exec")
    page.get_by_role("button", name="Copy as curl").click()
    words = shlex.split(page.evaluate("navigator.clipboard.readText()").replace("\\\n", " "))
    assert words[:3] == ["curl", "-s", f"{server.url}/api/v1/generations"]
    sent = json.loads(words[words.index("-d") + 1])
    assert sent["prompt"] == "a red wall at noon"
    assert sent["params"]["referenceMediaItems"][0]["role"] == "first_frame"
    shot(page, "generation-detail")

    # Revoking the new key in the console: the API refuses it from then on.
    visit(page, "keys")
    page.get_by_role("button", name="Revoke key ci key").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke").click()
    expect(page.locator("tr", has_text="ci key")).to_contain_text("revoked")
    shot(page, "keys-revoked")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        refused = http.get("/api/v1/credits", headers={"Authorization": f"Bearer {made}"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "api_key_revoked"


def test_reference_media_dropped_by_role_reach_the_generation(page: Page, server: Any) -> None:
    key = new_key(server, 5000, "references")
    sign_in_with_key(page, key)
    page.get_by_label("Model", exact=True).select_option("seedance-2-0")
    page.get_by_label("Resolution", exact=True).select_option("480p")
    page.get_by_label("Duration", exact=True).fill("4")
    page.get_by_label("Generate audio", exact=True).select_option("false")
    page.get_by_label("Prompt", exact=True).fill("a harbour at dawn, boats drifting")
    # Seedance 2.0 takes frames or references: the toggle picks which boxes show.
    expect(page.locator(".drop[data-role=reference_image]")).to_have_count(0)
    page.get_by_label("References", exact=True).check()
    expect(page.locator(".drop[data-role=first_frame]")).to_have_count(0)
    images = page.locator(".drop[data-role=reference_image]")
    videos = page.locator(".drop[data-role=reference_video]")
    expect(images.locator(".ref-count")).to_have_text("0 of 9")
    expect(videos.locator(".ref-count")).to_have_text("0 of 3")
    expect(page.locator(".drop[data-role=reference_audio] .ref-count")).to_have_text("0 of 3")

    drop(
        page,
        "reference_image",
        [
            ("red.png", "image/png", png((480, 320), (210, 40, 40))),
            ("gold.png", "image/png", png((320, 480), (230, 180, 30))),
        ],
    )
    drop(page, "reference_video", [("fade.mp4", "video/mp4", mp4())])
    expect(images.locator(".ref-item")).to_have_count(2)
    expect(images.locator(".ref-count")).to_have_text("2 of 9")
    expect(images.locator(".ref-item").nth(1)).to_contain_text("gold.png uploaded · 320×480")
    expect(videos.locator(".ref-item")).to_contain_text(re.compile(r"fade\.mp4 uploaded · 2\.\d s"))
    expect(videos.locator(".ref-count")).to_have_text(re.compile(r"^1 of 3 · 2\.\d s of 15 s$"))
    expect(videos.get_by_label("Preview of fade.mp4")).to_have_attribute(
        "src", re.compile("^blob:")
    )
    expect(page.get_by_label("Frames", exact=True)).to_be_disabled()
    expect(page.locator("#mode-hint")).to_contain_text("cannot be mixed")
    expect(page.locator("#quote-credits")).to_have_text(re.compile(r"^\d+$"))
    shot(page, "playground-references")
    page.set_viewport_size(PHONE)
    shot(page, "phone-playground-references")
    assert no_horizontal_overflow(page)
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )
    task_id = page.locator("#run-t code").inner_text()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        task = http.get(
            f"/api/v1/generations/{task_id}", headers={"Authorization": f"Bearer {key}"}
        ).json()
    items = task["request"]["params"]["referenceMediaItems"]
    assert sorted(item["role"] for item in items) == [
        "reference_image",
        "reference_image",
        "reference_video",
    ]
    video = next(item for item in items if item["role"] == "reference_video")
    assert video["kind"] == "video" and video["durationToken"]


def test_a_draft_made_in_the_playground_is_made_final_at_720p(page: Page, server: Any) -> None:
    """A Seedance 2.5 draft (480p whatever the resolution box says), then "Make the final" at
    720p with its price: the final's run plays, and names its draft."""
    key = new_key(server, 5000, "drafts")
    sign_in_with_key(page, key)
    page.get_by_label("Model", exact=True).select_option("seedance-2-5")
    page.get_by_label("Duration", exact=True).fill("4")
    page.get_by_label("Draft", exact=True).select_option("true")
    expect(page.get_by_label("Resolution", exact=True)).to_be_disabled()  # a draft is 480p
    page.get_by_label("Prompt", exact=True).fill("a kite over a green hill")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )
    draft_id = page.locator("#run-t code").inner_text()
    offer = page.locator("#final-offer")
    expect(offer).to_contain_text("This is a 480p draft")
    page.get_by_label("Final resolution", exact=True).select_option("720p")
    expect(page.locator("#final-price")).to_have_text(re.compile(r"^\d+ credits, 1280×720$"))
    shot(page, "playground-draft-final-offer")
    page.get_by_role("button", name="Make the final").click()
    expect(page.locator("#run-t code")).not_to_have_text(draft_id)
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=120_000
    )
    expect(page.locator("#final-offer")).to_have_count(0)  # a final is no draft
    final_id = page.locator("#run-t code").inner_text()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        auth = {"Authorization": f"Bearer {key}"}
        draft = http.get(f"/api/v1/generations/{draft_id}", headers=auth).json()
        final = http.get(f"/api/v1/generations/{final_id}", headers=auth).json()
    assert "resolution" not in draft["request"]["params"]
    assert final["draft_task_id"] == draft_id
    assert final["request"] == {
        "model": "seedance-2-5",
        "draft_task_id": draft_id,
        "params": {"resolution": "720p"},
    }
    video = httpx.get(final["result"]["primary_url"], timeout=30).content
    assert (probe(video).width, probe(video).height) == (1280, 720)


def test_playground_refuses_mixed_modes_and_more_than_the_maximum(page: Page, server: Any) -> None:
    sign_in_with_key(page, new_key(server, 100, "limits"))
    page.get_by_label("Model", exact=True).select_option("seedance-1-0-lite-i2v")
    page.get_by_label("Prompt", exact=True).fill("a kite over a beach")
    frames, references = (
        page.get_by_label("Frames", exact=True),
        page.get_by_label("References", exact=True),
    )
    expect(frames).to_be_checked()
    first = page.locator(".drop[data-role=first_frame]")
    last_input = page.locator("input[type=file][data-role=last_frame]")
    expect(last_input).to_be_disabled()  # a last frame needs a first frame
    first.locator("input[type=file]").set_input_files(
        files=[
            {"name": "start.png", "mimeType": "image/png", "buffer": png((400, 300), (9, 90, 9))}
        ]
    )
    expect(first.locator(".ref-item")).to_contain_text("start.png uploaded")
    expect(first.locator(".ref-count")).to_have_text("1 of 1")
    expect(first.locator("input[type=file]")).to_be_disabled()
    expect(last_input).to_be_enabled()
    expect(references).to_be_disabled()  # frames and references never mix
    expect(page.locator("#mode-hint")).to_contain_text(
        "cannot be mixed in one request: remove the file below to use reference media"
    )
    expect(page.locator("#quote-credits")).to_have_text(re.compile(r"^\d+$"))
    shot(page, "playground-frames-lock-references")
    first.get_by_role("button", name="Remove start.png").click()
    expect(references).to_be_enabled()
    references.check()

    # The server still judges: a refused upload shows its code and request id.
    drop(page, "reference_image", [("tiny.png", "image/png", png((100, 100), (0, 0, 0)))])
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("validation_failed")
    expect(alert).to_contain_text("image is 100x100 px")
    expect(page.locator(".drop[data-role=reference_image] .slot-message")).to_contain_text(
        "tiny.png was not accepted"
    )
    expect(alert).to_contain_text(re.compile(r"Request id: req_\w+"))
    # Five pictures on a model that takes four: the first four are kept, the box closes.
    drop(
        page,
        "reference_image",
        [(f"pic{i}.png", "image/png", png((300, 300), (40 * i, 80, 120))) for i in range(5)],
    )
    box = page.locator(".drop[data-role=reference_image]")
    expect(box.locator(".ref-item")).to_have_count(4)
    expect(box.locator(".ref-item").last).to_contain_text("pic3.png uploaded")
    expect(box.locator(".ref-count")).to_have_text("4 of 4")
    expect(box.locator("input[type=file]")).to_be_disabled()
    expect(box.locator(".slot-message")).to_contain_text(
        "takes 4 reference images at most: 1 left out"
    )
    expect(frames).to_be_disabled()
    expect(page.locator("#quote-credits")).to_have_text(re.compile(r"^\d+$"))
    shot(page, "playground-references-full")
    page.set_viewport_size(PHONE)
    shot(page, "phone-playground-references-full")
    assert no_horizontal_overflow(page)


def test_admin_creates_an_account_that_signs_in_with_its_password(page: Page, server: Any) -> None:
    admin = new_key(server, 500, "operator", role="admin")
    with httpx.Client(base_url=server.url, timeout=30) as http:  # more than one API page
        http.headers["Authorization"] = f"Bearer {admin}"
        for n in range(101):
            made = http.post("/api/v1/admin/accounts", json={"name": f"bulk {n:03}"})
            assert made.status_code == 201, made.text
    sign_in_with_key(page, admin)
    page.get_by_role("link", name="Admin").click()
    page.wait_for_selector("#page[data-ready='admin']")
    expect(page.locator("tr", has_text="bulk 100")).to_be_visible()  # from the second page
    last = page.locator("form", has_text="Grant credits").locator("option", has_text="bulk 100")
    expect(last).to_have_count(1)
    form = page.locator("form", has_text="Create an account")
    form.get_by_label("Name", exact=True).fill("Ada")
    form.get_by_label("Email", exact=True).fill("ada@example.com")
    form.get_by_label("Password", exact=True).fill("correct horse battery")
    form.get_by_label("Starting credits", exact=True).fill("40")
    form.get_by_role("button", name="Create account").click()
    credits = page.locator("tr", has_text="ada@example.com").locator("td[data-label=Credits]")
    expect(credits).to_have_text("40")
    grant = page.locator("form", has_text="Grant credits")
    expect(grant.get_by_label("Account", exact=True)).to_have_value(re.compile("^acct_"))
    grant.get_by_label("Credits", exact=True).fill("60")
    grant.get_by_label("Note", exact=True).fill("welcome")
    grant.get_by_role("button", name="Grant").click()
    expect(credits).to_have_text("100")
    shot(page, "admin")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#page[data-ready='signin']")

    # A wrong password is refused with the server's code and request id.
    password_form = page.locator("form", has_text="With email and password")
    password_form.get_by_label("Email", exact=True).fill("ada@example.com")
    password_form.get_by_label("Password", exact=True).fill("wrong password")
    password_form.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("invalid_credentials")
    expect(alert).to_contain_text(re.compile(r"Request id: req_\w+"))
    shot(page, "sign-in-refused")
    password_form.get_by_label("Password", exact=True).fill("correct horse battery")
    password_form.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#page[data-ready='playground']")
    expect(page.locator("#account-name")).to_have_text("Ada")
    expect(page.locator("#account-credits")).to_have_text("100 credits")
    expect(page.get_by_role("link", name="Admin")).to_be_hidden()
    session_key = page.evaluate("sessionStorage.getItem('sdg.key')")

    # Signing out revokes the key the sign-in minted.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#page[data-ready='signin']")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        refused = http.get("/api/v1/account", headers={"Authorization": f"Bearer {session_key}"})
    assert refused.json()["error"]["code"] == "api_key_revoked"


def test_files_and_webhooks(page: Page, server: Any, receiver: Receiver, tmp_path: Path) -> None:
    sign_in_with_key(page, new_key(server, 100, "hooks"))

    # Files: an upload shows its preview (fetched with the key), then it is deleted.
    picture = tmp_path / "blue.png"
    Image.new("RGB", (400, 300), (30, 60, 200)).save(picture)
    visit(page, "files")
    page.get_by_label("File", exact=True).set_input_files(picture)
    page.get_by_role("button", name="Upload").click()
    preview = page.get_by_role("img", name="Preview of blue.png")
    expect(preview).to_have_attribute("src", re.compile("^blob:"))
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 400", arg=preview.element_handle()
    )
    expect(page.locator(".file-card")).to_contain_text("image · 400×300")
    shot(page, "files")
    page.get_by_role("button", name="Delete blue.png").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator(".file-grid")).to_contain_text("No files yet.")

    # Webhooks: add an endpoint (secret shown once), send a test event, read the log, replay.
    visit(page, "webhooks")
    hook = receiver.url("/console-hook")
    page.get_by_label("URL", exact=True).fill(hook)
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_label("Signing secret")).to_have_value(re.compile("^whsec_"))
    page.get_by_role("button", name="Done").click()
    page.get_by_role("button", name=f"Send test: {hook}").click()
    log = page.locator("section", has=page.get_by_role("heading", name=re.compile("Deliveries")))
    refresh = log.get_by_role("button", name="Refresh")
    status = log.locator("td[data-label=Status]").first
    for _ in range(60):
        if status.inner_text() == "succeeded":
            break
        refresh.click()
        page.wait_for_timeout(250)
    expect(log.locator("tbody tr")).to_have_count(1)
    expect(log).to_contain_text("HTTP 200")
    log.get_by_role("button", name=re.compile("^Replay delivery")).click()
    expect(log.locator("tbody tr")).to_have_count(2)
    first, again = receiver.wait_for_requests(2, path="/console-hook")
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    page.get_by_role("button", name=f"Rotate secret: {hook}").click()
    page.get_by_role("dialog").get_by_role("button", name="Rotate").click()
    expect(page.get_by_label("Signing secret")).to_have_value(re.compile("^whsec_"))
    shot(page, "webhooks")
    page.get_by_role("button", name=f"Delete: {hook}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#page")).to_contain_text("No endpoints yet.")


def test_every_page_at_desktop_and_phone_width(page: Page, server: Any) -> None:
    admin = new_key(server, 500, "operator", role="admin")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        http.headers["Authorization"] = f"Bearer {admin}"
        task = http.post(
            "/api/v1/generations",
            json={
                "model": "seedance-1-0-pro",
                "prompt": "a long prompt " * 20,
                "params": {"resolution": "480p", "return_last_frame": True},
            },
        ).json()
    sign_in_with_key(page, admin)
    # Keyboard: the first Tab on a fresh load reaches the skip link, which moves focus to main.
    page.reload()
    page.wait_for_selector("#page[data-ready='playground']")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    routes = [*PAGES, "admin", f"generations/{task['id']}"]
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for route in routes:
            visit(page, route)
            name = route.replace("/", "-").replace(task["id"], "detail")
            shot(page, f"{size}-{name}")
            assert no_horizontal_overflow(page), f"{route} overflows at {viewport}"
    # At phone width the navigation collapses behind a button.
    nav = page.get_by_role("navigation", name="Console")
    expect(nav).to_be_hidden()
    menu = page.get_by_role("button", name="Menu")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    shot(page, "phone-menu-open")
    nav.get_by_role("link", name="Credits").click()
    page.wait_for_selector("#page[data-ready='credits']")
    expect(nav).to_be_hidden()
    assert no_horizontal_overflow(page)
    # Signing out of a pasted key forgets it (the key itself stays valid).
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_selector("#page[data-ready='signin']")
    expect(menu).to_be_hidden()
    shot(page, "phone-sign-in")
    assert no_horizontal_overflow(page)
    assert page.evaluate("sessionStorage.getItem('sdg.key')") is None
    with httpx.Client(base_url=server.url, timeout=30) as http:
        kept = http.get("/api/v1/account", headers={"Authorization": f"Bearer {admin}"})
    assert kept.status_code == 200


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server that also offers a tiny open-weight model (``e2e.tiny_wan``), offline. Made
    after the browser, whose event loop runs in this thread: the migration runs in another."""
    from e2e.tiny_wan import save_tiny_wan

    weights = save_tiny_wan(tmp_path_factory.mktemp("weights") / "tiny-wan")
    path = tmp_path_factory.mktemp("local-db") / "seedance.db"
    with ThreadPoolExecutor(1) as pool:
        pool.submit(lambda: asyncio.run(migrate.upgrade(f"sqlite+aiosqlite:///{path}"))).result()
    settings = {**SHARED_SETTINGS, "local_weights": f"wan-2-1-t2v-1-3b={weights}"}
    server = make_server(
        tmp_path_factory.mktemp("local-server"), f"sqlite+aiosqlite:///{path}", **settings
    )
    server.env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_an_open_weight_model_takes_a_decimal_and_a_text_in_the_playground(
    browser: Browser, local_server: Any
) -> None:
    """The guidance scale (a decimal: any step) and the negative prompt (a text, its length
    capped) under "More options" reach the generation as a number and a string."""
    context = browser.new_context(viewport=DESKTOP, base_url=local_server.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    key = new_key(local_server, 1000, "open-weights")
    sign_in_with_key(page, key)
    page.get_by_label("Model", exact=True).select_option("wan-2-1-t2v-1-3b")
    page.get_by_label("Duration", exact=True).fill("1")
    page.get_by_label("Steps", exact=True).fill("2")
    page.get_by_text("More options").click()
    guidance = page.get_by_label("Guidance scale", exact=True)
    negative = page.get_by_label("Negative prompt", exact=True)
    expect(guidance).to_have_attribute("step", "any")
    expect(negative).to_have_attribute("maxlength", "2000")
    guidance.fill("7.5")
    negative.fill("blur, text")
    page.get_by_label("Prompt", exact=True).fill("a red kite over the sea")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#run-status")).to_have_attribute(
        "data-status", "succeeded", timeout=180_000
    )
    task_id = page.locator("#run-t code").inner_text()
    context.close()
    with httpx.Client(base_url=local_server.url, timeout=30) as http:
        auth = {"Authorization": f"Bearer {key}"}
        task = http.get(f"/api/v1/generations/{task_id}", headers=auth).json()
    assert not errors, errors
    params = task["request"]["params"]
    assert (params["guidance_scale"], params["negative_prompt"]) == (7.5, "blur, text")
    assert params["steps"] == 2
