"""Where an image's own bytes end, so that whatever a file carries after them can be dropped.

Phones append data after a finished image (motion photos put an MP4 after the JPEG's EOI) and
polyglots append a ZIP or a script; decoders stop at the image's end and never see it. Each
finder walks the format's own structure, never a search for the end marker alone (an EXIF
thumbnail holds an EOI of its own): PNG chunks to the end of IEND, JPEG segments and entropy-coded
scans to EOI, a WebP's RIFF size. Pure, never raises: ``None`` when no end is found, and the file
is then kept as it is. Searches run in C (``bytes.find``, ``re``), so a 10 MB file costs
milliseconds; the Python loops step over chunks and segments, never over bytes.
"""

from __future__ import annotations

import mmap
import re
from typing import Literal

Data = bytes | mmap.mmap

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The first 0xFF of a marker: the 0xFF before a byte that is not stuffing (00), RSTn (D0-D7)
#: or another 0xFF (fill); a run of fill bytes matches at its last 0xFF.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
#: A marker at a segment boundary: optional fill bytes, then the marker code.
_MARKER = re.compile(rb"\xff+([^\xff])")
_EOI, _SOS = 0xD9, 0xDA
#: Markers without a length field: TEM and RST0-RST7 (SOI only comes first).
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})


def image_end(data: Data, mime_type: str) -> int | None:
    """The length of the image at the start of ``data``, or ``None`` when no end is found."""
    finder = {"image/png": png_end, "image/jpeg": jpeg_end, "image/webp": webp_end}.get(mime_type)
    if finder is None:
        return None
    try:
        return finder(data)
    except (ValueError, IndexError):  # a structure that runs off the data has no end
        return None


def png_end(data: Data) -> int | None:
    """The end of the IEND chunk, walking the chunks by their lengths."""
    if data[:8] != _PNG_SIGNATURE:
        return None
    at = 8
    while at + 12 <= len(data):
        end = at + 12 + _number(data, at, 4, "big")  # length, type, data, CRC
        if end > len(data):
            return None
        if data[at + 4 : at + 8] == b"IEND":
            return end
        at = end
    return None


def jpeg_end(data: Data) -> int | None:
    """The end of the EOI marker, walking the segments by their lengths and each scan's
    entropy-coded data to the marker that ends it."""
    if data[:2] != b"\xff\xd8":
        return None
    at = 2
    while True:
        found = _MARKER.match(data, at)
        if found is None:
            return None
        code, at = found[1][0], found.end()
        if code == _EOI:
            return at
        if code in _STANDALONE:
            continue
        length = _number(data, at, 2, "big")
        if length < 2 or at + length > len(data):
            return None
        at += length
        if code == _SOS:
            scan_end = _SCAN_END.search(data, at)
            if scan_end is None:
                return None
            at = scan_end.start()


def webp_end(data: Data) -> int | None:
    """Eight bytes of RIFF header plus the RIFF size, padded to an even length."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    size = _number(data, 4, 4, "little")
    end = 8 + size
    if size < 4 or end > len(data):
        return None
    return end + 1 if size % 2 and end < len(data) else end


def _number(data: Data, at: int, width: int, order: Literal["big", "little"]) -> int:
    """The unsigned integer of ``width`` bytes at ``at``; ``IndexError`` past the end."""
    if at + width > len(data):
        raise IndexError(f"{width} bytes at {at} run past the end")
    return int.from_bytes(data[at : at + width], order)
