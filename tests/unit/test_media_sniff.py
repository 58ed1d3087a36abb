"""Magic-byte sniffing (media.sniff): the type comes from the first bytes, never from a name."""

from __future__ import annotations

import pytest

from seedance_gateway.media import sniff
from seedance_gateway.media.sniff import describe, id3_size

MP3_FRAME = b"\xff\xfb\x90\x64" + bytes(413)  # MPEG-1 Layer III, 128 kb/s, 44.1 kHz
ADTS_FRAME = b"\xff\xf1\x50\x80\x02\x1f\xfc" + bytes(9)  # AAC LC 44.1 kHz, 16-byte frame


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x02\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08free"


def id3(payload_size: int) -> bytes:
    size = bytes((payload_size >> s) & 0x7F for s in (21, 14, 7, 0))
    return b"ID3\x04\x00\x00" + size + bytes(payload_size)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", ("image", "image/jpeg", "jpg")),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("image", "image/png", "png")),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", ("image", "image/webp", "webp")),
        (ftyp(b"isom", b"isom", b"iso2", b"avc1", b"mp41"), ("video", "video/mp4", "mp4")),
        (ftyp(b"mp42", b"mp42", b"isom"), ("video", "video/mp4", "mp4")),
        (ftyp(b"qt  ", b"qt  "), ("video", "video/quicktime", "mov")),
        (b"\x00\x00\x00\x08wide\x00\x00\x10\x00mdat", ("video", "video/quicktime", "mov")),
        (ftyp(b"M4A ", b"M4A ", b"isom", b"iso2"), ("audio", "audio/mp4", "m4a")),
        (
            b"\x1aE\xdf\xa3\x9fB\x86\x81\x01B\x82\x84webmB\x87\x81\x02",
            ("video", "video/webm", "webm"),
        ),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", ("audio", "audio/wav", "wav")),
        (b"OggS\x00\x02" + bytes(22) + b"OpusHead", ("audio", "audio/ogg", "ogg")),
        (MP3_FRAME, ("audio", "audio/mpeg", "mp3")),
        (id3(100) + MP3_FRAME, ("audio", "audio/mpeg", "mp3")),
        (id3(10_000), ("audio", "audio/mpeg", "mp3")),  # tag runs past the head: MP3 assumed
        (ADTS_FRAME + ADTS_FRAME, ("audio", "audio/aac", "aac")),
    ],
)
def test_sniff_recognizes_every_allowed_type(head: bytes, expected: tuple[str, str, str]) -> None:
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        bytes(1000),
        b"<!DOCTYPE html><html><body>hi</body></html>",
        b"GIF89a\x01\x00\x01\x00",
        b"BM\x36\x00\x00\x00",
        b"%PDF-1.7\n",
        b"\x1aE\xdf\xa3\xa3B\x86\x81\x01B\x82\x88matroska",  # Matroska, not WebM
        ftyp(b"heic", b"mif1", b"heic"),  # HEIF image in an ISO BMFF box
        ftyp(b"avif", b"avif", b"mif1", b"miaf"),
        ftyp(b"3gp5", b"3gp5"),  # 3GP without an MP4 brand
        b"RIFF\x24\x00\x00\x00AVI LIST",
        b"\xff\xfe<\x00h\x00t\x00",  # UTF-16 text: an MPEG sync pattern but no valid header
        b"\xff\xfb\xf0\x64" + bytes(100),  # MP3 sync with the forbidden bitrate index 15
        ADTS_FRAME + b"\x00\x00",  # ADTS header whose next frame is not where it says
        id3(100) + b"fLaC",  # an ID3 tag in front of something that is not MP3 or AAC
    ],
)
def test_sniff_refuses_everything_else(head: bytes) -> None:
    assert sniff(head) is None


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b"GIF87a", "a GIF image"),
        (b"  <html><head>", "a text/HTML document"),
        (b"\xef\xbb\xbf<!doctype html>", "a text/HTML document"),
        (ftyp(b"heic", b"mif1"), "a HEIF/AVIF image"),
        (b"fLaC\x00\x00\x00\x22", "a FLAC audio file"),
        (bytes(64), None),
    ],
)
def test_describe_names_common_refused_types(head: bytes, name: str | None) -> None:
    assert describe(head) == name


def test_id3_size_counts_header_and_syncsafe_payload() -> None:
    assert id3_size(id3(300)) == 310
    assert id3_size(MP3_FRAME) == 0
    assert id3_size(b"ID3\x04\x00\x00\x80\x00\x00\x00") == 0  # not syncsafe: not a tag
