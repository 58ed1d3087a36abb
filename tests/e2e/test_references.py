"""Reference media in generations, end to end: own files, ``durationToken``, ``data:`` URLs,
remote URLs behind the outbound guard, the per-model reference rules, and privacy.

Servers are real processes on every backend. The default servers refuse private and loopback
URLs; the module's ``private_server`` is started with ``allow_private_urls=true`` so that it may
fetch from the HTTP origin these tests run on 127.0.0.1. No request ever goes anywhere else:
before a URL naming another address is sent, the test checks in-process that the guard refuses
it under the server's policy, and the server refuses it before connecting.

Every refused create must be a 400 that names the rule, and must charge nothing (balance
unchanged, no task listed, no stored input left behind).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image, ImageOps

from ports import free_port
from seedance_gateway import netguard
from seedance_gateway.store import migrate

from .support import (
    SEED_1_0_PRO,
    create,
    credits,
    download,
    error_message,
    finish,
    first_and_last_frame,
    listed,
    make_server,
    mean_abs_diff,
    pg_admin,
    pg_url,
    png_data_url,
    post,
    probe,
    wait_for_status,
)
from .test_files import mp4_bytes, png_bytes, poster, uploaded, wav_bytes, zip_bytes

PROMPT = "A lighthouse on a cliff at sunset, waves rolling in"
FIELD = "params.referenceMediaItems"
#: As the shared servers: no rate limit or in-flight cap in the way of a whole module.
SHARED_SETTINGS = {"rate_limit": "100000/minute", "max_in_flight": "1000"}

# --- helpers -----------------------------------------------------------------------------------


def v20(*items: dict[str, Any], model: str = "seedance-2-0-fast") -> dict[str, Any]:
    """A small 2.0 request (480p, 4 s) with these reference items."""
    params = {"resolution": "480p", "duration": 4, "referenceMediaItems": list(items)}
    return {"model": model, "prompt": PROMPT, "params": params}


def v10(*items: dict[str, Any], model: str = "seedance-1-0-pro") -> dict[str, Any]:
    """A small 1.0 request (480p, 5 s) with these reference items."""
    params = {"resolution": "480p", "duration": "5", "referenceMediaItems": list(items)}
    return {"model": model, "prompt": PROMPT, "params": params}


def video_item(file: dict[str, Any], token: str | None = "file's") -> dict[str, Any]:
    """A ``reference_video`` item for an uploaded file, with its own token unless told."""
    item = {"url": file["url"], "kind": "video", "role": "reference_video"}
    if token is not None:
        item["durationToken"] = file["durationToken"] if token == "file's" else token
    return item


def image_item(url: str, **extra: str) -> dict[str, Any]:
    return {"url": url, "kind": "image", **extra}


def inputs(server: Any) -> set[str]:
    """Every stored generation input (``home/blobs/inputs``)."""
    root = server.home / "blobs" / "inputs"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def refused(
    server: Any, client: httpx.Client, body: dict[str, Any], *words: str, status: int = 400
) -> str:
    """Posts ``body``; asserts 400 validation_failed naming ``words``, nothing charged or kept."""
    balance, tasks, before = credits(client), listed(client), inputs(server)
    code = "validation_failed" if status == 400 else "payload_too_large"
    message = error_message(post(client, body), status, code)
    for word in words:
        assert word in message, (word, message)
    assert credits(client) == balance
    assert listed(client) == tasks
    assert inputs(server) == before
    return message


def covered(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized and centre-cropped to cover ``size``, as the renderer frames it."""
    return np.asarray(ImageOps.fit(image, size, method=Image.Resampling.LANCZOS))


def assert_opens_with(video: bytes, image: Image.Image) -> None:
    """Frame 0 of ``video`` is ``image``: far closer to it than to an unrelated picture."""
    info = probe(video)
    size = (info.width, info.height)
    first, _ = first_and_last_frame(video)
    close = mean_abs_diff(first, covered(image, size))
    far = mean_abs_diff(first, covered(poster(1280, 720, flip=True), size))
    assert close < 12.0, close
    assert far > 5 * close, (close, far)


