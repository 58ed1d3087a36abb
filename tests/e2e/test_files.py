"""Files API end to end: uploads through a real server process, on every backend.

``POST /api/v1/files`` (multipart ``file`` + ``kind``), ``GET/DELETE /api/v1/files/{id}``,
``GET /api/v1/files`` and ``GET /api/v1/files/{id}/content``. Every medium is generated here
(Pillow, PyAV, numpy): small and quick. A refused upload must answer in the error envelope *and*
leave nothing behind: no listing, no blob under ``home/blobs/files``, no scratch file.

The helpers at the top (media makers, ``upload``, ``stream_upload``, storage snapshots) are shared
with ``test_references.py``.
"""

from __future__ import annotations

import hashlib
import io
import os
import select
import socket
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from PIL import Image, ImageDraw

from .support import ISO_MS, error_message

# --- media makers ------------------------------------------------------------------------------


def poster(width: int = 640, height: int = 360, flip: bool = False) -> Image.Image:
    """A bold picture: four colour blocks, a disc and a diagonal bar (``flip`` rearranges it)."""
    image = Image.new("RGB", (width, height), (20, 20, 20))
    draw = ImageDraw.Draw(image)
    colours = [(230, 40, 40), (40, 200, 60), (40, 80, 230), (240, 220, 40)]
    if flip:
        colours.reverse()
    half_w, half_h = width // 2, height // 2
    for index, colour in enumerate(colours):
        x, y = (index % 2) * half_w, (index // 2) * half_h
        draw.rectangle((x, y, x + half_w, y + half_h), fill=colour)
    radius = height // 4
    cx = width // 3 if not flip else 2 * width // 3
    draw.ellipse((cx - radius, height // 2 - radius, cx + radius, height // 2 + radius), "white")
    draw.line((0, height, width, 0), fill=(0, 0, 0), width=max(8, height // 20))
    return image


def png_bytes(image: Image.Image) -> bytes:
    """``image`` encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def noise_png(width: int, height: int, seed: int) -> bytes:
    """A grey-noise PNG: its size on disk is about ``width * height`` bytes, whatever the seed."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width), dtype=np.uint8)
    return png_bytes(Image.fromarray(pixels, mode="L"))


def _encode_mp4(
    target: Any, seconds: float, fps: int, size: tuple[int, int], **options: str
) -> None:
    """H.264 frames of a moving bar (random noise with ``options``) into ``target``."""
    width, height = size
    rng = np.random.default_rng(7)
    with av.open(target, "w", format="mp4", options=options) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(round(seconds * fps)):
            if options:
                rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            else:
                rgb = np.full((height, width, 3), (40, 120, 200), dtype=np.uint8)
                rgb[:, (index * 5) % width] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def mp4_bytes(seconds: float, fps: int = 8, size: tuple[int, int] = (96, 64)) -> bytes:
    """A silent H.264 MP4 of ``seconds`` (its index, ``moov``, at the end of the file)."""
    buffer = io.BytesIO()
    _encode_mp4(buffer, seconds, fps, size)
    return buffer.getvalue()


def faststart_mp4_bytes(seconds: float, fps: int = 8, size: tuple[int, int] = (96, 64)) -> bytes:
    """An MP4 whose index comes first (``+faststart``) and whose frames are noise (big data)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp4"
        _encode_mp4(str(path), seconds, fps, size, movflags="+faststart")
        return path.read_bytes()


def wav_bytes(seconds: float, rate: int = 8000, declared: float | None = None) -> bytes:
    """A mono 16-bit WAV of a 440 Hz tone; with ``declared``, its header's data size says that
    many seconds whatever the samples that follow hold."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (8000 * np.sin(2 * np.pi * 440 * t)).astype("<i2")
    size = samples.nbytes if declared is None else int(declared * rate) * 2
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + size, b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16, b"data", size,
    )  # fmt: skip
    return header + samples.tobytes()


def zip_bytes() -> bytes:
    """A small ZIP archive (what a PNG/ZIP polyglot appends), holding an HTML page."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<html><script>alert(document.cookie)</script></html>")
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image) -> bytes:
    """``image`` encoded as JPEG."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def bomb_png(side: int) -> bytes:
    """A ``side`` x ``side`` one-bit, single-colour PNG: kilobytes on disk, huge once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte + one bit per pixel
    compressor = zlib.compressobj(9)
    rows_per_block = 500
    parts = [compressor.compress(row * rows_per_block) for _ in range(side // rows_per_block)]
    parts.append(compressor.compress(row * (side % rows_per_block)))
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(parts))
        + chunk(b"IEND", b"")
    )


# --- requests -----------------------------------------------------------------------------------

Part = tuple[str, str | None, str | None, bytes]  #: (name, filename, content type, data)


def multipart(parts: list[Part]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body with the parts in exactly this order, and its type."""
    boundary = "sdg-test-" + os.urandom(8).hex()
    chunks: list[bytes] = []
    for name, filename, content_type, data in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type:
            head += f"Content-Type: {content_type}\r\n"
        chunks += [head.encode(), b"\r\n", data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def post_parts(client: httpx.Client, parts: list[Part]) -> httpx.Response:
    """``POST /api/v1/files`` with a hand-built multipart body."""
    body, content_type = multipart(parts)
    return client.post("/api/v1/files", content=body, headers={"Content-Type": content_type})


def upload(
    client: httpx.Client,
    data: bytes,
    kind: str = "image",
    name: str = "upload.bin",
    content_type: str = "application/octet-stream",
    **fields: str,
) -> httpx.Response:
    """``POST /api/v1/files``: ``kind`` and ``fields`` first, then the file."""
    parts: list[Part] = [(k, None, None, v.encode()) for k, v in {"kind": kind, **fields}.items()]
    return post_parts(client, [*parts, ("file", name, content_type, data)])


def uploaded(client: httpx.Client, data: bytes, kind: str = "image", name: str = "x") -> Any:
    """Uploads and returns the file object (asserting ``201``)."""
    response = upload(client, data, kind, name)
    assert response.status_code == 201, response.text
    return response.json()


def files_of(client: httpx.Client) -> list[dict[str, Any]]:
    """Every file of the caller, newest first (following cursors)."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = client.get("/api/v1/files", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        found += body["data"]
        if not body["has_more"]:
            return found
        params["after"] = body["next_cursor"]


def stored_blobs(server: Any) -> set[str]:
    """Every uploaded file's bytes on the server's disk (relative to ``home/blobs/files``)."""
    root = server.home / "blobs" / "files"
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def scratch(server: Any) -> list[str]:
    """What is left in the server processes' scratch folders (should always be nothing but
    each live process's folder and its lock file)."""
    root = server.home / "tmp"
    if not root.exists():
        return []
    return sorted(p.name for p in root.rglob("*") if p.is_file() and p.name != ".lock")


@dataclass(frozen=True)
class Streamed:
    """What a raw streamed upload got back."""

    status: int
    body: bytes
    sent: int  #: body bytes sent before the server answered (or closed)


def stream_upload(
    url: str,
    key: str,
    *,
    kind: str,
    total: int,
    chunked: bool = True,
    declared: int | None = None,
    block: int = 256 * 1024,
) -> Streamed:
    """Streams a ``total``-byte file (generated on the fly) over a raw socket.

    Before each block the socket is checked for an answer; the first byte of one stops the
    sending, so a server that refuses early is seen refusing early. ``chunked`` sends no length;
    otherwise ``Content-Length`` is ``declared`` (default: the true length).
    """
    host, port = url.removeprefix("http://").split(":")
    boundary = "sdg-stream-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n{kind}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + total + len(tail)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared or length}"
    request = (
        f"POST /api/v1/files HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n{framing}\r\n\r\n"
    ).encode()
    filler = memoryview(b"\x89PNG\r\n\x1a\n" + b"\x00" * (block - 8))

    def frame(data: bytes | memoryview) -> list[bytes | memoryview]:
        return [f"{len(data):x}\r\n".encode(), data, b"\r\n"] if chunked else [data]

    def pieces() -> Iterator[bytes | memoryview]:
        yield from frame(head)
        remaining = total
        while remaining:
            data = filler[: min(block, remaining)]
            yield from frame(data)
            remaining -= len(data)
        yield from frame(tail)
        if chunked:
            yield b"0\r\n\r\n"

    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(request)
        sent = _pump(sock, pieces())
        status, body = _read_response(sock)
    return Streamed(status=status, body=body, sent=sent)


def _pump(sock: socket.socket, pieces: Iterator[bytes | memoryview]) -> int:
    """Sends ``pieces`` until the server answers or closes; returns the body bytes sent."""
    sent = 0
    for piece in pieces:
        view = memoryview(piece)
        while view:
            readable, writable, _ = select.select([sock], [sock], [], 30)
            if readable:
                return sent  # an answer (or a close) is waiting: stop sending
            if not writable:
                raise AssertionError("the server neither reads the body nor answers")
            try:
                count = sock.send(view)
            except (BrokenPipeError, ConnectionResetError):
                return sent
            view, sent = view[count:], sent + count
    return sent


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    """The status and body of one HTTP/1.1 response with a ``Content-Length``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed without a full response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    size = int(headers.get("content-length", "0"))
    while len(body) < size:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), body[:size]


# --- fixtures ----------------------------------------------------------------------------------

FILE_KEYS = {
    *("id", "object", "url", "kind", "name", "mimeType", "size", "sha256"),
    *("created_at", "expires_at"),
}


@pytest.fixture(scope="module")
def refused_key(shared_server: Any) -> str:
    """A key on its own account whose uploads are all refused: its file list stays empty."""
    key, _ = shared_server.create_key(100)
    return str(key)


@pytest.fixture(scope="module")
def other_key(shared_server: Any) -> str:
    """A second account's key, for privacy checks."""
    key, _ = shared_server.create_key(100)
    return str(key)


# --- the file object ---------------------------------------------------------------------------


def test_an_uploaded_png_becomes_a_file_object_with_its_hash_and_size(shared_server: Any) -> None:
    """201 with id, url, kind, name, mimeType, size, sha256 (of the bytes), created_at, w x h."""
    data = png_bytes(poster(640, 360))
    with shared_server.client() as client:
        response = upload(client, data, "image", "poster.png", "image/png")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == FILE_KEYS | {"width", "height"}, body
    assert body["id"].startswith("file_")
    assert body["object"] == "file"
    assert body["url"] == f"{shared_server.url}/api/v1/files/{body['id']}/content"
    assert (body["kind"], body["name"], body["mimeType"]) == ("image", "poster.png", "image/png")
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert ISO_MS.match(body["created_at"]), body["created_at"]
    assert (body["width"], body["height"]) == (640, 360)


@pytest.mark.parametrize(
    ("kind", "make", "name", "mime"),
    [
        ("video", lambda: mp4_bytes(3), "clip.mp4", "video/mp4"),
        ("audio", lambda: wav_bytes(3), "tone.wav", "audio/wav"),
    ],
    ids=["video", "audio"],
)
def test_uploaded_video_and_audio_carry_their_measured_duration_and_a_duration_token(
    shared_server: Any, kind: str, make: Callable[[], bytes], name: str, mime: str
) -> None:
    """A 3 s MP4 or WAV: duration 3.0 and a durationToken; no width/height keys."""
    data = make()
    with shared_server.client() as client:
        body = uploaded(client, data, kind, name)
    assert set(body) == FILE_KEYS | {"duration", "durationToken"}, body
    assert (body["kind"], body["name"], body["mimeType"]) == (kind, name, mime)
    assert body["size"] == len(data)
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["duration"] == pytest.approx(3.0, abs=0.05)
    token = body["durationToken"]
    assert isinstance(token, str) and token.count(".") == 1 and len(token) > 40


def test_get_by_id_and_the_listing_return_the_same_object_as_the_upload(
    shared_server: Any,
) -> None:
    """``GET /api/v1/files/{id}`` and the list entry equal the 201 body, token included."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        created = uploaded(client, mp4_bytes(2.5), "video", "a.mp4")
        fetched = client.get(f"/api/v1/files/{created['id']}")
        assert fetched.status_code == 200, fetched.text
        assert fetched.json() == created
        assert files_of(client) == [created]


def test_the_list_is_newest_first_and_pages_with_after(shared_server: Any) -> None:
    """Three uploads: limit=2 gives the two newest and a cursor; ``after`` gives the oldest."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        made = [
            uploaded(client, png_bytes(poster(400, 300)), "image", "first.png"),
            uploaded(client, wav_bytes(2.5), "audio", "second.wav"),
            uploaded(client, mp4_bytes(2), "video", "third.mp4"),
        ]
        page = client.get("/api/v1/files", params={"limit": 2}).json()
        assert page["object"] == "list"
        assert [f["id"] for f in page["data"]] == [made[2]["id"], made[1]["id"]]
        assert page["has_more"] is True
        assert page["next_cursor"] == made[1]["id"]
        rest = client.get("/api/v1/files", params={"limit": 2, "after": page["next_cursor"]})
        assert rest.status_code == 200, rest.text
        assert [f["id"] for f in rest.json()["data"]] == [made[0]["id"]]
        assert rest.json()["has_more"] is False
        assert rest.json()["next_cursor"] is None
        assert files_of(client) == made[::-1]


def test_delete_removes_the_file_its_listing_and_its_bytes(shared_server: Any) -> None:
    """DELETE answers deleted; then GET, content and DELETE again are 404; the blob is gone."""
    key, _ = shared_server.create_key(100)
    with shared_server.client(key) as client:
        kept = uploaded(client, png_bytes(poster(400, 300)), "image", "kept.png")
        gone = uploaded(client, png_bytes(poster(400, 300, flip=True)), "image", "gone.png")
        blob = f"{gone['id']}/gone.png"
        assert blob in stored_blobs(shared_server)
        deleted = client.delete(f"/api/v1/files/{gone['id']}")
        assert deleted.status_code == 200, deleted.text
        assert deleted.json() == {"id": gone["id"], "object": "file", "deleted": True}
        error_message(client.get(f"/api/v1/files/{gone['id']}"), 404, "not_found")
        error_message(client.get(gone["url"]), 404, "not_found")
        error_message(client.delete(f"/api/v1/files/{gone['id']}"), 404, "not_found")
        assert files_of(client) == [kept]
    assert blob not in stored_blobs(shared_server)
    assert f"{kept['id']}/kept.png" in stored_blobs(shared_server)


def test_the_owner_downloads_the_exact_bytes_and_byte_ranges(shared_server: Any) -> None:
    """Content is the uploaded bytes with the sniffed type; ``Range`` gets 206 and those bytes."""
    data = wav_bytes(2.5)
    with shared_server.client() as client:
        created = uploaded(client, data, "audio", "tone.wav")
        whole = client.get(created["url"])
        assert whole.status_code == 200, whole.text
        assert whole.content == data
        assert whole.headers["content-type"] == "audio/wav"
        part = client.get(created["url"], headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert part.content == data[100:1100]


#: (id, the image, what follows it): phones and polyglots put data after an image's end.
TRAILED: list[tuple[str, Callable[[], bytes], Callable[[], bytes]]] = [
    ("png-with-a-zip", lambda: png_bytes(poster(400, 300)), zip_bytes),
    ("jpeg-motion-photo", lambda: jpeg_bytes(poster(640, 480)), lambda: mp4_bytes(2)),
]


@pytest.mark.parametrize(("case", "image", "trailer"), TRAILED, ids=[c[0] for c in TRAILED])
def test_bytes_after_the_image_are_dropped_before_it_is_stored(
    shared_server: Any, case: str, image: Callable[[], bytes], trailer: Callable[[], bytes]
) -> None:
    """201; ``size``, ``sha256``, the content and the blob on disk are the image alone (a PNG
    to the end of IEND, a JPEG to its EOI), not the ZIP or video after it."""
    own = image()
    with shared_server.client() as client:
        created = uploaded(client, own + trailer(), "image", "trailed")
        content = client.get(created["url"])
    assert content.status_code == 200, content.text
    assert content.content == own
    assert (created["size"], created["sha256"]) == (len(own), hashlib.sha256(own).hexdigest())
    blob = shared_server.home / "blobs" / "files" / created["id"] / created["name"]
    assert blob.read_bytes() == own


def test_a_file_is_served_inline_as_its_sniffed_type_under_a_safe_name(
    shared_server: Any,
) -> None:
    """A PNG sent as ``a"b;cé.png`` typed text/html: the content is image/png, ``inline``, under
    the stored plain name; a byte range still gets 206 with the same headers."""
    data = png_bytes(poster(400, 300))
    with shared_server.client() as client:
        created = uploaded_as(client, data, 'a\\"b;c\u00e9.png', "text/html")
        whole = client.get(created["url"])
        part = client.get(created["url"], headers={"Range": "bytes=0-7"})
    assert created["name"] == "a_b_c.png"
    for response in (whole, part):
        assert response.headers["content-type"] == "image/png"
        assert response.headers["content-disposition"] == 'inline; filename="a_b_c.png"'
    assert (whole.status_code, whole.content) == (200, data)
    assert (part.status_code, part.content) == (206, data[:8])


def uploaded_as(client: httpx.Client, data: bytes, filename: str, content_type: str) -> Any:
    """Uploads an image under ``filename`` (as written in the part header) and ``content_type``."""
    response = post_parts(
        client, [("kind", None, None, b"image"), ("file", filename, content_type, data)]
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_another_account_can_neither_see_download_delete_nor_list_a_file(
    shared_server: Any, other_key: str
) -> None:
    """Key B gets 404 not_found for A's file (GET, content, DELETE), an empty list; no key: 401."""
    with shared_server.client() as owner, shared_server.client(other_key) as stranger:
        created = uploaded(owner, png_bytes(poster(400, 300)), "image", "private.png")
        file_id = created["id"]
        for response in (
            stranger.get(f"/api/v1/files/{file_id}"),
            stranger.get(created["url"]),
            stranger.get(created["url"], headers={"Range": "bytes=0-9"}),
            stranger.delete(f"/api/v1/files/{file_id}"),
        ):
            assert file_id in error_message(response, 404, "not_found")
        assert files_of(stranger) == []
        error_message(httpx.get(created["url"], timeout=30), 401, "api_key_missing")
        assert owner.get(f"/api/v1/files/{file_id}").json() == created  # still there
        assert owner.get(created["url"]).content == png_bytes(poster(400, 300))


def test_the_bytes_decide_the_type_not_the_name_or_content_type_sent(shared_server: Any) -> None:
    """A PNG sent as ``../../clip.mp4`` typed video/mp4 (kind=image) is stored as clip.png."""
    data = png_bytes(poster(400, 300))
    with shared_server.client() as client:
        response = upload(client, data, "image", "../../clip.mp4", "video/mp4")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["name"], body["mimeType"], body["kind"]) == ("clip.png", "image/png", "image")
    assert f"{body['id']}/clip.png" in stored_blobs(shared_server)


# --- refusals ----------------------------------------------------------------------------------


def _png() -> bytes:
    return png_bytes(poster(640, 360))


def _truncated(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


#: (id, parts factory, words the message must contain). Every one is 400 validation_failed.
BAD_UPLOADS: list[tuple[str, Callable[[], list[Part]], tuple[str, ...]]] = [
    (
        "png-with-kind-video",
        lambda: [("kind", None, None, b"video"), ("file", "a.png", "image/png", _png())],
        ("file", "PNG image", "kind is video"),
    ),
    (
        "png-named-mp4",
        lambda: [("kind", None, None, b"video"), ("file", "clip.mp4", "video/mp4", _png())],
        ("file", "PNG image", "kind is video"),
    ),
    (
        "html-sent-as-image-png",
        lambda: [
            ("kind", None, None, b"image"),
            ("file", "x.png", "image/png", b"<!DOCTYPE html><html><body>hi</body></html>"),
        ],
        ("not a recognized", "HTML"),
    ),
    (
        "truncated-png",
        lambda: [("kind", None, None, b"image"), ("file", "x.png", None, _png()[:3000])],
        ("PNG image is truncated or corrupt",),
    ),
    (
        "truncated-mp4-index-lost",
        lambda: [("kind", None, None, b"video"), ("file", "v.mp4", None, mp4_bytes(3)[:2500])],
        ("MP4 video is truncated or corrupt",),
    ),
    (
        "truncated-mp4-data-lost",
        lambda: [
            ("kind", None, None, b"video"),
            ("file", "v.mp4", None, _truncated(faststart_mp4_bytes(3), 0.6)),
        ],
        ("MP4 video is truncated",),
    ),
    (
        "random-bytes",
        lambda: [("kind", None, None, b"image"), ("file", "x.png", None, os.urandom(4096))],
        ("not a recognized image/video/audio file", "allowed"),
    ),
    (
        "png-signature-then-garbage",
        lambda: [
            ("kind", None, None, b"image"),
            ("file", "x.png", None, b"\x89PNG\r\n\x1a\n" + os.urandom(4096)),
        ],
        ("PNG image is truncated or corrupt",),
    ),
    (
        "empty-file",
        lambda: [("kind", None, None, b"image"), ("file", "x.png", None, b"")],
        ("file is empty",),
    ),
    (
        "bomb-past-pillows-own-limit",
        lambda: [("kind", None, None, b"image"), ("file", "b.png", None, bomb_png(20_000))],
        ("too many pixels", "36000000"),
    ),
    (
        "bomb-past-the-gateway-limit",
        lambda: [("kind", None, None, b"image"), ("file", "b.png", None, bomb_png(8_000))],
        ("8000x8000", "36000000"),
    ),
    (
        "image-too-small",
        lambda: [("kind", None, None, b"image"), ("file", "s.png", None, noise_png(200, 200, 1))],
        ("200x200", "300-6000"),
    ),
    (
        "image-too-wide",
        lambda: [("kind", None, None, b"image"), ("file", "w.png", None, noise_png(1000, 300, 1))],
        ("aspect ratio", "0.4-2.5"),
    ),
    (
        "video-too-long-16s",
        lambda: [("kind", None, None, b"video"), ("file", "v.mp4", None, mp4_bytes(16))],
        ("video lasts 16.00 s", "2-15 s"),
    ),
    (
        "video-too-short-1s",
        lambda: [("kind", None, None, b"video"), ("file", "v.mp4", None, mp4_bytes(1))],
        ("video lasts 1.00 s", "2-15 s"),
    ),
    (
        "audio-too-short-1s",
        lambda: [("kind", None, None, b"audio"), ("file", "a.wav", None, wav_bytes(1))],
        ("audio lasts 1.00 s", "2-15 s"),
    ),
    (
        "wav-header-says-5s-holding-60s",
        lambda: [
            ("kind", None, None, b"audio"),
            ("file", "a.wav", None, wav_bytes(60, rate=16000, declared=5)),
        ],
        ("audio lasts more than 16 s", "2-15 s"),
    ),
    (
        "wav-with-kind-video",
        lambda: [("kind", None, None, b"video"), ("file", "a.wav", None, wav_bytes(3))],
        ("WAV audio", "kind is video"),
    ),
    (
        "mp4-with-kind-audio",
        lambda: [("kind", None, None, b"audio"), ("file", "v.mp4", None, mp4_bytes(3))],
        ("MP4 video", "kind is audio"),
    ),
    (
        "missing-kind",
        lambda: [("file", "a.png", "image/png", _png())],
        ("kind is required", "image, video, audio"),
    ),
    (
        "unknown-kind",
        lambda: [("kind", None, None, b"gif"), ("file", "a.png", None, _png())],
        ("kind is required", "'gif'"),
    ),
    (
        "missing-file",
        lambda: [("kind", None, None, b"image")],
        ("file is required",),
    ),
    (
        "two-files",
        lambda: [
            ("kind", None, None, b"image"),
            ("file", "a.png", None, _png()),
            ("file", "b.png", None, _png()),
        ],
        ("exactly one file",),
    ),
    (
        "model-without-video-references",
        lambda: [
            ("kind", None, None, b"video"),
            ("model", None, None, b"seedance-1-0-pro"),
            ("file", "v.mp4", None, mp4_bytes(3)),
        ],
        ("seedance-1-0-pro does not take video references",),
    ),
    (
        "model-without-image-references",
        lambda: [
            ("kind", None, None, b"image"),
            ("model", None, None, b"seedance-1-0-lite-t2v"),
            ("file", "a.png", None, _png()),
        ],
        ("seedance-1-0-lite-t2v does not take image references",),
    ),
    (
        "unknown-model",
        lambda: [
            ("kind", None, None, b"image"),
            ("model", None, None, b"seedance-9"),
            ("file", "a.png", None, _png()),
        ],
        ("'seedance-9' is not a known model",),
    ),
    (
        "client-request-id-too-long",
        lambda: [
            ("kind", None, None, b"image"),
            ("client_request_id", None, None, b"x" * 129),
            ("file", "a.png", None, _png()),
        ],
        ("client_request_id", "128"),
    ),
]


@pytest.mark.parametrize(("case", "parts", "words"), BAD_UPLOADS, ids=[c[0] for c in BAD_UPLOADS])
def test_a_bad_upload_is_400_naming_the_problem_and_nothing_is_stored(
    shared_server: Any,
    refused_key: str,
    case: str,
    parts: Callable[[], list[Part]],
    words: tuple[str, ...],
) -> None:
    """Each bad input: 400 validation_failed saying why; no listing, no blob, no scratch file."""
    before = stored_blobs(shared_server)
    with shared_server.client(refused_key) as client:
        message = error_message(post_parts(client, parts()), 400, "validation_failed")
        for word in words:
            assert word in message, (case, message)
        assert files_of(client) == []
    assert stored_blobs(shared_server) == before
    assert scratch(shared_server) == []


def test_a_body_that_is_not_multipart_is_400(shared_server: Any, refused_key: str) -> None:
    """JSON or a urlencoded form to the upload route: 400 asking for multipart/form-data."""
    with shared_server.client(refused_key) as client:
        for response in (
            client.post("/api/v1/files", json={"kind": "image", "file": "aGk="}),
            client.post("/api/v1/files", data={"kind": "image"}),
        ):
            assert "multipart/form-data" in error_message(response, 400, "validation_failed")
        assert files_of(client) == []


def test_an_image_over_10_mb_is_413_payload_too_large_and_the_server_stays_healthy(
    shared_server: Any, refused_key: str
) -> None:
    """10 MB + 1 byte with kind=image: 413; then the same connection serves a normal upload."""
    before = stored_blobs(shared_server)
    oversize = b"\x89PNG\r\n\x1a\n" + b"\x00" * (10 * 1024 * 1024 - 7)
    with shared_server.client(refused_key) as client:
        message = error_message(upload(client, oversize, "image"), 413, "payload_too_large")
        assert "10 MB" in message
        assert files_of(client) == []
        assert client.get("/readyz").status_code == 200
    assert stored_blobs(shared_server) == before
    assert scratch(shared_server) == []
    with shared_server.client() as client:
        uploaded(client, png_bytes(poster(400, 300)), "image", "after.png")


def test_an_oversize_image_is_413_even_when_kind_comes_after_the_file(
    shared_server: Any, refused_key: str
) -> None:
    """11 MB with kind=image sent after the file part: still 413 payload_too_large."""
    oversize = b"\x89PNG\r\n\x1a\n" + b"\x00" * (11 * 1024 * 1024)
    with shared_server.client(refused_key) as client:
        response = post_parts(
            client, [("file", "big.png", None, oversize), ("kind", None, None, b"image")]
        )
        assert files_of(client) == []
    assert scratch(shared_server) == []
    error_message(response, 413, "payload_too_large")


def test_a_chunked_upload_without_a_length_is_cut_off_at_the_kinds_cap(
    shared_server: Any, refused_key: str
) -> None:
    """64 MB streamed (chunked, no length) as kind=image: 413 long before the end of the body."""
    result = stream_upload(
        shared_server.url, refused_key, kind="image", total=64 * 1024 * 1024, chunked=True
    )
    assert result.status == 413, result
    assert b"payload_too_large" in result.body
    assert result.sent < 32 * 1024 * 1024, result.sent
    assert scratch(shared_server) == []
    with shared_server.client(refused_key) as client:
        assert files_of(client) == []


def test_a_declared_length_over_every_cap_is_refused_before_the_body_is_read(
    shared_server: Any, refused_key: str
) -> None:
    """Content-Length of 2 GB: 413 answers at once; the client gets to send (almost) nothing."""
    result = stream_upload(
        shared_server.url,
        refused_key,
        kind="video",
        total=2 * 1024**3,
        chunked=False,
        declared=2 * 1024**3 + 400,
    )
    assert result.status == 413, result
    assert b"payload_too_large" in result.body
    assert result.sent < 16 * 1024 * 1024, result.sent


def test_an_upload_abandoned_midway_leaves_no_partial_file(
    shared_server: Any, refused_key: str
) -> None:
    """2 MB of a declared 20 MB video, then the client hangs up: the partial file, which was on
    disk while it streamed, is removed and nothing is listed."""
    host, port = shared_server.url.removeprefix("http://").split(":")
    boundary = "sdg-abandoned"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nvideo\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n\r\n'
    ).encode()
    request = (
        f"POST /api/v1/files HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {refused_key}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(head) + 20 * 1024 * 1024}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request + head + bytes(2 * 1024 * 1024))
        _until(lambda: len(scratch(shared_server)) == 1, "the partial upload on disk")
    _until(lambda: scratch(shared_server) == [], "the partial upload removed")
    with shared_server.client(refused_key) as client:
        assert files_of(client) == []


def _until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# --- the storage quota -------------------------------------------------------------------------


def test_the_upload_that_would_pass_the_storage_quota_is_413_and_deleting_frees_space(
    server_factory: Any,
) -> None:
    """Quota = size(a) + size(b): both fit exactly; c is 413 storage_quota_exceeded; freed by
    deleting a. Another account on the same server is not affected."""
    a, b = noise_png(320, 320, 1), noise_png(300, 300, 2)
    server = server_factory(storage_quota_bytes=str(len(a) + len(b)))
    with server.client() as client:
        first = uploaded(client, a, "image", "a.png")
        second = uploaded(client, b, "image", "b.png")
        on_disk = stored_blobs(server)
        message = error_message(upload(client, a, "image", "c.png"), 413, "storage_quota_exceeded")
        assert f"{len(a) + len(b)} of {len(a) + len(b)} bytes used" in message
        assert f"needs {len(a)}" in message
        assert files_of(client) == [second, first]
        assert stored_blobs(server) == on_disk
        assert scratch(server) == []
        assert client.delete(f"/api/v1/files/{first['id']}").status_code == 200
        third = uploaded(client, a, "image", "c.png")
        assert files_of(client) == [third, second]
    other, _ = server.create_key(10)
    with server.client(other) as client:
        uploaded(client, a, "image", "mine.png")
