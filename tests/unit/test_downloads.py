"""Content-Disposition for stored bytes (web.downloads): inline, a plain ASCII ``filename`` that
no quote, CR/LF, ``;`` or separator gets into, and RFC 5987 ``filename*`` for the real name."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse

from seedance_gateway.blobs.filesystem import FilesystemBlobStore
from seedance_gateway.errors import NotFound
from seedance_gateway.web.downloads import blob_response, content_disposition

#: The whole header: a plain quoted filename, then optionally an RFC 5987 extended one.
SAFE = re.compile(
    r"inline; filename=\"[A-Za-z0-9._()+ -]+\"(; filename\*=UTF-8''[A-Za-z0-9._~%-]+)?"
)

HOSTILE = [
    'a"b;\r\nc\u00e9.png',
    "evil.png\r\nSet-Cookie: a=b",
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "photo\u202egnp.exe",  # right-to-left override
    "\u65e5\u672c\u8a9e.png",
    'x"; filename="y.html',
    "nul\x00byte.png",
    "",
    "...",
    "\u00e9" * 400 + ".png",
]


def extended_name(header: str) -> str | None:
    """The decoded ``filename*`` of a header, if it has one."""
    _, found, value = header.partition("; filename*=UTF-8''")
    return unquote(value, errors="strict") if found else None


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_name_gives_a_header_of_only_safe_characters(name: str) -> None:
    header = content_disposition(name)
    assert SAFE.fullmatch(header), header
    full = extended_name(header)
    if full is not None:
        assert not re.search(r"[\x00-\x1f\x7f/\\\u202e]", full), full
        assert not full.startswith(".")
        assert len(full) <= 150


def test_quotes_semicolons_and_line_breaks_stay_out_of_the_header() -> None:
    header = content_disposition('a"b;\r\nc\u00e9.png')
    assert header == ("inline; filename=\"a_b___ce.png\"; filename*=UTF-8''a%22b%3B__c%C3%A9.png")
    assert extended_name(header) == 'a"b;__c\u00e9.png'


def test_a_plain_name_is_sent_as_it_is() -> None:
    assert content_disposition("video_01abc.mp4") == 'inline; filename="video_01abc.mp4"'


def test_a_name_without_ascii_letters_falls_back_to_download_with_its_extension() -> None:
    header = content_disposition("\u65e5\u672c\u8a9e.png")
    assert header.startswith('inline; filename="download.png"; ')
    assert extended_name(header) == "\u65e5\u672c\u8a9e.png"


def test_only_the_last_path_part_is_kept() -> None:
    assert content_disposition("../../etc/passwd") == 'inline; filename="passwd"'
    assert content_disposition("C:\\temp\\x.png") == 'inline; filename="x.png"'
    assert content_disposition("") == 'inline; filename="download"'


def test_starlettes_own_filename_would_keep_separators(tmp_path: Path) -> None:
    """Why the header is made here: Starlette passes ``/`` through."""
    path = tmp_path / "x.bin"
    path.write_bytes(b"x")
    theirs = FileResponse(path, filename="a/b.png", content_disposition_type="inline")
    assert theirs.headers["content-disposition"] == 'inline; filename="a/b.png"'
    assert content_disposition("a/b.png") == 'inline; filename="b.png"'


def _request(range_header: str | None = None) -> Request:
    headers = [(b"range", range_header.encode())] if range_header else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


async def _body(response: Response) -> bytes:
    assert isinstance(response, StreamingResponse)
    return b"".join([bytes(c) async for c in response.body_iterator])  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


async def test_a_blob_is_served_whole_inline_as_its_type(store: FilesystemBlobStore) -> None:
    await store.put_bytes("files/a/b.png", b"0123456789")
    response = await blob_response(
        _request(), store, "files/a/b.png", media_type="image/png", name="a/b.png",
        headers={"X-A": "1"},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'inline; filename="b.png"'
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-length"] == "10"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["x-a"] == "1"
    assert await _body(response) == b"0123456789"


@pytest.mark.parametrize(
    ("header", "part", "content_range"),
    [
        ("bytes=2-5", b"2345", "bytes 2-5/10"),
        ("bytes=7-", b"789", "bytes 7-9/10"),
        ("bytes=-3", b"789", "bytes 7-9/10"),
        ("bytes=8-100", b"89", "bytes 8-9/10"),
    ],
)
async def test_one_range_is_a_206_of_those_bytes(
    store: FilesystemBlobStore, header: str, part: bytes, content_range: str
) -> None:
    await store.put_bytes("k.bin", b"0123456789")
    response = await blob_response(_request(header), store, "k.bin", media_type="x/y", name="k")
    assert response.status_code == 206
    assert response.headers["content-range"] == content_range
    assert response.headers["content-length"] == str(len(part))
    assert await _body(response) == part


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=50-60", "bytes=-0"])
async def test_a_range_past_the_end_is_416(store: FilesystemBlobStore, header: str) -> None:
    await store.put_bytes("k.bin", b"0123456789")
    response = await blob_response(_request(header), store, "k.bin", media_type="x/y", name="k")
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */10"


@pytest.mark.parametrize("header", ["bytes=0-1,4-5", "items=0-1", "bytes=5-2", "bytes=x-"])
async def test_a_range_we_do_not_serve_gets_the_whole_blob(
    store: FilesystemBlobStore, header: str
) -> None:
    await store.put_bytes("k.bin", b"0123456789")
    response = await blob_response(_request(header), store, "k.bin", media_type="x/y", name="k")
    assert response.status_code == 200
    assert await _body(response) == b"0123456789"


async def test_a_missing_blob_is_not_found_with_the_callers_words(
    store: FilesystemBlobStore,
) -> None:
    with pytest.raises(NotFound, match="gone away"):
        await blob_response(
            _request(), store, "nope.bin", media_type="x/y", name="n", missing="gone away"
        )


async def test_the_local_disk_has_no_redirect_so_redirect_mode_streams(
    store: FilesystemBlobStore,
) -> None:
    await store.put_bytes("k.bin", b"abc")
    response = await blob_response(
        _request(), store, "k.bin", media_type="x/y", name="k", redirect=True
    )
    assert response.status_code == 200
    assert await _body(response) == b"abc"