def refuses(url: str, policy: netguard.FetchPolicy) -> str:
    """The guard's refusal of ``url`` under ``policy``, checked in-process (no request)."""
    with pytest.raises(netguard.URLRejected) as caught:
        asyncio.run(netguard.check_url(url, policy, field="url"))
    return caught.value.message


# --- a local HTTP origin -----------------------------------------------------------------------


@dataclass
class Origin:
    """An HTTP server on 127.0.0.1 serving fixed routes and recording every path asked for."""

    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)
    port: int = 0

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def serve(self, path: str, body: bytes, content_type: str = "image/png") -> str:
        self.routes[path] = (200, {"Content-Type": content_type}, body)
        return self.url(path)

    def redirect(self, path: str, location: str) -> str:
        self.routes[path] = (302, {"Location": location}, b"")
        return self.url(path)


@contextmanager
def serving() -> Iterator[Origin]:
    origin = Origin()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            origin.hits.append(self.path)
            origin.agents.append(self.headers.get("User-Agent", ""))
            status, headers, body = origin.routes.get(self.path, (404, {}, b"not here"))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # a client that hangs up early (a refused oversize body) is expected

    httpd = Server(("127.0.0.1", 0), Handler)
    origin.port = int(httpd.server_address[1])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.fixture(scope="module")
def shared_refusals(shared_server: Any) -> str:
    """A key on the default server for requests that must all be refused."""
    key, _ = shared_server.create_key(1_000)
    return str(key)


@pytest.fixture(scope="module")
def private_refusals(private_server: Any) -> str:
    """A key on the allow-private server for requests that must all be refused."""
    key, _ = private_server.create_key(1_000)
    return str(key)


@pytest.fixture
def origin() -> Iterator[Origin]:
    """A fresh local HTTP origin."""
    with serving() as running:
        yield running


