"""Results: deterministic renders, last frames, first-frame images, watermarks, signed URLs."""

from __future__ import annotations

import io
import time
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit

import httpx
import numpy as np
from PIL import Image, ImageDraw

from seedance_gateway.domain import ids

from .support import (
    create,
    download,
    error_message,
    finish,
    first_and_last_frame,
    mean_abs_diff,
    png_data_url,
    probe,
    render,
    small,
)


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _poster(width: int, height: int, flip: bool = False) -> Image.Image:
    """A bold, unmistakable picture: four colour blocks, a disc and a diagonal bar."""
    image = Image.new("RGB", (width, height), (20, 20, 20))
    draw = ImageDraw.Draw(image)
    colours = [(230, 40, 40), (40, 200, 60), (40, 80, 230), (240, 220, 40)]
    if flip:
        colours.reverse()
    half_w, half_h = width // 2, height // 2
    for index, colour in enumerate(colours):
        x, y = (index % 2) * half_w, (index // 2) * half_h
        draw.rectangle((x, y, x + half_w, y + half_h), fill=colour)
    radius = height // 4
    centre = (width // 3, height // 2) if not flip else (2 * width // 3, height // 2)
    draw.ellipse(
        (centre[0] - radius, centre[1] - radius, centre[0] + radius, centre[1] + radius),
        fill=(250, 250, 250),
    )
    draw.line((0, height, width, 0), fill=(0, 0, 0), width=max(8, height // 20))
    return image


def test_the_same_request_and_seed_give_byte_identical_videos_and_another_seed_differs(
    shared_server: Any,
) -> None:
    """Seed 1234 twice gives the same MP4 bytes; seed 1235 gives a different video."""
    with shared_server.client() as client:
        tasks = [create(client, small(seed=seed)) for seed in (1234, 1234, 1235)]
        videos = [download(finish(client, t["id"])["result"]["primary_url"]) for t in tasks]
    assert len({t["id"] for t in tasks}) == 3
    assert videos[0] == videos[1]
    assert videos[0] != videos[2]
    first, _ = first_and_last_frame(videos[0])
    other, _ = first_and_last_frame(videos[2])
    assert mean_abs_diff(first, other) > 1.0


def test_seed_minus_one_picks_a_new_random_seed_for_each_task(shared_server: Any) -> None:
    """Two identical requests with seed -1 produce different videos."""
    with shared_server.client() as client:
        tasks = [create(client, small(seed=-1)) for _ in range(2)]
        videos = [download(finish(client, t["id"])["result"]["primary_url"]) for t in tasks]
    assert videos[0] != videos[1]


def test_return_last_frame_gives_a_png_of_the_video_size_matching_its_last_frame(
    shared_server: Any,
) -> None:
    """``return_last_frame`` yields a PNG URL; the PNG is the video's size and its last frame."""
    with shared_server.client() as client:
        task, video = render(client, small(return_last_frame="true", aspect_ratio="4:3"))
    url = task["result"]["last_frame_url"]
    assert url and url != task["result"]["primary_url"]
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    png = Image.open(io.BytesIO(response.content))
    assert png.format == "PNG"
    info = probe(video)
    assert (info.width, info.height) == (736, 544)
    assert png.size == (info.width, info.height)
    first, last = first_and_last_frame(video)
    still = np.asarray(png.convert("RGB"))
    assert mean_abs_diff(still, last) < 4.0
    assert mean_abs_diff(still, last) < mean_abs_diff(still, first)


def test_signed_result_urls_serve_byte_ranges(shared_server: Any) -> None:
    """A ``Range`` request gets ``206`` with ``Content-Range`` and exactly those bytes."""
    with shared_server.client() as client:
        task, video = render(client, small())
    url = task["result"]["primary_url"]
    head = httpx.get(url, headers={"Range": "bytes=0-99"}, timeout=30)
    assert head.status_code == 206
    assert head.headers["content-range"] == f"bytes 0-99/{len(video)}"
    assert head.content == video[:100]
    middle = httpx.get(url, headers={"Range": "bytes=1000-1999"}, timeout=30)
    assert middle.status_code == 206
    assert middle.headers["content-range"] == f"bytes 1000-1999/{len(video)}"
    assert middle.content == video[1000:2000]
    tail = httpx.get(url, headers={"Range": "bytes=-10"}, timeout=30)
    assert tail.status_code == 206
    assert tail.content == video[-10:]
    assert httpx.get(url, timeout=30).headers["content-type"] == "video/mp4"


def test_results_are_served_inline_as_their_type_under_a_plain_name(shared_server: Any) -> None:
    """Signed URLs (video, last frame) and OpenAI's content route (video, thumbnail): ``inline``
    under a plain filename, the stored type. An id asked for with CR/LF around it still names
    the file by the canonical id, never by the path as sent."""
    with shared_server.client() as client:
        task, _ = render(client, small(return_last_frame="true"))
        video_id = ids.video_id(task["id"])
        hostile = quote(f"\t{video_id}\r\n", safe="")
        served = {
            "video": httpx.get(task["result"]["primary_url"], timeout=30),
            "last_frame": httpx.get(task["result"]["last_frame_url"], timeout=30),
            "openai": client.get(f"/v1/videos/{hostile}/content"),
            "openai-range": client.get(
                f"/v1/videos/{video_id}/content", headers={"Range": "bytes=0-9"}
            ),
            "thumbnail": client.get(
                f"/v1/videos/{video_id}/content", params={"variant": "thumbnail"}
            ),
        }
    expected = {
        "video": ("video/mp4", "video.mp4", 200),
        "last_frame": ("image/png", "last_frame.png", 200),
        "openai": ("video/mp4", f"{video_id}.mp4", 200),
        "openai-range": ("video/mp4", f"{video_id}.mp4", 206),
        "thumbnail": ("image/webp", f"{video_id}.webp", 200),
    }
    for case, response in served.items():
        media_type, name, status = expected[case]
        assert response.status_code == status, (case, response.text)
        assert response.headers["content-type"] == media_type, case
        assert response.headers["content-disposition"] == f'inline; filename="{name}"', case


def test_a_tampered_result_url_is_refused_with_404_in_the_error_envelope(
    shared_server: Any,
) -> None:
    """Changing the signature, the expiry or the path of a signed URL gives ``404 not_found``."""
    with shared_server.client() as client:
        task, _ = render(client, small())
    url = task["result"]["primary_url"]
    query = parse_qs(urlsplit(url).query)
    signature, expires = query["sig"][0], int(query["exp"][0])
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    tampered = [
        _with_query(url, sig=flipped),
        _with_query(url, exp=str(expires + 3600)),
        _with_query(url, exp=str(int(time.time()) - 10)),
        _with_query(url, sig=""),
        url.replace("video.mp4", "video.mp5"),
        url.split("?")[0],
    ]
    for bad in tampered:
        error_message(httpx.get(bad, timeout=30), 404, "not_found")


def test_a_result_url_stops_working_once_its_expiry_passes(server_factory: Any) -> None:
    """With a 2-second URL lifetime, a URL works at once and gives ``404`` after it expires."""
    server = server_factory(url_ttl_seconds="2")
    with server.client() as client:
        task = finish(client, create(client, small())["id"])
        url = task["result"]["primary_url"]
        assert httpx.get(url, timeout=30).status_code == 200
        expires = int(parse_qs(urlsplit(url).query)["exp"][0])
        time.sleep(max(0.0, expires + 1.2 - time.time()))
        error_message(httpx.get(url, timeout=30), 404, "not_found")
        fresh = client.get(f"/api/v1/generations/{task['id']}").json()["result"]["primary_url"]
    assert fresh != url
    assert httpx.get(fresh, timeout=30).status_code == 200


def test_a_first_frame_image_sent_as_a_data_url_opens_the_video(shared_server: Any) -> None:
    """A ``first_frame`` data: URL becomes frame 0: close to the image, far from another one."""
    image = _poster(1280, 720)
    reference = {"url": png_data_url(image), "kind": "image", "role": "first_frame"}
    body = small(aspect_ratio="16:9", referenceMediaItems=[reference])
    with shared_server.client() as client:
        _, video = render(client, body)
    info = probe(video)
    assert (info.width, info.height) == (864, 480)
    first, _ = first_and_last_frame(video)
    size = (info.width, info.height)
    expected = np.asarray(image.resize(size, Image.Resampling.LANCZOS))
    unrelated = np.asarray(_poster(1280, 720, flip=True).resize(size, Image.Resampling.LANCZOS))
    close, far = mean_abs_diff(first, expected), mean_abs_diff(first, unrelated)
    assert close < 12.0, close
    assert far > 5 * close, (close, far)


def test_watermark_true_marks_the_bottom_right_corner_of_every_frame(shared_server: Any) -> None:
    """With the same seed, ``watermark: "true"`` changes pixels in the bottom-right corner."""
    with shared_server.client() as client:
        plain = create(client, small(seed=99, watermark="false"))
        marked = create(client, small(seed=99, watermark="true"))
        plain_video = download(finish(client, plain["id"])["result"]["primary_url"])
        marked_video = download(finish(client, marked["id"])["result"]["primary_url"])
    assert plain_video != marked_video
    for plain_frame, marked_frame in zip(
        first_and_last_frame(plain_video), first_and_last_frame(marked_video), strict=True
    ):
        height, width, _ = plain_frame.shape
        change = np.abs(plain_frame.astype(np.int16) - marked_frame.astype(np.int16)).max(axis=2)
        rows, cols = np.nonzero(change > 24)
        in_corner = (rows >= height * 3 // 4) & (cols >= width * 3 // 4)
        assert len(rows) > 1000
        assert in_corner.mean() > 0.95
