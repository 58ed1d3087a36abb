"""HTTP byte ranges (RFC 9110 §14): which part of a blob a ``Range`` header asks for (pure).

One range is served as ``206``; a header that does not parse, or asks for several ranges, is
ignored (the whole blob, ``200``, as the RFC allows); a range that starts past the end is
``Unsatisfiable`` (``416``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ONE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``[start, end)`` of a blob of ``size`` bytes."""

    start: int
    end: int
    size: int

    @property
    def content_range(self) -> str:
        """The ``Content-Range`` header of the part."""
        return f"bytes {self.start}-{self.end - 1}/{self.size}"


class Unsatisfiable(Exception):
    """The range starts past the end of the blob (``416``)."""


def requested(header: str | None, size: int) -> ByteRange | None:
    """The one range ``header`` asks of a ``size``-byte blob, or None for the whole blob."""
    match = _ONE_RANGE.fullmatch((header or "").replace(" ", ""))
    if match is None or match.group(1) == match.group(2) == "":
        return None
    first, last = match.group(1), match.group(2)
    if first == "":  # the last N bytes
        length = int(last)
        if length == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - length), size, size)
    start = int(first)
    end = size if last == "" else min(int(last) + 1, size)
    if last != "" and int(last) < start:
        return None  # not a valid range: ignored
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, end, size)
