"""Reference media a request carries: decoded, checked and stored before the task is created.

This slice accepts images as ``data:`` URLs (size-capped, decoded safely with Pillow). Files API
uploads, remote URLs (behind the outbound fetch guard), video and audio arrive with issue #3.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from dataclasses import dataclass

from PIL import Image

from seedance_gateway.domain.requests import Reference
from seedance_gateway.errors import ValidationFailed

MAX_IMAGE_BYTES = 10 * 1024 * 1024
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
ROLES = ("first_frame", "last_frame", "reference_image", "reference_video", "reference_audio")


@dataclass(frozen=True, kw_only=True)
class IncomingReference:
    """A reference as a dialect parsed it: the URL plus what the client says it is."""

    url: str
    kind: str = "image"
    role: str | None = None
    name: str | None = None
    mime_type: str | None = None
    field: str = "references"  #: the wire name, for error messages


@dataclass(frozen=True, kw_only=True)
class DecodedImage:
    """An image's bytes and what decoding found."""

    data: bytes
    mime_type: str
    width: int
    height: int


def assign_roles(items: list[IncomingReference]) -> list[IncomingReference]:
    """Fills missing roles: one image is the first frame, two are first and last frame."""
    images = [i for i in items if i.kind == "image"]
    if all(i.role for i in items) or len(images) != len(items) or len(images) > 2:
        return [_with_default_role(i) for i in items]
    defaults = ["first_frame", "last_frame"]
    return [
        IncomingReference(**{**i.__dict__, "role": i.role or defaults[n]})
        for n, i in enumerate(items)
    ]


def _with_default_role(item: IncomingReference) -> IncomingReference:
    if item.role:
        if item.role not in ROLES:
            raise ValidationFailed(
                f"{item.field}.role must be one of {', '.join(ROLES)} (got {item.role!r})",
                field=f"{item.field}.role",
            )
        return item
    return IncomingReference(**{**item.__dict__, "role": f"reference_{item.kind}"})


def decode_image(item: IncomingReference) -> DecodedImage:
    """The image in a ``data:`` URL, or a ``validation_failed`` saying what is wrong."""
    if item.kind != "image":
        raise ValidationFailed(
            f"{item.field}: {item.kind} references need the Files API, which is not available "
            "yet; send images as data: URLs",
            field=item.field,
        )
    if not item.url.startswith("data:"):
        raise ValidationFailed(
            f"{item.field}.url: only data: URLs (data:image/png;base64,...) are accepted for now",
            field=f"{item.field}.url",
        )
    data = _data_url_bytes(item)
    return _inspect_image(item, data)


def to_reference(item: IncomingReference, image: DecodedImage, blob_key: str) -> Reference:
    """The domain reference for a stored image."""
    return Reference(
        role=item.role or "first_frame",
        kind="image",
        url=item.url if len(item.url) < 200 else item.url[:60] + "...",
        blob_key=blob_key,
        mime_type=image.mime_type,
        name=item.name,
        width=image.width,
        height=image.height,
    )


def _data_url_bytes(item: IncomingReference) -> bytes:
    header, _, payload = item.url.partition(",")
    if ";base64" not in header:
        raise ValidationFailed(f"{item.field}.url: data: URLs must be base64", field=item.field)
    if len(payload) > (MAX_IMAGE_BYTES * 4) // 3 + 4:
        raise ValidationFailed(
            f"{item.field}: image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MB",
            field=item.field,
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed(f"{item.field}.url: invalid base64", field=item.field) from None


def _inspect_image(item: IncomingReference, data: bytes) -> DecodedImage:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as image:
                image.load()
                fmt, width, height = image.format or "", image.width, image.height
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationFailed(
            f"{item.field}: image has too many pixels", field=item.field
        ) from None
    except Exception:
        raise ValidationFailed(
            f"{item.field}: not a readable image; allowed: image/jpeg, image/png, image/webp",
            field=item.field,
        ) from None
    if not (300 <= width <= 6000 and 300 <= height <= 6000 and 0.4 <= width / height <= 2.5):
        raise ValidationFailed(
            f"{item.field}: image is {width}x{height}; each side must be 300-6000 px and "
            "width/height between 0.4 and 2.5",
            field=item.field,
        )
    return DecodedImage(data=data, mime_type=IMAGE_FORMATS[fmt], width=width, height=height)
