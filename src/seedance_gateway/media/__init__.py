"""Upload inspection: what a file on disk really is (from its bytes), measured and checked.

``inspect(path, kind)`` sniffs the type from the magic bytes (``sniff``), refuses anything that
is not an allowed image (jpeg, png, webp), video (mp4, mov, webm) or audio (mp3, wav, aac, m4a,
ogg) file of the declared kind, parses it with a decoder restricted to that type (Pillow with a
decompression-bomb guard; PyAV with a forced demuxer and codec allow-lists), checks size,
geometry and duration against ``MediaLimits``, and returns a ``MediaInfo`` (an image's ``size``
is its own length: bytes after its end are not part of it, ``image_end``). Every refusal is a
``MediaRejected`` (400 validation_failed) whose message names the rule, what was found and what
is allowed.
"""

from __future__ import annotations

from seedance_gateway.media.inspection import inspect
from seedance_gateway.media.model import (
    DEFAULT_LIMITS,
    KINDS,
    MediaInfo,
    MediaLimits,
    MediaRejected,
    max_bytes_for,
)
from seedance_gateway.media.sniff import sniff

__all__ = [
    "DEFAULT_LIMITS",
    "KINDS",
    "MediaInfo",
    "MediaLimits",
    "MediaRejected",
    "inspect",
    "max_bytes_for",
    "sniff",
]
