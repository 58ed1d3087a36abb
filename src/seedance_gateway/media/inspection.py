"""``inspect``: decide what an uploaded file really is from its bytes, measure it, apply the rules.

Blocking (file reads, Pillow, FFmpeg): callers run it in a worker thread. The file is already on
disk, streamed there under the kind's size cap by the caller.
"""

from __future__ import annotations

import logging
from pathlib import Path

from seedance_gateway.media.formats import (
    BY_MIME,
    MP4_FAMILY,
    FileType,
    allowed_summary,
    check_declared,
)
from seedance_gateway.media.images import inspect_image
from seedance_gateway.media.model import (
    DEFAULT_LIMITS,
    MediaInfo,
    MediaLimits,
    MediaRejected,
    check_kind,
    max_bytes_for,
)
from seedance_gateway.media.sniff import HEAD_BYTES, describe, id3_size, sniff_frames, sniff_type
from seedance_gateway.media.streams import inspect_av

log = logging.getLogger(__name__)


def inspect(
    path: Path, declared_kind: str, limits: MediaLimits = DEFAULT_LIMITS, *, field: str = "file"
) -> MediaInfo:
    """What the file at ``path`` is and measures, or ``MediaRejected`` naming the broken rule.

    The type comes from the bytes only; ``declared_kind`` (image, video or audio) must match it.
    Any unexpected failure while reading the file is a refusal too, never a server error.
    """
    check_kind(declared_kind, field)
    try:
        return _inspect(Path(path), declared_kind, limits, field)
    except MediaRejected:
        raise
    except Exception as exc:
        log.warning("media inspection of %s failed unexpectedly", path, exc_info=True)
        raise MediaRejected(
            f"{field}: could not be read as {declared_kind}", field=field, rule="unreadable"
        ) from exc


def _inspect(path: Path, kind: str, limits: MediaLimits, field: str) -> MediaInfo:
    size = path.stat().st_size
    if size == 0:
        raise MediaRejected(f"{field}: file is empty", field=field, rule="size")
    ftype = _sniff_path(path, field)
    if not (ftype.mime_type in MP4_FAMILY and kind in ("video", "audio")):
        check_declared(ftype, kind, field)  # MP4 vs M4A is settled by the streams
    _check_size(size, kind, limits, field)
    if ftype.kind == "image":
        return inspect_image(path, ftype, size, limits, field)
    return inspect_av(path, ftype, kind, size, limits, field)


def _sniff_path(path: Path, field: str) -> FileType:
    """Sniffs the file's first bytes, looking past a long ID3 tag (cover art) for MP3 frames."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
        ftype = sniff_type(head)
        skip = id3_size(head)
        if ftype is not None and skip and skip + 4 > len(head):
            f.seek(skip)
            mime = sniff_frames(f.read(HEAD_BYTES))
            ftype = BY_MIME[mime] if mime else None
    if ftype is None:
        what = describe(head)
        found = f" (it looks like {what})" if what else ""
        raise MediaRejected(
            f"{field}: not a recognized image/video/audio file{found}; "
            f"allowed: {allowed_summary()}",
            field=field,
            rule="type",
        )
    return ftype


def _check_size(size: int, kind: str, limits: MediaLimits, field: str) -> None:
    cap = max_bytes_for(kind, limits)
    if size > cap:
        raise MediaRejected(
            f"{field}: file is {size} bytes ({size / 2**20:.1f} MiB); {kind} files may be at "
            f"most {cap} bytes ({cap / 2**20:.1f} MiB)",
            field=field,
            rule="size",
        )