@pytest.fixture(scope="module")
def private_server(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A running server (API and worker) with ``allow_private_urls=true``, per backend."""
    if shared_backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "seedance.db"
        url = f"sqlite+aiosqlite:///{path}"
        asyncio.run(migrate.upgrade(url))
        name = None
    else:
        template = request.getfixturevalue("pg_template")
        name = f"sdg_e2e_{secrets.token_hex(6)}"
        pg_admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        url = pg_url(name)
    server = make_server(
        tmp_path_factory.mktemp("private"), url, allow_private_urls="true", **SHARED_SETTINGS
    )
    try:
        server.key, server.account_id = server.create_key(1_000_000)
        server.start()
        yield server
        assert "unhandled error" not in server.logs(), server.logs()
    finally:
        server.stop()
        if name is not None:
            pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- durationToken -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenSetup:
    """Account A with two videos, account B with one, and an image item A may use."""

    key: str
    account_id: str
    video: dict[str, Any]
    second: dict[str, Any]
    foreign: dict[str, Any]
    image: dict[str, Any]


@pytest.fixture(scope="module")
def tokens_setup(shared_server: Any) -> TokenSetup:
    key, account_id = shared_server.create_key(10_000)
    other, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        video = uploaded(client, mp4_bytes(3), "video", "a.mp4")
        second = uploaded(client, mp4_bytes(4), "video", "b.mp4")
    with shared_server.client(other) as client:
        foreign = uploaded(client, mp4_bytes(3), "video", "c.mp4")
    image = image_item(png_data_url(poster(640, 360)), role="reference_image")
    return TokenSetup(key, account_id, video, second, foreign, image)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claim(token: str) -> bytes:
    body = token.split(".")[0]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _forged(setup: TokenSetup) -> str:
    """The right claim, signed with a secret that is not the server's."""
    body = _claim(setup.video["durationToken"])
    mac = hmac.new(b"not-the-secret", b"duration-token\n" + body, hashlib.sha256).digest()
    return f"{_b64(body)}.{_b64(mac)}"


def _flipped_signature(setup: TokenSetup) -> str:
    body, signature = setup.video["durationToken"].split(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{body}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def _altered_claim(setup: TokenSetup) -> str:
    """The claim rewritten to say 15 s, under the original signature."""
    claim = json.loads(_claim(setup.video["durationToken"]))
    assert claim["d"] == pytest.approx(3.0, abs=0.05)
    claim["d"] = 15.0
    body = json.dumps(claim, separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(body)}.{setup.video['durationToken'].split('.')[1]}"


#: (id, the token to send for A's 3 s video, words the message must contain).
BAD_TOKENS: list[tuple[str, Callable[[TokenSetup], str | None], tuple[str, ...]]] = [
    ("missing", lambda s: None, ("durationToken is required for video references",)),
    ("garbage", lambda s: "garbage", ("signature is not valid (forged or altered)",)),
    ("forged", _forged, ("signature is not valid (forged or altered)",)),
    ("altered-signature", _flipped_signature, ("signature is not valid (forged or altered)",)),
    ("altered-claim", _altered_claim, ("signature is not valid (forged or altered)",)),
    ("another-files", lambda s: s.second["durationToken"], ("issued for another file",)),
    ("another-accounts", lambda s: s.foreign["durationToken"], ("issued for another file",)),
]


@pytest.mark.parametrize(("case", "token", "words"), BAD_TOKENS, ids=[c[0] for c in BAD_TOKENS])
def test_a_video_reference_without_its_own_valid_duration_token_is_refused(
    shared_server: Any,
    tokens_setup: TokenSetup,
    case: str,
    token: Callable[[TokenSetup], str | None],
    words: tuple[str, ...],
) -> None:
    """No token, garbage, forged, altered, another file's or account's: 400 naming durationToken,
    the file and why; nothing charged and the already-stored image input is dropped."""
    setup = tokens_setup
    sent = token(setup)
    item = video_item(setup.video, token=sent)
    if sent is None:
        assert "durationToken" not in item
    with shared_server.client(setup.key) as client:
        message = refused(shared_server, client, v20(setup.image, item), *words)
    assert f"{FIELD}[1].durationToken" in message
    assert setup.video["id"] in message


def test_the_right_duration_token_is_accepted_and_the_video_renders(
    shared_server: Any, tokens_setup: TokenSetup
) -> None:
    """2.0 Fast, 480p, 4 s, image + video with its token: 201, succeeded, a decodable MP4."""
    setup = tokens_setup
    with shared_server.client(setup.key) as client:
        balance = credits(client)
        task = create(client, v20(setup.image, video_item(setup.video)))
        assert credits(client) == balance - task["reserved_credits"]
        done = finish(client, task["id"])
        video = download(done["result"]["primary_url"])
    info = probe(video)
    assert (info.codec, info.width, info.height) == ("h264", 864, 496)
    assert info.frames == 96
    assert info.duration == pytest.approx(4.0, abs=0.05)


# --- images: own files, data: URLs, remote URLs -----------------------------------------------


def test_an_uploaded_image_in_the_seed_000_request_is_the_first_frame(shared_server: Any) -> None:
    """Seed 000 + referenceMediaItems [{url, kind, name, mimeType}]: frame 0 is the image."""
    image = poster(1280, 720)
    body = json.loads(SEED_1_0_PRO)
    with shared_server.client() as client:
        file = uploaded(client, png_bytes(image), "image", "reference-image.png")
        body["params"]["referenceMediaItems"] = [
            {"url": file["url"], "kind": "image", "name": file["name"], "mimeType": "image/png"}
        ]
        task = finish(client, create(client, body)["id"])
        video = download(task["result"]["primary_url"])
    assert (probe(video).width, probe(video).height) == (1248, 704)
    assert_opens_with(video, image)


def test_a_data_url_image_is_the_first_frame(shared_server: Any) -> None:
    """An unlabelled ``data:image/png;base64`` item: accepted, and frame 0 is that image."""
    image = poster(1280, 720)
    with shared_server.client() as client:
        task = finish(client, create(client, v10(image_item(png_data_url(image))))["id"])
        video = download(task["result"]["primary_url"])
    assert_opens_with(video, image)


def test_an_image_on_a_local_http_server_is_fetched_and_is_the_first_frame(
    private_server: Any, origin: Origin
) -> None:
    """allow_private_urls: the server GETs the URL once (its own User-Agent) and uses it."""
    image = poster(1280, 720)
    url = origin.serve("/media/poster.png", png_bytes(image))
    with private_server.client() as client:
        task = finish(client, create(client, v10(image_item(url)))["id"])
        video = download(task["result"]["primary_url"])
    assert origin.hits == ["/media/poster.png"]
    assert origin.agents == ["seedance-gateway (outbound fetch)"]
    assert_opens_with(video, image)


def test_bytes_after_a_reference_image_are_dropped_before_it_is_stored(
    private_server: Any, origin: Origin
) -> None:
    """A PNG with a ZIP appended, as a ``data:`` URL and as a remote URL: each task's stored
    input is the PNG alone (to the end of IEND), and the task renders from it."""
    image = png_bytes(poster(1280, 720))
    trailed = image + zip_bytes()
    remote = origin.serve("/polyglot.png", trailed)
    data_url = "data:image/png;base64," + base64.b64encode(trailed).decode()
    with private_server.client() as client:
        for url in (data_url, remote):
            before = inputs(private_server)
            task = create(client, v10(image_item(url)))
            (stored,) = inputs(private_server) - before
            assert stored.endswith(".png"), stored
            assert (private_server.home / "blobs" / "inputs" / stored).read_bytes() == image
            finish(client, task["id"])


def test_a_redirect_to_an_allowed_url_is_followed(private_server: Any, origin: Origin) -> None:
    """/old -> 302 -> /new.png on the same (allowed) origin: fetched through the hop."""
    image = poster(1280, 720, flip=True)
    origin.serve("/new.png", png_bytes(image))
    url = origin.redirect("/old", "/new.png")
    with private_server.client() as client:
        task = finish(client, create(client, v10(image_item(url)))["id"])
        video = download(task["result"]["primary_url"])
    assert origin.hits == ["/old", "/new.png"]
    first, _ = first_and_last_frame(video)
    assert mean_abs_diff(first, covered(image, (864, 480))) < 12.0


#: Destinations refused even with allow_private_urls (a guard that let them through would
#: reach the origin's /secret.png through 0.0.0.0, or the cloud metadata service).
METADATA = "http://169.254.169.254/latest/meta-data"


def _redirect_cases(origin: Origin) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Redirect id -> (Location, words of the refusal)."""
    return {
        "to-metadata": (METADATA, ("169.254.169.254", "link-local", "(reached by a redirect)")),
        "to-0.0.0.0": (
            origin.url("/secret.png", host="0.0.0.0"),
            ("0.0.0.0", "unspecified", "never a valid destination", "(reached by a redirect)"),
        ),
        "to-file-scheme": ("file:///etc/passwd", ("https or http URL", "(reached by a redirect)")),
        "to-credentials": (
            origin.url("/secret.png", host="user:pw@127.0.0.1"),
            ("credentials", "(reached by a redirect)"),
        ),
        "loop": ("/loop", ("too many redirects",)),
    }


@pytest.mark.parametrize(
    "case", ["to-metadata", "to-0.0.0.0", "to-file-scheme", "to-credentials", "loop"]
)
def test_a_redirect_to_a_forbidden_destination_is_refused_at_the_hop(
    private_server: Any, private_refusals: str, origin: Origin, case: str
) -> None:
    """Each hop is re-checked, even with allow_private_urls: 400 naming the rule, no charge."""
    location, words = _redirect_cases(origin)[case]
    allow_private = netguard.FetchPolicy(allow_private=True)
    if case in ("to-metadata", "to-0.0.0.0"):
        refuses(location, allow_private)  # never send a request the guard would not refuse
    origin.serve("/secret.png", png_bytes(poster()))
    start = origin.redirect("/loop" if case == "loop" else "/start", location)
    with private_server.client(private_refusals) as client:
        refused(private_server, client, v10(image_item(start)), f"{FIELD}[0].url", *words)
    assert "/secret.png" not in origin.hits
    assert origin.hits[0] in ("/start", "/loop")


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("not-found", ("answered HTTP 404 Not Found",)),
        ("html", ("not a recognized image/video/audio file", "HTML")),
        ("over-10-mb", ("larger than 10 MB",)),
        ("connection-refused", ("could not fetch the URL",)),
    ],
)
def test_a_remote_url_that_is_not_a_usable_image_is_refused(
    private_server: Any,
    private_refusals: str,
    origin: Origin,
    case: str,
    words: tuple[str, ...],
) -> None:
    """404, an HTML page served as image/png, an 11 MB body, a closed port: 400 naming the
    reason, no charge."""
    origin.serve("/page.png", b"<!doctype html><html><body>hello</body></html>", "image/png")
    origin.serve("/huge.png", b"\x89PNG\r\n\x1a\n" + bytes(11 * 1024 * 1024), "image/png")
    if case == "connection-refused":
        url, expected_hits = f"http://127.0.0.1:{free_port()}/x.png", []
    else:
        path = {"not-found": "/missing.png", "html": "/page.png", "over-10-mb": "/huge.png"}[case]
        url, expected_hits = origin.url(path), [path]
    with private_server.client(private_refusals) as client:
        refused(private_server, client, v10(image_item(url)), f"{FIELD}[0]", *words)
    assert origin.hits == expected_hits


#: URL id -> (URL given the origin's port, words of the refusal), under the default policy.
def _private_urls(port: int) -> dict[str, tuple[str, tuple[str, ...]]]:
    public_only = ("only public addresses are allowed",)
    return {
        "loopback-with-port": (f"http://127.0.0.1:{port}/x.png", ("loopback", *public_only)),
        "private-10": ("http://10.0.0.1/x.png", ("10.0.0.1 is a private address", *public_only)),
        "metadata": (METADATA, ("169.254.169.254 is a link-local address", *public_only)),
        "ipv6-loopback": ("http://[::1]/x.png", ("::1 is a loopback address", *public_only)),
        "localhost": ("http://localhost/x.png", ("localhost resolves to", "loopback")),
        "file-scheme": ("file:///etc/passwd", ("your file URLs", "https URL", "data: URL")),
    }


@pytest.mark.parametrize(
    "case",
    ["loopback-with-port", "private-10", "metadata", "ipv6-loopback", "localhost", "file-scheme"],
)
def test_the_default_policy_refuses_private_loopback_and_metadata_urls(
    shared_server: Any, shared_refusals: str, origin: Origin, case: str
) -> None:
    """Default server: 400 naming the URL and the public-only rule, before any connection."""
    origin.serve("/x.png", png_bytes(poster()))
    url, words = _private_urls(origin.port)[case]
    refuses(url, netguard.FetchPolicy())  # never send a request the guard would not refuse
    with shared_server.client(shared_refusals) as client:
        refused(shared_server, client, v10(image_item(url)), f"{FIELD}[0].url", *words)
    assert origin.hits == []


# --- the per-model reference rules -------------------------------------------------------------


@dataclass(frozen=True)
class RulesSetup:
    """An account with an image, an audio and two 8 s videos uploaded."""

    key: str
    image: dict[str, Any]
    audio: dict[str, Any]
    long: tuple[dict[str, Any], dict[str, Any]]
    short: dict[str, Any]


@pytest.fixture(scope="module")
def rules_setup(shared_server: Any) -> RulesSetup:
    key, _ = shared_server.create_key(10_000)
    with shared_server.client(key) as client:
        image = uploaded(client, png_bytes(poster(640, 360)), "image", "i.png")
        audio = uploaded(client, wav_bytes(3), "audio", "a.wav")
        long = (
            uploaded(client, mp4_bytes(8), "video", "l1.mp4"),
            uploaded(client, mp4_bytes(8, fps=10), "video", "l2.mp4"),
        )
        short = uploaded(client, mp4_bytes(2), "video", "s.mp4")
    return RulesSetup(key, image, audio, long, short)


def _audio(s: RulesSetup) -> dict[str, Any]:
    return {
        "url": s.audio["url"],
        "kind": "audio",
        "role": "reference_audio",
        "durationToken": s.audio["durationToken"],
    }


def _images(s: RulesSetup, count: int, **extra: str) -> list[dict[str, Any]]:
    return [image_item(s.image["url"], **extra) for _ in range(count)]


#: (id, request for the setup, words the message must contain).
RULES: list[tuple[str, Callable[[RulesSetup], dict[str, Any]], tuple[str, ...]]] = [
    (
        "five-images-on-lite-i2v",
        lambda s: v10(*_images(s, 5), model="seedance-1-0-lite-i2v"),
        ("5 reference images", "seedance-1-0-lite-i2v takes 1 to 4"),
    ),
    (
        "ten-images-on-2.0",
        lambda s: v20(*_images(s, 10), model="seedance-2-0"),
        ("10 reference images", "seedance-2-0 takes 0 to 9"),
    ),
    (
        "four-videos-on-2.0",
        lambda s: v20(*[video_item(s.short)] * 4, model="seedance-2-0"),
        ("4 reference videos", "takes 0 to 3"),
    ),
    (
        "four-audios-on-2.0",
        lambda s: v20(*_images(s, 1, role="reference_image"), *[_audio(s)] * 4),
        ("4 reference audios", "takes 0 to 3"),
    ),
    (
        "audio-alone-on-2.0",
        lambda s: v20(_audio(s), model="seedance-2-0"),
        ("reference audio alone",),
    ),
    (
        "videos-over-15s-in-all",
        lambda s: v20(video_item(s.long[0]), video_item(s.long[1])),
        ("videos add up to 16.0 s", "at most 15 s in all"),
    ),
    (
        "frames-mixed-with-reference-images",
        lambda s: v20(
            image_item(s.image["url"], role="first_frame"),
            image_item(s.image["url"], role="reference_image"),
            model="seedance-2-0",
        ),
        ("cannot be mixed with reference media",),
    ),
    (
        "frames-mixed-with-a-video",
        lambda s: v20(image_item(s.image["url"], role="first_frame"), video_item(s.short)),
        ("cannot be mixed with reference media",),
    ),
    (
        "two-first-frames",
        lambda s: v20(*_images(s, 2, role="first_frame")),
        ("exactly one first_frame",),
    ),
    (
        "video-on-lite-i2v",
        lambda s: v10(
            image_item(s.image["url"]), video_item(s.short), model="seedance-1-0-lite-i2v"
        ),
        ("1 reference videos", "takes none"),
    ),
    (
        "reference-mode-on-1.0-pro",
        lambda s: v10(*_images(s, 1, role="reference_image")),
        ("seedance-1-0-pro does not support reference generation",),
    ),
    (
        "role-and-kind-disagree",
        lambda s: v20({"url": s.image["url"], "kind": "image", "role": "reference_video"}),
        ("role reference_video needs kind video",),
    ),
    (
        "an-upstream-asset-on-a-model-rendered-here",
        lambda s: v20(image_item("asset://asset-42", role="reference_image"), model="seedance-2-5"),
        (
            "asset://asset-42 is one of the upstream's trusted assets",
            "seedance-2-5 is made by this server (preview)",
        ),
    ),
    (
        "31-images-on-2.5",
        lambda s: v20(*_images(s, 31), model="seedance-2-5"),
        ("31 reference images", "seedance-2-5 takes 0 to 30"),
    ),
    (
        "a-concrete-ratio-for-a-2.5-first-frame",
        lambda s: {
            **v20(image_item(s.image["url"], role="first_frame"), model="seedance-2-5"),
            "params": {
                "resolution": "480p",
                "duration": 4,
                "aspect_ratio": "16:9",
                "referenceMediaItems": [image_item(s.image["url"], role="first_frame")],
            },
        },
        ("aspect_ratio must be adaptive for first_frame generation on seedance-2-5",),
    ),
    (
        "kind-disagrees-with-the-file",
        lambda s: v20({**video_item(s.short), "url": s.image["url"]}),
        ("kind is 'video'", "is 'image'"),
    ),
]


@pytest.mark.parametrize(("case", "body", "words"), RULES, ids=[c[0] for c in RULES])
def test_reference_count_and_mode_rules_are_400_and_charge_nothing(
    shared_server: Any,
    rules_setup: RulesSetup,
    case: str,
    body: Callable[[RulesSetup], dict[str, Any]],
    words: tuple[str, ...],
) -> None:
    """Counts per kind, audio alone, 15 s in all, frames vs references: 400, balance unchanged."""
    with shared_server.client(rules_setup.key) as client:
        refused(shared_server, client, body(rules_setup), *words)


def test_four_reference_images_on_lite_i2v_are_accepted(
    shared_server: Any, rules_setup: RulesSetup
) -> None:
    """The boundary: 4 reference images (own file URL and bare id) are a 201 in reference mode."""
    items = [*_images(rules_setup, 3), image_item(rules_setup.image["id"])]
    with shared_server.client(rules_setup.key) as client:
        task = create(client, v10(*items, model="seedance-1-0-lite-i2v"))
        assert task["model"] == "seedance-1-0-lite-i2v"
        client.post(f"/api/v1/generations/{task['id']}/cancel")  # keep the worker free


def test_reference_audio_alone_on_2_5_renders_a_video_of_the_asked_length(
    shared_server: Any, rules_setup: RulesSetup
) -> None:
    """2.5 takes reference audio with no image or video beside it (2.0 refuses it, above): a
    201, then a 480p 6 s video with its sound."""
    body = v20(_audio(rules_setup), model="seedance-2-5")
    body["params"]["duration"] = 6
    with shared_server.client(rules_setup.key) as client:
        task = create(client, body)
        done = finish(client, task["id"])
    assert done["status"] == "succeeded", done
    info = probe(download(done["result"]["primary_url"]))
    assert (info.width, info.height, info.frames) == (864, 496, 144)
    assert info.audio_codec is not None


# --- privacy -----------------------------------------------------------------------------------


def test_another_accounts_file_cannot_be_referenced(
    shared_server: Any, shared_refusals: str
) -> None:
    """B sends A's file URL (or bare id): 400 'no such file in your account', nothing charged;
    A may use the same reference."""
    key_a, _ = shared_server.create_key(1_000)
    with shared_server.client(key_a) as owner:
        file = uploaded(owner, png_bytes(poster(640, 360)), "image", "mine.png")
    with shared_server.client(shared_refusals) as stranger:
        for reference in (file["url"], file["id"]):
            refused(
                shared_server,
                stranger,
                v10(image_item(reference)),
                f"{FIELD}[0].url",
                f"there is no file {file['id']} in your account",
            )
    with shared_server.client(key_a) as owner:
        assert create(owner, v10(image_item(file["id"])))["status"] == "queued"


def test_deleting_a_file_does_not_break_a_queued_task_that_references_it(
    server_factory: Any,
) -> None:
    """Task queued (no worker) with an uploaded first frame; the file is deleted; a worker then
    starts: the task still succeeds and opens with the image."""
    server = server_factory(start=False)
    server.start("--no-worker")
    image = poster(1280, 720)
    with server.client() as client:
        file = uploaded(client, png_bytes(image), "image", "first.png")
        task = create(client, v10(image_item(file["url"])))
        assert client.delete(f"/api/v1/files/{file['id']}").status_code == 200
        server.spawn("worker")
        done = wait_for_status(client, task["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    assert_opens_with(download(done["result"]["primary_url"]), image)
