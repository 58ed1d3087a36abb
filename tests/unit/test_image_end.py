"""Where an image's own bytes end (media.image_end), and inspection reporting that length.

Every accepted image type, as encoders write it and as phones and polyglots extend it: the end
is found through the format's structure, never a search for a marker that trailing data (or an
EXIF thumbnail) may hold too. Garbage and cut files give ``None``, never an exception.
"""

from __future__ import annotations

import io
import mmap
import random
import struct
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from seedance_gateway.media import inspect
from seedance_gateway.media.image_end import image_end


def picture(size: tuple[int, int] = (640, 480), seed: int = 0) -> Image.Image:
    """A gradient with some noise: enough entropy for 0xFF bytes in JPEG scans."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    for _ in range(2000):
        image.putpixel(
            (rng.randrange(size[0]), rng.randrange(size[1])), (255, 0, rng.randrange(256))
        )
    return image


def encoded(fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    picture().save(buffer, fmt, **options)
    return buffer.getvalue()


def animated_webp() -> bytes:
    buffer = io.BytesIO()
    frames = [picture(seed=1), picture(seed=2)]
    frames[0].save(buffer, "WEBP", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def with_exif_thumbnail(jpeg: bytes) -> bytes:
    """``jpeg`` with an APP1 Exif segment whose IFD1 holds a whole JPEG thumbnail (EOI too)."""
    thumb = io.BytesIO()
    picture((160, 120)).save(thumb, "JPEG")
    ifd1 = 8 + 6  # after the TIFF header and an empty IFD0 (count, next-IFD offset)
    data_at = ifd1 + 2 + 2 * 12 + 4
    tiff = (
        b"II*\x00" + struct.pack("<I", 8) + struct.pack("<HI", 0, ifd1)
        + struct.pack("<H", 2)
        + struct.pack("<HHII", 0x0201, 4, 1, data_at)  # JPEGInterchangeFormat
        + struct.pack("<HHII", 0x0202, 4, 1, len(thumb.getvalue()))  # ...Length
        + struct.pack("<I", 0)
        + thumb.getvalue()
    )  # fmt: skip
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def a_zip() -> bytes:
    """A ZIP whose content holds every end marker the finders could be fooled by."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.txt", b"IEND\xaeB`\x82 \xff\xd9 RIFF\x00\x00\x00\x00WEBP")
    return buffer.getvalue()


#: What phones and polyglots put after an image.
TRAILERS: dict[str, Callable[[], bytes]] = {
    "zip": a_zip,
    "motion-photo-mp4": lambda: b"\x00\x00\x00\x18ftypmp42" + bytes(64) + b"\xff\xd9",
    "another-jpeg": lambda: encoded("JPEG"),
    "html": lambda: b"<html><script>alert(1)</script></html>",
    "one-byte": lambda: b"\x00",
}


def png_with_text(text: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", text)
    return encoded("PNG", pnginfo=info)


IMAGES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "png": ("image/png", lambda: encoded("PNG")),
    "png-iend-in-a-text-chunk": ("image/png", lambda: png_with_text("IEND\xaeB`\x82")),
    "jpeg": ("image/jpeg", lambda: encoded("JPEG", quality=90)),
    "jpeg-progressive": ("image/jpeg", lambda: encoded("JPEG", progressive=True)),
    "jpeg-restart-markers": ("image/jpeg", lambda: encoded("JPEG", restart_marker_blocks=4)),
    "jpeg-exif-thumbnail": ("image/jpeg", lambda: with_exif_thumbnail(encoded("JPEG"))),
    "webp-lossy": ("image/webp", lambda: encoded("WEBP")),
    "webp-lossless": ("image/webp", lambda: encoded("WEBP", lossless=True)),
    "webp-animated": ("image/webp", animated_webp),
}


@pytest.mark.parametrize("name", IMAGES)
def test_an_image_ends_at_its_own_length(name: str) -> None:
    mime, make = IMAGES[name]
    data = make()
    assert image_end(data, mime) == len(data)


