"""Image inspection with Pillow: one decoder, bomb check before decoding, full decode, geometry,
and where the image ends (bytes after it are not part of it: the caller drops them)."""

from __future__ import annotations

import mmap
import threading
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from seedance_gateway.media.formats import FileType
from seedance_gateway.media.image_end import image_end
from seedance_gateway.media.model import MediaInfo, MediaLimits, MediaRejected

#: ``warnings.catch_warnings`` swaps process-wide state; serialise our own uses of it so that
#: concurrent inspections cannot restore each other's filters out of order.
_OPEN_LOCK = threading.Lock()


def inspect_image(
    path: Path, ftype: FileType, size: int, limits: MediaLimits, field: str
) -> MediaInfo:
    """Decodes the whole image with only ``ftype``'s Pillow plugin and checks its geometry;
    ``size`` in the result is the image's own length, without any trailing bytes."""
    with path.open("rb") as f, _open(f, ftype, limits, field, path) as im:
        _check_pixels(im.size, limits, field)
        try:
            im.load()
        except (OSError, SyntaxError, ValueError) as exc:
            raise MediaRejected(
                f"{field}: the {ftype.label} is truncated or corrupt ({_detail(exc, path)})",
                field=field,
                rule="corrupt",
            ) from exc
        width, height = im.size
    _check_sides(width, height, limits, field)
    _check_aspect(width, height, limits, field)
    return MediaInfo(
        kind="image",
        mime_type=ftype.mime_type,
        extension=ftype.extension,
        size=_own_length(path, ftype, size),
        width=width,
        height=height,
    )


def _open(f: BinaryIO, ftype: FileType, limits: MediaLimits, field: str, path: Path) -> Image.Image:
    """Parses the header only; Pillow's own bomb guard (warning or error) becomes a refusal."""
    formats = [ftype.pillow_format or ""]
    try:
        with _OPEN_LOCK, warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(f, formats=formats)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise MediaRejected(
            f"{field}: image has too many pixels to decode safely; at most "
            f"{limits.max_image_pixels} pixels are allowed ({_detail(exc, path)})",
            field=field,
            rule="pixels",
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:  # UnidentifiedImageError is an OSError
        raise MediaRejected(
            f"{field}: the {ftype.label} is truncated or corrupt ({_detail(exc, path)})",
            field=field,
            rule="corrupt",
        ) from exc


def _own_length(path: Path, ftype: FileType, size: int) -> int:
    """Where the image's own bytes end; the whole file when that cannot be told."""
    with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = image_end(data, ftype.mime_type)
    return end if end is not None and end < size else size


def _check_pixels(size: tuple[int, int], limits: MediaLimits, field: str) -> None:
    width, height = size
    if width * height > limits.max_image_pixels:
        raise MediaRejected(
            f"{field}: image is {width}x{height} = {width * height} pixels; at most "
            f"{limits.max_image_pixels} pixels are allowed",
            field=field,
            rule="pixels",
        )


def _check_sides(width: int, height: int, limits: MediaLimits, field: str) -> None:
    low, high = limits.image_min_side, limits.image_max_side
    if not (low <= width <= high and low <= height <= high):
        raise MediaRejected(
            f"{field}: image is {width}x{height} px; each side must be {low}-{high} px",
            field=field,
            rule="dimensions",
        )


def _check_aspect(width: int, height: int, limits: MediaLimits, field: str) -> None:
    aspect = width / height
    low, high = limits.image_min_aspect, limits.image_max_aspect
    if not low <= aspect <= high:
        raise MediaRejected(
            f"{field}: image is {width}x{height} px, aspect ratio (width/height) {aspect:.2f}; "
            f"it must be {low}-{high}",
            field=field,
            rule="aspect",
        )


def _detail(exc: BaseException, path: Path) -> str:
    """Pillow's reason, without the server-side path it sometimes includes."""
    if isinstance(exc, UnidentifiedImageError):
        return "no valid image header"
    return str(exc).replace(str(path), "<file>")
