"""Image inspection (media.inspect with kind="image"): Pillow restricted to the sniffed format,
decompression bombs refused before decoding, full decode, geometry rules."""

from __future__ import annotations

import io
import resource
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from seedance_gateway import media
from seedance_gateway.errors import ValidationFailed
from seedance_gateway.media import MediaLimits, MediaRejected, inspect, max_bytes_for


def image_bytes(fmt: str, size: tuple[int, int] = (640, 480)) -> bytes:
    buf = io.BytesIO()
    Image.linear_gradient("L").resize(size).convert("RGB").save(buf, fmt)
    return buf.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A 1-bit black PNG of any size, built row by row so it never exists in memory."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    packer = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte 0 + packed bits
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, bytes], Path]:
    def _write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return _write


def rejected(path: Path, kind: str = "image", limits: MediaLimits | None = None) -> MediaRejected:
    with pytest.raises(MediaRejected) as caught:
        inspect(path, kind, limits or MediaLimits(), field="references[0]")
    assert caught.value.field == "references[0]"
    assert caught.value.message.startswith("references[0]: ")
    return caught.value


@pytest.mark.parametrize(
    ("fmt", "mime", "ext"),
    [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")],
)
def test_allowed_images_are_measured(
    write: Callable[[str, bytes], Path], fmt: str, mime: str, ext: str
) -> None:
    data = image_bytes(fmt)
    info = inspect(write("upload.bin", data), "image")
    assert (info.kind, info.mime_type, info.extension) == ("image", mime, ext)
    assert (info.width, info.height, info.size) == (640, 480, len(data))
    assert info.duration is None and info.video_codec is None and not info.has_audio


def test_rejection_is_a_validation_failure(write: Callable[[str, bytes], Path]) -> None:
    error = rejected(write("x.png", image_bytes("PNG", (200, 200))))
    assert isinstance(error, ValidationFailed)
    assert (error.status, error.code) == (400, "validation_failed")


def test_png_named_mp4_is_not_a_video(write: Callable[[str, bytes], Path]) -> None:
    error = rejected(write("clip.mp4", image_bytes("PNG")), kind="video")
    assert error.rule == "type"
    assert "file is a PNG image, but kind is video" in error.message


def test_image_declared_as_audio_is_refused(write: Callable[[str, bytes], Path]) -> None:
    error = rejected(write("a.mp3", image_bytes("JPEG")), kind="audio")
    assert "file is a JPEG image, but kind is audio" in error.message


def test_html_declared_as_image_is_refused(write: Callable[[str, bytes], Path]) -> None:
    page = b"<!DOCTYPE html>\n<html><body><img src=x onerror=alert(1)></body></html>"
    error = rejected(write("photo.png", page))
    assert error.rule == "type"
    assert "not a recognized image/video/audio file" in error.message
    assert "text/HTML document" in error.message
    assert "allowed: image (jpg, png, webp)" in error.message


def test_gif_is_named_and_refused(write: Callable[[str, bytes], Path]) -> None:
    error = rejected(write("a.gif", image_bytes("GIF")))
    assert error.rule == "type" and "a GIF image" in error.message


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_truncated_images_are_refused(write: Callable[[str, bytes], Path], fmt: str) -> None:
    data = image_bytes(fmt)
    error = rejected(write("cut.img", data[: len(data) // 2]))
    assert error.rule == "corrupt"
    assert "truncated or corrupt" in error.message
    assert str(write("cut.img", b"").parent) not in error.message  # no server paths leak


def test_png_with_garbage_after_the_header_is_refused(write: Callable[[str, bytes], Path]) -> None:
    data = image_bytes("PNG")
    garbage = bytes((i * 97 + 13) % 256 for i in range(len(data) - 33))
    error = rejected(write("g.png", data[:33] + garbage))  # signature + IHDR, then noise
    assert error.rule == "corrupt"


def test_png_header_only_is_refused(write: Callable[[str, bytes], Path]) -> None:
    error = rejected(write("h.png", b"\x89PNG\r\n\x1a\n"))
    assert error.rule == "corrupt"


def test_huge_bomb_is_refused_when_opening(write: Callable[[str, bytes], Path]) -> None:
    path = write("bomb.png", png_bomb(20_000, 20_000))  # 400 Mpx, ~50 kB on disk
    assert path.stat().st_size < 200_000
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    error = rejected(path)
    assert error.rule == "pixels"
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_kib
    assert grown_kib < 100 * 1024  # decoding it would take 400 MB


@pytest.mark.parametrize("side", [7_000, 10_000])  # under and over Pillow's own warning level
def test_bombs_are_refused_before_decoding(
    write: Callable[[str, bytes], Path], monkeypatch: pytest.MonkeyPatch, side: int
) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("decoded a decompression bomb")

    path = write("bomb.png", png_bomb(side, side))
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    error = rejected(path)
    assert error.rule == "pixels"
    assert "36000000" in error.message


def test_pixel_limit_is_configurable(write: Callable[[str, bytes], Path]) -> None:
    error = rejected(write("a.png", image_bytes("PNG")), limits=MediaLimits(max_image_pixels=1000))
    assert error.rule == "pixels" and "640x480 = 307200 pixels" in error.message


def test_too_small_image_is_refused(write: Callable[[str, bytes], Path]) -> None:
    error = rejected(write("s.png", image_bytes("PNG", (200, 200))))
    assert error.rule == "dimensions"
    assert "200x200" in error.message and "300-6000" in error.message


def test_too_elongated_image_is_refused(write: Callable[[str, bytes], Path]) -> None:
    error = rejected(write("e.jpg", image_bytes("JPEG", (3000, 300))))
    assert error.rule == "aspect"
    assert "3000x300" in error.message and "10.00" in error.message and "0.4-2.5" in error.message


def test_oversize_image_is_refused(write: Callable[[str, bytes], Path]) -> None:
    data = image_bytes("PNG")
    error = rejected(write("big.png", data), limits=MediaLimits(image_max_bytes=len(data) - 1))
    assert error.rule == "size"
    assert f"file is {len(data)} bytes" in error.message


def test_empty_file_is_refused(write: Callable[[str, bytes], Path]) -> None:
    assert rejected(write("empty", b"")).rule == "size"


def test_unknown_kind_is_refused(write: Callable[[str, bytes], Path]) -> None:
    error = rejected(write("a.png", image_bytes("PNG")), kind="document")
    assert error.rule == "kind" and "image, video, audio" in error.message


def test_unexpected_failure_is_a_refusal_not_a_crash(
    write: Callable[[str, bytes], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(media.inspection, "inspect_image", broken)
    error = rejected(write("a.png", image_bytes("PNG")))
    assert error.rule == "unreadable"
    assert error.message == "references[0]: could not be read as image"


def test_max_bytes_for_each_kind() -> None:
    limits = MediaLimits(image_max_bytes=1, video_max_bytes=2, audio_max_bytes=3)
    assert [max_bytes_for(k, limits) for k in ("image", "video", "audio")] == [1, 2, 3]
    assert max_bytes_for("video", MediaLimits()) == 50 * 1024 * 1024
    with pytest.raises(MediaRejected):
        max_bytes_for("text", limits)
