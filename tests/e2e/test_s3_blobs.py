"""A server whose blobs live in S3 (SeaweedFS), end to end on both backends (issue 18).

Uploads, references, results, last frames and stills go to the bucket and come back through
the API: streamed with ``Range`` (the default), or as a ``307`` to a presigned object URL
(``SEEDANCE_BLOB_DOWNLOADS=redirect``). Nothing is written under the server's home.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from .conftest import Spec, no_unhandled_errors, shared_many
from .support import S3_ENV, create, download, finish, probe, rgb_frames, s3_blobs, small
from .test_files import png_bytes, poster, uploaded


@pytest.fixture(scope="module")
def s3_servers(
    shared_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    """``proxy``: blobs in S3, served through the API; ``redirect``: served by S3 itself."""
    specs = {
        "proxy": Spec({"blobs": s3_blobs("e2e")}),
        "redirect": Spec({"blobs": s3_blobs("e2e"), "blob_downloads": "redirect"}),
    }
    servers_of = shared_many(shared_backend, request, tmp_path_factory, *specs.values(), env=S3_ENV)
    for servers in servers_of:
        named = dict(zip(specs, servers, strict=True))
        with no_unhandled_errors(*named.values()):
            yield named


def test_an_upload_lives_in_the_bucket_and_comes_back_with_ranges(
    s3_servers: dict[str, Any],
) -> None:
    server = s3_servers["proxy"]
    data = png_bytes(poster(640, 360))
    with server.client() as client:
        made = uploaded(client, data, "image", "poster.png")
        whole = client.get(made["url"])
        part = client.get(made["url"], headers={"Range": "bytes=8-23"})
        past = client.get(made["url"], headers={"Range": f"bytes={len(data)}-"})
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "image/png"
    assert part.status_code == 206 and part.content == data[8:24]
    assert part.headers["content-range"] == f"bytes 8-23/{len(data)}"
    assert past.status_code == 416
    assert server.blob_size(f"files/{made['id']}/poster.png") == len(data)
    assert not (server.home / "blobs").exists(), "nothing is stored on the local disk"


def test_a_generation_reads_its_reference_from_and_writes_its_results_to_the_bucket(
    s3_servers: dict[str, Any],
) -> None:
    server = s3_servers["proxy"]
    image = poster(864, 480)
    with server.client() as client:
        reference = uploaded(client, png_bytes(image), "image", "first.png")
        body = small(
            return_last_frame="true",
            referenceMediaItems=[{"url": reference["url"], "kind": "image", "role": "first_frame"}],
        )
        task = finish(client, create(client, body)["id"])
    result = task["result"]
    video = download(result["primary_url"])
    assert (probe(video).width, probe(video).height) == (864, 480)
    first = rgb_frames(video)[0].astype(np.int16)
    assert np.abs(first - np.asarray(image.convert("RGB"), dtype=np.int16)).mean() < 12
    ranged = httpx.get(result["primary_url"], headers={"Range": "bytes=0-99"}, timeout=30)
    assert ranged.status_code == 206 and ranged.content == video[:100]
    frame = httpx.get(result["last_frame_url"], timeout=30)
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(frame.content)).size == (864, 480)
    task_id = task["id"]
    assert server.blob_size(f"results/{task_id}/video.mp4") == len(video)
    assert server.blob_size(f"inputs/{task_id}/0.png") is not None
    assert not (server.home / "blobs").exists()


def test_stills_are_made_from_the_bucket_and_kept_there(s3_servers: dict[str, Any]) -> None:
    server = s3_servers["proxy"]
    with server.client() as client:
        task = finish(client, create(client, small())["id"])
        video_id = client.get(f"/v1/videos/{task['id']}").json()["id"]
        thumbnail = client.get(f"/v1/videos/{video_id}/content", params={"variant": "thumbnail"})
    assert thumbnail.status_code == 200, thumbnail.text
    assert thumbnail.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(thumbnail.content)).format == "WEBP"
    assert server.blob_size(f"results/{task['id']}/thumbnail.webp") == len(thumbnail.content)


def test_redirect_mode_sends_the_client_to_the_object_store(s3_servers: dict[str, Any]) -> None:
    server = s3_servers["redirect"]
    data = png_bytes(poster(400, 300))
    with server.client() as client:
        made = uploaded(client, data, "image", "r.png")
        moved = client.get(made["url"])
        task = finish(client, create(client, small())["id"])
    assert moved.status_code == 307
    location = moved.headers["location"]
    assert location.startswith(S3_ENV["AWS_ENDPOINT_URL"]) and "X-Amz-Signature=" in location
    assert httpx.get(location, timeout=30).content == data
    signed = httpx.get(task["result"]["primary_url"], timeout=30)
    assert signed.status_code == 307
    followed = httpx.get(signed.headers["location"], headers={"Range": "bytes=4-11"}, timeout=30)
    video = httpx.get(signed.headers["location"], timeout=30).content
    assert probe(video).frames > 0
    assert followed.status_code == 206 and followed.content == video[4:12]


def test_another_account_cannot_reach_a_file_in_the_bucket(s3_servers: dict[str, Any]) -> None:
    """Isolation holds with blobs in S3: ``not_found``, with or without a range."""
    server = s3_servers["proxy"]
    stranger, _ = server.create_key(100)
    with server.client() as owner, server.client(stranger) as other:
        made = uploaded(owner, png_bytes(poster(400, 300)), "image", "mine.png")
        for response in (
            other.get(f"/api/v1/files/{made['id']}"),
            other.get(made["url"]),
            other.get(made["url"], headers={"Range": "bytes=0-9"}),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "not_found"
        assert owner.get(made["url"]).status_code == 200
