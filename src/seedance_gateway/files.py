"""Files use cases: store uploads, and resolve the reference media a generation names.

Uploads arrive on disk (streamed under a cap by the dialect), are inspected from their bytes
(``media.inspect``), stored as blobs and recorded with a quota check. Video and audio uploads get
a ``durationToken`` (``domain.tokens``). A generation's references may be our own file URLs
(owner and token checked), ``data:`` URLs (size-capped) or remote URLs (fetched through the
outbound guard); each is inspected the same way before the task is created. Bytes after an
image's own end (a motion photo's video, an appended ZIP) are cut off before anything is stored,
so the stored size and sha256 are those of the image alone.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import dataclasses
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from seedance_gateway import media, netguard
from seedance_gateway.blobs import BlobStore
from seedance_gateway.domain import tokens
from seedance_gateway.domain.ids import new_id
from seedance_gateway.domain.requests import Reference
from seedance_gateway.errors import NotFound, ValidationFailed
from seedance_gateway.references import IncomingReference, check_asset, is_asset
from seedance_gateway.scratch import Scratch
from seedance_gateway.store.files import FileRecord, FileStore

KINDS = ("image", "video", "audio")
_OWN_URL = re.compile(r"/api/v1/files/(file_[0-9a-z]+)(?:/content)?(?:\?.*)?$")


@dataclass(frozen=True, kw_only=True)
class StoredFile:
    """A file record and, for video and audio, its duration token."""

    record: FileRecord
    duration_token: str | None


class Files:
    """Uploads and reference resolution."""

    def __init__(
        self,
        *,
        store: FileStore,
        blobs: BlobStore,
        secret: str,
        scratch: Scratch,
        quota_bytes: int,
        limits: media.MediaLimits,
        fetch_policy: netguard.FetchPolicy,
        upload_ttl: timedelta | None = None,
    ) -> None:
        self.store = store
        self.blobs = blobs
        self.secret = secret
        self.scratch = scratch
        self.quota_bytes = quota_bytes
        self.limits = limits
        self.fetch_policy = fetch_policy
        self.upload_ttl = upload_ttl

    def expires_at(self, record: FileRecord) -> datetime | None:
        """When an upload is deleted (``SEEDANCE_UPLOAD_TTL_DAYS``); None: when its owner does."""
        return record.created_at + self.upload_ttl if self.upload_ttl else None

    def temp_path(self) -> Path:
        """A fresh scratch file path for an incoming upload."""
        return self.scratch.file("upload")

    def cap_for(self, kind: str | None) -> int:
        """The upload cap for a kind (the largest cap while the kind is unknown)."""
        if kind in KINDS:
            return media.max_bytes_for(kind, self.limits)
        return max(media.max_bytes_for(k, self.limits) for k in KINDS)

    async def create(
        self,
        account_id: str,
        path: Path,
        *,
        kind: str,
        name: str,
        sha256: str,
        client_request_id: str | None = None,
        field: str = "file",
    ) -> StoredFile:
        """Inspects, stores and records an upload already on disk at ``path``; errors name
        ``field``."""
        if kind not in KINDS:
            raise ValidationFailed(
                f"kind must be one of {', '.join(KINDS)} (got {kind!r})", field="kind"
            )
        info = await asyncio.to_thread(media.inspect, path, kind, self.limits, field=field)
        if await asyncio.to_thread(_cut_to_media, path, info):
            sha256 = await asyncio.to_thread(_sha256, path)
        file_id = new_id("file")
        safe_name = _safe_name(name, info.extension)
        blob_key = f"files/{file_id}/{safe_name}"
        record = FileRecord(
            id=file_id,
            account_id=account_id,
            kind=info.kind,
            name=safe_name,
            mime_type=info.mime_type,
            size=info.size,
            sha256=sha256,
            blob_key=blob_key,
            created_at=datetime.now(UTC),
            width=info.width,
            height=info.height,
            duration=info.duration,
            client_request_id=client_request_id,
        )
        await self.blobs.put_file(blob_key, path)
        try:
            await self.store.add(record, quota_bytes=self.quota_bytes)
        except Exception:
            await self.blobs.delete(blob_key)
            raise
        return StoredFile(record=record, duration_token=self.token_for(record))

    def token_for(self, record: FileRecord) -> str | None:
        """The duration token of a video or audio file."""
        if record.kind == "image" or record.duration is None:
            return None
        return tokens.issue(self.secret, _claim(record))

    async def delete(self, account_id: str, file_id: str) -> FileRecord:
        """Deletes a file and its bytes."""
        record = await self.store.delete(file_id, account_id)
        await self.blobs.delete(record.blob_key)
        return record

    async def resolve(
        self, account_id: str, task_id: str, items: list[IncomingReference]
    ) -> tuple[Reference, ...]:
        """Every reference inspected and stored (our own files are reused, not copied)."""
        resolved: list[Reference] = []
        try:
            for index, item in enumerate(items):
                resolved.append(await self._resolve_one(account_id, task_id, index, item))
        except BaseException:
            await self.drop(tuple(resolved))
            raise
        return tuple(resolved)

    async def drop(self, references: tuple[Reference, ...]) -> None:
        """Deletes the blobs ``resolve`` created for a task that was not created."""
        for reference in references:
            if reference.blob_key and reference.blob_key.startswith("inputs/"):
                await self.blobs.delete(reference.blob_key)

    async def _resolve_one(
        self, account_id: str, task_id: str, index: int, item: IncomingReference
    ) -> Reference:
        if item.stored is not None:
            return await self._copy_stored(task_id, index, item.stored, item.field)
        if is_asset(item.url):  # the upstream's; the service allows it only for models there
            url = check_asset(item.url, item.field)
            return Reference(role=item.role or f"reference_{item.kind}", kind=item.kind, url=url)
        own = _own_file_id(item.url)
        if own is not None:
            reference = await self._own_file(account_id, own, item)
            extension = Path(reference.blob_key or "").suffix
            key = f"inputs/{task_id}/{index}{extension}"
            await self.blobs.copy(reference.blob_key or "", key)  # the task keeps its own copy
            return dataclasses.replace(reference, blob_key=key)
        path = self.temp_path()
        try:
            if item.url.startswith("data:"):
                await asyncio.to_thread(_write_data_url, item, path, self.cap_for(item.kind))
            elif item.url.startswith(("https://", "http://")):
                policy = netguard.FetchPolicy(
                    allow_private=self.fetch_policy.allow_private,
                    max_bytes=self.cap_for(item.kind),
                    timeout_seconds=self.fetch_policy.timeout_seconds,
                    max_redirects=self.fetch_policy.max_redirects,
                )
                await netguard.fetch_to_file(item.url, path, policy, field=f"{item.field}.url")
            else:
                raise ValidationFailed(
                    f"{item.field}.url must be one of your file URLs (from /api/v1/files), an "
                    "https URL or a data: URL",
                    field=f"{item.field}.url",
                )
            info = await asyncio.to_thread(
                media.inspect, path, item.kind, self.limits, field=item.field
            )
            await asyncio.to_thread(_cut_to_media, path, info)
            key = f"inputs/{task_id}/{index}.{info.extension}"
            await self.blobs.put_file(key, path)
        finally:
            path.unlink(missing_ok=True)
        return _reference(item, key, info.mime_type, info.width, info.height, info.duration)

    async def _copy_stored(
        self, task_id: str, index: int, stored: Reference, field: str
    ) -> Reference:
        """The task's own copy of media another task of the account holds (a draft's)."""
        key = f"inputs/{task_id}/{index}{Path(stored.blob_key or '').suffix}"
        try:
            await self.blobs.copy(stored.blob_key or "", key)
        except KeyError:
            raise ValidationFailed(
                f"{field}: the draft's {stored.kind} is no longer stored; make a new draft",
                field=field,
            ) from None
        return dataclasses.replace(stored, blob_key=key)

    async def _own_file(self, account_id: str, file_id: str, item: IncomingReference) -> Reference:
        try:
            record = await self.store.get(file_id, account_id)
        except NotFound:
            raise ValidationFailed(
                f"{item.field}.url: there is no file {file_id} in your account",
                field=f"{item.field}.url",
            ) from None
        if record.kind != item.kind:
            raise ValidationFailed(
                f"{item.field}.kind is {item.kind!r} but file {file_id} is {record.kind!r}",
                field=f"{item.field}.kind",
            )
        expires_at = self.expires_at(record)
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise ValidationFailed(
                f"{item.field}.url: file {file_id} expired on {expires_at:%Y-%m-%d %H:%M} UTC "
                "(uploads are kept for a limited time here); upload it again",
                field=f"{item.field}.url",
            )
        if record.kind in ("video", "audio"):
            self._check_token(record, item)
        return _reference(
            item, record.blob_key, record.mime_type, record.width, record.height, record.duration
        )

    def _check_token(self, record: FileRecord, item: IncomingReference) -> None:
        field = f"{item.field}.durationToken"
        if not item.duration_token:
            raise ValidationFailed(
                f"{field} is required for {record.kind} references: send the durationToken that "
                f"POST /api/v1/files returned for {record.id}",
                field=field,
            )
        try:
            tokens.verify(self.secret, item.duration_token, _claim(record))
        except tokens.TokenInvalid as exc:
            raise ValidationFailed(
                f"{field} is not valid for {record.id}: {exc}", field=field
            ) from None


def _claim(record: FileRecord) -> tokens.DurationClaim:
    return tokens.DurationClaim(
        file_id=record.id,
        account_id=record.account_id,
        duration=float(record.duration or 0.0),
        sha256=record.sha256,
    )


def _own_file_id(url: str) -> str | None:
    if re.fullmatch(r"file_[0-9a-z]{26}", url):
        return url
    match = _OWN_URL.search(url)
    return match.group(1) if match else None


def _reference(
    item: IncomingReference,
    blob_key: str,
    mime_type: str,
    width: int | None,
    height: int | None,
    duration: float | None,
) -> Reference:
    return Reference(
        role=item.role or f"reference_{item.kind}",
        kind=item.kind,
        url=item.url if len(item.url) <= 300 else item.url[:80] + "...",
        blob_key=blob_key,
        mime_type=mime_type,
        name=item.name,
        width=width,
        height=height,
        duration=duration,
    )


def _write_data_url(item: IncomingReference, path: Path, cap: int) -> None:
    header, _, payload = item.url.partition(",")
    field = f"{item.field}.url"
    if ";base64" not in header:
        raise ValidationFailed(f"{field}: data: URLs must be base64-encoded", field=field)
    if len(payload) > (cap * 4) // 3 + 4:
        raise ValidationFailed(
            f"{field}: the {item.kind} is larger than the {cap // (1024 * 1024)} MB allowed",
            field=field,
        )
    try:
        path.write_bytes(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        raise ValidationFailed(f"{field}: invalid base64", field=field) from None


def _cut_to_media(path: Path, info: media.MediaInfo) -> bool:
    """Truncates the file to the media's own bytes (``info.size``); True when it held more."""
    if path.stat().st_size <= info.size:
        return False
    with path.open("r+b") as f:
        f.truncate(info.size)
    return True


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _safe_name(name: str, extension: str) -> str:
    stem = (
        re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name or "upload").stem)[:80].strip("._") or "upload"
    )
    return f"{stem}.{extension}"
