"""Reference media as a dialect parsed it, and the default roles for unlabelled items.

Resolution (fetching, inspecting, storing) is ``files.Files.resolve``; the per-model rules
(counts, durations, modes) are ``domain.requests.normalize``.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from seedance_gateway.domain.requests import Reference
from seedance_gateway.errors import ValidationFailed

ROLES = ("first_frame", "last_frame", "reference_image", "reference_video", "reference_audio")
KIND_OF_ROLE = {
    "first_frame": "image",
    "last_frame": "image",
    "reference_image": "image",
    "reference_video": "video",
    "reference_audio": "audio",
}


#: The upstream's trusted assets (real people, ingested with consent): ``asset://<id>``. They
#: only mean something to the upstream, so they pass through untouched to models routed there.
ASSET_SCHEME = "asset://"
_ASSET = re.compile(r"asset://[A-Za-z0-9._:/-]{1,200}")


def is_asset(url: str) -> bool:
    """Whether ``url`` names an upstream asset (any ``asset://`` URL, well-formed or not)."""
    return url.strip().lower().startswith(ASSET_SCHEME)


def check_asset(url: str, field: str) -> str:
    """The asset URL, trimmed, or a 400 saying what one looks like."""
    url = url.strip()
    if not _ASSET.fullmatch(url):
        raise ValidationFailed(
            f"{field}.url is not a valid asset URL: asset:// then the upstream's asset id "
            "(letters, digits, . _ : / -, at most 200)",
            field=f"{field}.url",
        )
    return url


@dataclass(frozen=True, kw_only=True)
class IncomingReference:
    """A reference as a dialect parsed it: the URL plus what the client says it is."""

    url: str
    kind: str = "image"
    role: str | None = None
    name: str | None = None
    mime_type: str | None = None
    duration_token: str | None = None
    field: str = "references"  #: the wire name, for error messages
    stored: Reference | None = None  #: media a task already holds (its draft's): copied as is


def assign_roles(items: list[IncomingReference]) -> list[IncomingReference]:
    """Checks roles and fills missing ones.

    Unlabelled images are frames when every item is an image and there are at most two (the
    first is the first frame, the second the last frame); otherwise each unlabelled item is a
    reference of its kind.
    """
    checked = [_checked(item) for item in items]
    frames_only = all(
        i.kind == "image" and i.role in (None, "first_frame", "last_frame") for i in checked
    )
    if frames_only and len(checked) <= 2:
        defaults = iter(
            r for r in ("first_frame", "last_frame") if r not in {i.role for i in checked}
        )
        return [i if i.role else dataclasses.replace(i, role=next(defaults)) for i in checked]
    return [i if i.role else dataclasses.replace(i, role=f"reference_{i.kind}") for i in checked]


def _checked(item: IncomingReference) -> IncomingReference:
    if item.kind not in ("image", "video", "audio"):
        raise ValidationFailed(
            f"{item.field}.kind must be image, video or audio (got {item.kind!r})",
            field=f"{item.field}.kind",
        )
    if item.role is None:
        return item
    if item.role not in ROLES:
        raise ValidationFailed(
            f"{item.field}.role must be one of {', '.join(ROLES)} (got {item.role!r})",
            field=f"{item.field}.role",
        )
    if KIND_OF_ROLE[item.role] != item.kind:
        raise ValidationFailed(
            f"{item.field}.role {item.role} needs kind {KIND_OF_ROLE[item.role]} (got {item.kind})",
            field=f"{item.field}.role",
        )
    return item
