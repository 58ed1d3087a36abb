"""Content-Disposition for stored bytes (web.downloads): inline, a plain ASCII ``filename`` that
no quote, CR/LF, ``;`` or separator gets into, and RFC 5987 ``filename*`` for the real name."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from starlette.responses import FileResponse

from seedance_gateway.web.downloads import content_disposition, file_response

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


def test_starlettes_own_filename_would_keep_separators_and_drop_the_fallback(
    tmp_path: Path,
) -> None:
    """Why the header is made here: Starlette passes ``/`` through and sends non-ASCII names
    as ``filename*`` alone."""
    path = tmp_path / "x.bin"
    path.write_bytes(b"x")
    theirs = FileResponse(path, filename="a/b.png", content_disposition_type="inline")
    assert theirs.headers["content-disposition"] == 'inline; filename="a/b.png"'
    ours = file_response(path, media_type="image/png", name="a/b.png", headers={"X-A": "1"})
    assert ours.headers["content-disposition"] == 'inline; filename="b.png"'
    assert ours.headers["content-type"] == "image/png"
    assert ours.headers["x-a"] == "1"
