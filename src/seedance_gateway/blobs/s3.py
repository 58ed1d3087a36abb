"""Blobs in an S3-compatible bucket (AWS S3, SeaweedFS, Garage, Ceph RGW, R2), through obstore.

Chosen by ``SEEDANCE_BLOBS=s3://BUCKET[/PREFIX]``; the endpoint and credentials come from the
standard ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
``AWS_REGION`` variables. Both directions stream: a file is uploaded from disk in 8 MB parts
(multipart above that size), and reads come back as a stream of chunks, so memory stays flat
whatever the blob's size. Path-style requests are used, which every S3 server accepts.
"""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

from seedance_gateway.blobs.keys import checked, checked_prefix

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Config

#: What obstore raises for a missing object (its own class, or the builtin it maps to).
MISSING = (NotFoundError, FileNotFoundError)
PART_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 256 * 1024
#: The AWS variables read, and the S3 setting each one fills.
ENV_KEYS = {
    "AWS_ENDPOINT_URL": "endpoint",
    "AWS_ACCESS_KEY_ID": "access_key_id",
    "AWS_SECRET_ACCESS_KEY": "secret_access_key",
    "AWS_SESSION_TOKEN": "token",
    "AWS_REGION": "region",
}


def parse_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` as ``("bucket", "some/prefix")``; ``ValueError`` otherwise."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"SEEDANCE_BLOBS must look like s3://BUCKET[/PREFIX], got {url!r}")
    return parts.netloc, parts.path.strip("/")


class S3BlobStore:
    """Each blob is the object ``PREFIX/<key>`` of one bucket."""

    def __init__(self, url: str, env: Mapping[str, str]) -> None:
        bucket, prefix = parse_url(url)
        config: S3Config = {"region": "us-east-1"}
        for variable, name in ENV_KEYS.items():
            if env.get(variable):
                config[name] = env[variable]  # type: ignore[literal-required]
        endpoint = env.get("AWS_ENDPOINT_URL", "")
        client: ClientConfig = {"allow_http": endpoint.startswith("http://")}
        self.url = url
        self.store = S3Store(bucket, prefix=prefix or None, config=config, client_options=client)

    async def put_file(self, key: str, source: Path) -> int:
        size = source.stat().st_size
        await obstore.put_async(
            self.store,
            checked(key),
            source,
            attributes=_attributes(key),
            chunk_size=PART_BYTES,
            max_concurrency=4,
        )
        return size

    async def put_bytes(self, key: str, data: bytes) -> int:
        await obstore.put_async(self.store, checked(key), data, attributes=_attributes(key))
        return len(data)

    async def read(self, key: str) -> bytes:
        try:
            result = await obstore.get_async(self.store, checked(key))
            return bytes(await result.bytes_async())
        except MISSING:
            raise KeyError(key) from None

    async def size(self, key: str) -> int | None:
        try:
            meta = await obstore.head_async(self.store, checked(key))
        except MISSING:
            return None
        return int(meta["size"])

    async def stream(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        """The bytes ``[start, end)`` as chunks (``KeyError`` before the first if missing)."""
        options: obstore.GetOptions = {}
        if start or end is not None:
            options["range"] = (start, end) if end is not None else {"offset": start}
        try:
            result = await obstore.get_async(self.store, checked(key), options=options)
        except MISSING:
            raise KeyError(key) from None
        return _chunks(result)

    async def download(self, key: str, target: Path) -> int:
        written = 0
        with target.open("wb") as sink:
            async for chunk in await self.stream(key):
                sink.write(chunk)
                written += len(chunk)
        return written

    async def copy(self, source_key: str, target_key: str) -> None:
        try:
            await obstore.copy_async(self.store, checked(source_key), checked(target_key))
        except MISSING:
            raise KeyError(source_key) from None

    async def delete(self, key: str) -> None:
        try:
            await obstore.delete_async(self.store, checked(key))
        except MISSING:
            return

    async def delete_prefix(self, prefix: str) -> int:
        removed = 0
        async for batch in obstore.list(self.store, checked_prefix(prefix), chunk_size=500):
            paths = [meta["path"] for meta in batch]
            if paths:
                await obstore.delete_async(self.store, paths)
                removed += len(paths)
        return removed

    async def direct_url(self, key: str, expires_in: timedelta) -> str | None:
        """A presigned GET URL of the object, valid for ``expires_in``."""
        return await obstore.sign_async(self.store, "GET", checked(key), expires_in)


async def _chunks(result: obstore.GetResult) -> AsyncIterator[bytes]:
    async for chunk in result.stream(min_chunk_size=CHUNK_BYTES):
        yield bytes(chunk)


def _attributes(key: str) -> obstore.Attributes:
    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    return {"Content-Type": media_type}