@pytest.mark.parametrize("trailer", TRAILERS)
@pytest.mark.parametrize("name", IMAGES)
def test_trailing_data_is_not_part_of_the_image(name: str, trailer: str) -> None:
    mime, make = IMAGES[name]
    data = make()
    assert image_end(data + TRAILERS[trailer](), mime) == len(data)


def test_an_exif_thumbnails_own_end_marker_is_skipped() -> None:
    data = with_exif_thumbnail(encoded("JPEG"))
    assert 0 < data.find(b"\xff\xd9") < len(data) - 2  # the thumbnail's EOI comes first
    Image.open(io.BytesIO(data)).load()  # still a valid JPEG
    assert image_end(data + a_zip(), "image/jpeg") == len(data)


def test_a_progressive_jpeg_is_followed_through_every_scan() -> None:
    data = encoded("JPEG", progressive=True)
    assert data.count(b"\xff\xda") > 2
    assert image_end(data + a_zip(), "image/jpeg") == len(data)


@pytest.mark.parametrize("name", IMAGES)
def test_a_cut_image_has_no_end(name: str) -> None:
    """Every prefix that stops before the end marker (or RIFF size) gives None."""
    mime, make = IMAGES[name]
    data = make()
    cuts = sorted({*range(40), *range(40, len(data), max(1, len(data) // 200)), len(data) - 1})
    assert [cut for cut in cuts if image_end(data[:cut], mime) is not None] == []


@pytest.mark.parametrize("mime", ["image/png", "image/jpeg", "image/webp"])
def test_garbage_never_raises(mime: str) -> None:
    rng = random.Random(5)
    heads = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8", b"\xff\xd8\xff\xda\x00\x02", b"RIFF"]
    heads.append(b"RIFF\xff\xff\xff\xffWEBP")
    for _ in range(400):
        data = rng.choice(heads) + rng.randbytes(rng.randrange(0, 300))
        found = image_end(data, mime)
        assert found is None or 0 < found <= len(data)
    for name, (image_mime, make) in IMAGES.items():  # flipped bytes in real images
        if image_mime != mime:
            continue
        original = bytearray(make())
        for _ in range(40):
            broken = bytearray(original)
            for at in rng.sample(range(len(broken)), 8):
                broken[at] ^= 0xFF
            found = image_end(bytes(broken), mime)
            assert found is None or 0 < found <= len(broken), name


def test_other_types_have_no_image_end() -> None:
    assert image_end(encoded("PNG"), "video/mp4") is None


def test_a_10_mb_scan_of_stuffed_bytes_is_found_in_milliseconds() -> None:
    """5 million 0xFF 0x00 pairs in one scan: one search in C, not a loop per pair."""
    scan_header = b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00"
    data = b"\xff\xd8" + scan_header + b"\xff\x00" * 5_000_000 + b"\xff\xd9"
    started = time.perf_counter()
    assert image_end(data + a_zip(), "image/jpeg") == len(data)
    assert time.perf_counter() - started < 0.5


def test_a_memory_mapped_file_is_read_in_place(tmp_path: Path) -> None:
    data = encoded("JPEG", progressive=True)
    path = tmp_path / "x.jpg"
    path.write_bytes(data + a_zip())
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        assert image_end(mapped, "image/jpeg") == len(data)


@pytest.mark.parametrize("name", ["png", "jpeg-exif-thumbnail", "webp-lossy", "webp-animated"])
def test_inspection_reports_the_images_own_length(tmp_path: Path, name: str) -> None:
    _, make = IMAGES[name]
    data = make()
    path = tmp_path / "upload.bin"
    path.write_bytes(data + a_zip())
    info = inspect(path, "image")
    assert (info.size, info.width, info.height) == (len(data), 640, 480)
    path.write_bytes(data)
    assert inspect(path, "image").size == len(data)
