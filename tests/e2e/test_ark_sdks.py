"""The official upstream SDKs, unchanged, against our ``/api/v3/contents/generations/tasks``.

Both the Volcengine (``volcenginesdkarkruntime``) and the BytePlus (``byteplussdkarkruntime``)
Python SDKs are driven as a user would: ``Ark(base_url=<server>/api/v3, api_key=...)`` and
``client.content_generation.tasks.create/get/list/delete``. Facts:
research/ark-official-api.md §1 (endpoints), §2 (body), §3 (task object), §5 (errors), §6 (SDKs).

Renders are 480p and 2-3 s. Tests that count credits or list tasks use a fresh key; refused
creates must charge nothing. The SDKs never retry here (``max_retries=0``).
"""

from __future__ import annotations

import calendar
import io
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import byteplussdkarkruntime
import httpx
import numpy as np
import pytest
import volcenginesdkarkruntime
from byteplussdkarkruntime import _exceptions as byteplus_errors
from PIL import Image, ImageOps
from volcenginesdkarkruntime import _exceptions as volcengine_errors

from seedance_gateway.domain import ids

from .support import (
    created_days_ago,
    credits,
    download,
    first_and_last_frame,
    frames_at,
    mean_abs_diff,
    png_data_url,
    probe,
)
from .test_files import poster

PROMPT = "A lighthouse on a cliff at sunset, waves rolling in"
TEXT = [{"type": "text", "text": PROMPT}]
TERMINAL = {"succeeded", "failed", "cancelled", "expired"}
#: ``cgt-<UTC yyyymmddHHMMSS>-<26 lowercase Crockford base32 chars>``.
ARK_ID = re.compile(r"^cgt-(\d{14})-[0-9a-hjkmnp-tv-z]{26}$")
#: A well-formed id that no task has.
UNKNOWN_ID = "cgt-20250101000000-0000000000000000000000000z"
DEFAULT_EXPIRES_AFTER = 172_800
#: 480p output sizes of the 1.0 series, by ratio (research §2.3).
SIZE_480P = {"16:9": (864, 480), "4:3": (736, 544), "1:1": (640, 640)}


@dataclass(frozen=True)
class Sdk:
    """One official SDK and the model names its platform spells."""

    name: str
    ark: type
    errors: ModuleType
    v10: str  #: Seedance 1.0 pro
    v10_fast: str  #: Seedance 1.0 pro fast
    v20: str  #: Seedance 2.0
    v25: str  #: Seedance 2.5

    @contextmanager
    def tasks(self, server: Any, key: str | None = None) -> Iterator[Any]:
        """``client.content_generation.tasks`` of a client on ``server`` (default: its key)."""
        client = self.ark(
            base_url=f"{server.url}/api/v3",
            api_key=server.key if key is None else key,
            max_retries=0,
        )
        try:
            yield client.content_generation.tasks
        finally:
            client.close()


SDKS = {
    "volcengine": Sdk(
        name="volcengine",
        ark=volcenginesdkarkruntime.Ark,
        errors=volcengine_errors,
        v10="doubao-seedance-1-0-pro-250528",
        v10_fast="doubao-seedance-1-0-pro-fast-251015",
        v20="doubao-seedance-2-0-260128",
        v25="doubao-seedance-2-5-260628",
    ),
    "byteplus": Sdk(
        name="byteplus",
        ark=byteplussdkarkruntime.Ark,
        errors=byteplus_errors,
        v10="seedance-1-0-pro-250528",
        v10_fast="seedance-1-0-pro-fast-251015",
        v20="dreamina-seedance-2-0-260128",
        v25="dreamina-seedance-2-5-260628",
    ),
}


@pytest.fixture(params=list(SDKS))
def sdk(request: pytest.FixtureRequest) -> Sdk:
    """Each official SDK in turn."""
    return SDKS[request.param]


@pytest.fixture(scope="module")
def refusal_key(queue_server: Any) -> str:
    """A key with 1 000 credits that only ever sends refused creates (so nothing may change)."""
    key, _ = queue_server.create_key(1000, name="refusals")
    return key


# --- helpers -----------------------------------------------------------------------------------


def wait(tasks: Any, task_id: str, timeout: float = 120) -> Any:
    """Polls ``get`` until the task is terminal; returns it."""
    deadline = time.monotonic() + timeout
    task = None
    while time.monotonic() < deadline:
        task = tasks.get(task_id=task_id)
        if task.status in TERMINAL:
            return task
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} stuck: {task}")


def succeed(tasks: Any, task_id: str) -> Any:
    """Waits for the task and asserts it succeeded."""
    task = wait(tasks, task_id)
    assert task.status == "succeeded", task
    assert task.error is None
    return task


def tokens(width: int, height: int, seconds: int) -> int:
    """``usage.completion_tokens`` of a video: pixels x (24 fps x seconds + 1) / 1024."""
    return width * height * (24 * seconds + 1) // 1024


def ids_of(page: Any) -> list[str]:
    return [item.id for item in page.items]


def covered(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """``image`` resized and centre-cropped to cover ``size``, as the renderer frames it."""
    return np.asarray(ImageOps.fit(image, size, method=Image.Resampling.LANCZOS))


def assert_resembles(frame: np.ndarray, image: Image.Image, other: Image.Image) -> None:
    """``frame`` is ``image``: close to it, and far closer to it than to ``other``."""
    size = (frame.shape[1], frame.shape[0])
    close = mean_abs_diff(frame, covered(image, size))
    far = mean_abs_diff(frame, covered(other, size))
    assert close < 12.0, close
    assert far > 5 * close, (close, far)


def refused(
    sdk: Sdk, error: type[Exception], call: Callable[[], Any], status: int, code: str, param: str
) -> Any:
    """Runs ``call``; asserts the SDK raised ``error`` with these status, code and param."""
    with pytest.raises(error) as caught:
        call()
    exc: Any = caught.value
    assert isinstance(exc, sdk.errors.ArkAPIStatusError)
    assert (exc.status_code, exc.code, exc.param) == (status, code, param), exc.body
    assert exc.message
    return exc


# --- create and get ----------------------------------------------------------------------------


def test_text_to_video_renders_and_the_task_object_follows_the_contract(
    sdk: Sdk, shared_server: Any
) -> None:
    """480p, 3 s: the id shape, every echoed field, usage tokens and the decoded video."""
    model = sdk.v10
    with sdk.tasks(shared_server) as tasks:
        before = time.time()
        created = tasks.create(model=model, content=TEXT, resolution="480p", duration=3)
        after = time.time()
        match = ARK_ID.match(created.id)
        assert match, created.id
        stamp = calendar.timegm(time.strptime(match.group(1), "%Y%m%d%H%M%S"))
        assert before - 2 <= stamp <= after + 1
        task = succeed(tasks, created.id)
    assert task.id == created.id
    assert task.model == model
    assert isinstance(task.created_at, int) and isinstance(task.updated_at, int)
    assert before - 2 <= task.created_at <= after + 1
    assert task.created_at <= task.updated_at <= time.time() + 1
    assert isinstance(task.seed, int) and 0 <= task.seed <= 2**32 - 1
    assert (task.resolution, task.ratio, task.framespersecond) == ("480p", "16:9", 24)
    assert task.duration == 3
    dumped = task.model_dump()
    assert dumped.get("frames") is None
    assert task.service_tier == "default"
    assert task.execution_expires_after == DEFAULT_EXPIRES_AFTER
    assert task.generate_audio is False
    assert task.draft is False
    expected = tokens(864, 480, 3)
    assert task.usage.completion_tokens == expected
    assert task.usage.total_tokens == expected
    assert task.content.last_frame_url is None
    info = probe(download(task.content.video_url))
    assert (info.container, info.codec) == ("mov,mp4,m4a,3gp,3g2,mj2", "h264")
    assert (info.width, info.height) == (864, 480)
    assert info.fps == 24
    assert info.frames == 72


def test_a_first_frame_image_with_adaptive_ratio_opens_the_video(
    sdk: Sdk, shared_server: Any
) -> None:
    """A ``data:`` PNG as ``first_frame`` and ``ratio: adaptive``: the nearest concrete ratio is
    echoed (700x520 is nearest 4:3) and frame 0 is the image."""
    image = poster(700, 520)
    content = [
        *TEXT,
        {"type": "image_url", "image_url": {"url": png_data_url(image)}, "role": "first_frame"},
    ]
    with sdk.tasks(shared_server) as tasks:
        created = tasks.create(
            model=sdk.v10, content=content, resolution="480p", duration=2, ratio="adaptive"
        )
        task = succeed(tasks, created.id)
    assert task.ratio == "4:3"
    assert task.usage.total_tokens == tokens(736, 544, 2)
    video = download(task.content.video_url)
    info = probe(video)
    assert (info.width, info.height) == SIZE_480P["4:3"]
    assert info.frames == 48
    first, _ = first_and_last_frame(video)
    assert_resembles(first, image, poster(700, 520, flip=True))


def test_first_and_last_frame_images_open_and_close_the_video(sdk: Sdk, shared_server: Any) -> None:
    """Two PNGs with roles ``first_frame`` and ``last_frame``: the video runs from one to the
    other."""
    opening, closing = poster(864, 480), poster(864, 480, flip=True)
    content = [
        *TEXT,
        {"type": "image_url", "image_url": {"url": png_data_url(opening)}, "role": "first_frame"},
        {"type": "image_url", "image_url": {"url": png_data_url(closing)}, "role": "last_frame"},
    ]
    with sdk.tasks(shared_server) as tasks:
        created = tasks.create(model=sdk.v10, content=content, resolution="480p", duration=2)
        task = succeed(tasks, created.id)
    assert task.ratio == "16:9"
    video = download(task.content.video_url)
    assert (probe(video).width, probe(video).height) == SIZE_480P["16:9"]
    first, last = first_and_last_frame(video)
    assert_resembles(first, opening, closing)
    assert_resembles(last, closing, opening)


def test_return_last_frame_gives_a_png_of_the_video_size(sdk: Sdk, shared_server: Any) -> None:
    """``return_last_frame``: ``content.last_frame_url`` is a PNG of the video's size, showing
    its last frame."""
    with sdk.tasks(shared_server) as tasks:
        created = tasks.create(
            model=sdk.v10,
            content=TEXT,
            resolution="480p",
            ratio="1:1",
            duration=2,
            return_last_frame=True,
        )
        task = succeed(tasks, created.id)
    url = task.content.last_frame_url
    assert url and url != task.content.video_url
    response = httpx.get(url, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    png = Image.open(io.BytesIO(response.content))
    assert png.format == "PNG"
    video = download(task.content.video_url)
    info = probe(video)
    assert (info.width, info.height) == SIZE_480P["1:1"]
    assert png.size == (info.width, info.height)
    first, last = first_and_last_frame(video)
    still = np.asarray(png.convert("RGB"))
    assert mean_abs_diff(still, last) < 4.0
    assert mean_abs_diff(still, last) < mean_abs_diff(still, first)


def test_text_commands_apply_weakly_and_body_fields_win(sdk: Sdk, queue_server: Any) -> None:
    """``--rs 720p --dur 4 --rt 1:1 --seed 42`` in the text: body ``resolution`` wins, the other
    commands apply; an impossible command value (``--dur 99``) is ignored, not refused."""
    text = f"{PROMPT} --rs 720p --dur 4 --rt 1:1 --seed 42"
    with sdk.tasks(queue_server) as tasks:
        task = tasks.get(
            task_id=tasks.create(
                model=sdk.v10, content=[{"type": "text", "text": text}], resolution="480p"
            ).id
        )
        assert (task.status, task.resolution, task.duration) == ("queued", "480p", 4)
        assert (task.ratio, task.seed) == ("1:1", 42)
        assert task.content is None and task.usage is None
        weak = tasks.get(
            task_id=tasks.create(
                model=sdk.v10, content=[{"type": "text", "text": f"{PROMPT} --dur 99"}]
            ).id
        )
        assert weak.duration == 5


# --- list --------------------------------------------------------------------------------------


def test_list_filters_by_status(sdk: Sdk, queue_server: Any) -> None:
    """``filter.status``: a cancelled and a queued task are told apart; newest first."""
    key, _ = queue_server.create_key(1000)
    with sdk.tasks(queue_server, key) as tasks:
        old = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        new = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        tasks.delete(task_id=old)
        everything = tasks.list()
        assert (everything.total, ids_of(everything)) == (2, [new, old])
        queued = tasks.list(status="queued")
        assert (queued.total, ids_of(queued)) == (1, [new])
        cancelled = tasks.list(status="cancelled")
        assert (cancelled.total, ids_of(cancelled)) == (1, [old])
        assert cancelled.items[0].status == "cancelled"
        none = tasks.list(status="succeeded")
        assert (none.total, none.items) == (0, [])
        refused(
            sdk,
            sdk.errors.ArkBadRequestError,
            lambda: tasks.list(status="done"),
            400,
            "InvalidParameter",
            "filter.status",
        )


def test_list_filters_by_task_ids(sdk: Sdk, queue_server: Any) -> None:
    """Repeated ``filter.task_ids``: exactly the tasks named, newest first."""
    key, _ = queue_server.create_key(1000)
    with sdk.tasks(queue_server, key) as tasks:
        made = [
            tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
            for _ in range(3)
        ]
        two = tasks.list(task_ids=[made[0], made[2]])
        assert (two.total, ids_of(two)) == (2, [made[2], made[0]])
        one = tasks.list(task_ids=made[1])
        assert (one.total, ids_of(one)) == (1, [made[1]])
        unknown = tasks.list(task_ids=[UNKNOWN_ID])
        assert (unknown.total, unknown.items) == (0, [])


def test_list_filters_by_model_in_any_spelling(sdk: Sdk, queue_server: Any) -> None:
    """``filter.model`` matches a task whatever alias either side used; the item keeps the name
    the client sent."""
    key, _ = queue_server.create_key(1000)
    other_platform = next(s for s in SDKS.values() if s is not sdk)
    with sdk.tasks(queue_server, key) as tasks:
        pro = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        fast = tasks.create(model=sdk.v10_fast, content=TEXT, resolution="480p", duration=2).id
        for name in (sdk.v10, other_platform.v10, "seedance-1-0-pro"):
            found = tasks.list(model=name)
            assert (found.total, ids_of(found)) == (1, [pro]), name
            assert found.items[0].model == sdk.v10
        found = tasks.list(model=other_platform.v10_fast)
        assert (found.total, ids_of(found)) == (1, [fast])
        nothing = tasks.list(model=sdk.v20)
        assert (nothing.total, nothing.items) == (0, [])


def test_flex_tasks_are_listed_only_under_service_tier_flex(sdk: Sdk, queue_server: Any) -> None:
    """An unfiltered list omits flex tasks; ``filter.service_tier=flex`` shows only them."""
    key, _ = queue_server.create_key(1000)
    with sdk.tasks(queue_server, key) as tasks:
        default = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        flex = tasks.create(
            model=sdk.v10, content=TEXT, resolution="480p", duration=2, service_tier="flex"
        ).id
        assert tasks.get(task_id=flex).service_tier == "flex"
        assert tasks.get(task_id=default).service_tier == "default"
        plain = tasks.list()
        assert (plain.total, ids_of(plain)) == (1, [default])
        explicit = tasks.list(service_tier="default")
        assert (explicit.total, ids_of(explicit)) == (1, [default])
        flexible = tasks.list(service_tier="flex")
        assert (flexible.total, ids_of(flexible)) == (1, [flex])
        assert flexible.items[0].service_tier == "flex"


def test_list_pages_by_page_num_and_page_size(sdk: Sdk, queue_server: Any) -> None:
    """Five tasks in pages of two: 2 + 2 + 1, every page reports ``total`` 5, no task twice;
    ``page_size`` outside [1, 500] is a 400."""
    key, _ = queue_server.create_key(1000)
    with sdk.tasks(queue_server, key) as tasks:
        made = [
            tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
            for _ in range(5)
        ]
        pages = [tasks.list(page_num=n, page_size=2) for n in (1, 2, 3, 4)]
        assert [p.total for p in pages] == [5, 5, 5, 5]
        assert [len(p.items) for p in pages] == [2, 2, 1, 0]
        assert [i for p in pages for i in ids_of(p)] == made[::-1]
        whole = tasks.list(page_num=1, page_size=500)
        assert ids_of(whole) == made[::-1]
        refused(
            sdk,
            sdk.errors.ArkBadRequestError,
            lambda: tasks.list(page_size=501),
            400,
            "InvalidParameter",
            "page_size",
        )


def test_the_list_holds_the_last_seven_days(sdk: Sdk, queue_server: Any) -> None:
    """As upstream, a task created more than 7 days ago leaves the list (and its ``total``) but
    is still there by id."""
    key, _ = queue_server.create_key(1000)
    with sdk.tasks(queue_server, key) as tasks:
        old, new = (
            tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
            for _ in range(2)
        )
        created_days_ago(queue_server, ids.task_id_of(old), 8)
        listed = tasks.list(page_size=10)
        assert (listed.total, ids_of(listed)) == (1, [new])
        assert tasks.list(task_ids=[old]).total == 0
        assert tasks.get(task_id=old).id == old


# --- delete ------------------------------------------------------------------------------------


def test_deleting_a_queued_task_cancels_it_and_releases_its_credits(
    sdk: Sdk, queue_server: Any
) -> None:
    """Queued -> ``cancelled`` (GET still finds it) and the balance is back where it started."""
    key, _ = queue_server.create_key(1000)
    with queue_server.client(key) as http, sdk.tasks(queue_server, key) as tasks:
        task_id = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        assert credits(http) < 1000
        tasks.delete(task_id=task_id)
        task = tasks.get(task_id=task_id)
        assert task.status == "cancelled"
        assert credits(http) == 1000


def test_deleting_a_cancelled_task_is_refused(sdk: Sdk, queue_server: Any) -> None:
    """A cancelled task cannot be cancelled or deleted again: 403 ``OperationDenied.InvalidState``
    and the task stays as it was."""
    with sdk.tasks(queue_server) as tasks:
        task_id = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        tasks.delete(task_id=task_id)
        exc = refused(
            sdk,
            sdk.errors.ArkPermissionDeniedError,
            lambda: tasks.delete(task_id=task_id),
            403,
            "OperationDenied.InvalidState",
            "",
        )
        assert exc.type == "Forbidden"
        assert tasks.get(task_id=task_id).status == "cancelled"


def test_deleting_a_running_task_is_refused_and_it_still_finishes(
    sdk: Sdk, shared_server: Any
) -> None:
    """A running task: 403 ``OperationDenied.InvalidState``; it renders on and succeeds.

    12 s at 480p keeps the task running for a couple of seconds, so the delete lands while it
    runs."""
    with sdk.tasks(shared_server) as tasks:
        task_id = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=12).id
        deadline = time.monotonic() + 60
        while (status := tasks.get(task_id=task_id).status) == "queued":
            assert time.monotonic() < deadline, "the task never started"
            time.sleep(0.02)
        assert status == "running", status
        refused(
            sdk,
            sdk.errors.ArkPermissionDeniedError,
            lambda: tasks.delete(task_id=task_id),
            403,
            "OperationDenied.InvalidState",
            "",
        )
        assert succeed(tasks, task_id).duration == 12


def test_deleting_a_succeeded_task_removes_it(sdk: Sdk, shared_server: Any) -> None:
    """Succeeded -> deleted: GET is 404 ``NotFound``, the list no longer has it, a second
    delete is 404 too."""
    with sdk.tasks(shared_server) as tasks:
        task_id = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        succeed(tasks, task_id)
        tasks.delete(task_id=task_id)
        exc = refused(
            sdk,
            sdk.errors.ArkNotFoundError,
            lambda: tasks.get(task_id=task_id),
            404,
            "NotFound",
            "",
        )
        assert exc.type == "NotFound"
        gone = tasks.list(task_ids=[task_id])
        assert (gone.total, gone.items) == (0, [])
        refused(
            sdk,
            sdk.errors.ArkNotFoundError,
            lambda: tasks.delete(task_id=task_id),
            404,
            "NotFound",
            "",
        )


def test_priority_and_safety_identifier_round_trip_on_2_5(sdk: Sdk, shared_server: Any) -> None:
    """Both are echoed on get and on list, as sent (BytePlus' create takes them as
    ``extra_body``)."""
    fields = {"priority": 7, "safety_identifier": "5f2b9c-user-hash"}
    with sdk.tasks(shared_server) as tasks:
        created = tasks.create(
            model=sdk.v25, content=TEXT, resolution="480p", duration=4, extra_body=fields
        )
        task = succeed(tasks, created.id)
        listed = tasks.list(task_ids=[created.id]).items[0]
    for seen in (task, listed):
        dumped = seen.model_dump()
        assert (dumped["priority"], dumped["safety_identifier"]) == (7, "5f2b9c-user-hash")


def test_web_search_on_2_0_reports_its_tool_usage_and_no_revised_prompt(
    sdk: Sdk, shared_server: Any
) -> None:
    """``tools: [{"type": "web_search"}]`` is taken by 2.0: the task's ``usage.tool_usage``
    says how many searches were made (none: the preview renderer searches nothing), and there
    is no ``revised_prompt`` (only an upstream that rewrote the prompt sends one)."""
    with sdk.tasks(shared_server) as tasks:
        created = tasks.create(
            model=sdk.v20,
            content=TEXT,
            resolution="480p",
            duration=4,
            extra_body={"tools": [{"type": "web_search"}]},  # BytePlus' create lacks ``tools``
        )
        task = succeed(tasks, created.id)
        plain = succeed(
            tasks, tasks.create(model=sdk.v20, content=TEXT, resolution="480p", duration=4).id
        )
    assert task.usage.model_dump()["tool_usage"] == {"web_search": 0}
    assert task.model_dump().get("revised_prompt") is None
    assert plain.usage.model_dump().get("tool_usage") is None


# --- Seedance 2.5 ------------------------------------------------------------------------------


def _frame_item(image: Image.Image, role: str) -> dict[str, Any]:
    """A ``data:`` PNG content item in ``role``."""
    return {"type": "image_url", "image_url": {"url": png_data_url(image)}, "role": role}


def test_2_5_with_duration_minus_1_renders_the_ten_seconds_it_echoes(
    sdk: Sdk, shared_server: Any
) -> None:
    """``duration: -1`` (2.5's default: the model decides) is rendered here as 10 s, and the task
    echoes what was made: ``duration`` 10 and its tokens."""
    with sdk.tasks(shared_server) as tasks:
        created = tasks.create(model=sdk.v25, content=TEXT, resolution="480p", duration=-1)
        task = succeed(tasks, created.id)
    assert task.model == sdk.v25
    assert (task.resolution, task.ratio, task.duration) == ("480p", "16:9", 10)
    assert task.generate_audio is True  # 2.5's default, like 2.0's
    assert task.usage.completion_tokens == tokens(864, 496, 10)
    info = probe(download(task.content.video_url))
    assert (info.width, info.height, info.fps, info.frames) == (864, 496, 24, 240)


def test_a_30_s_2_5_task_with_reference_images_by_role_renders_30_s(
    sdk: Sdk, shared_server: Any
) -> None:
    """2.5 goes to 30 s; two reference images (``role: reference_image``) guide it."""
    content = [
        *TEXT,
        _frame_item(poster(640, 360), "reference_image"),
        _frame_item(poster(640, 360, flip=True), "reference_image"),
    ]
    with sdk.tasks(shared_server) as tasks:
        created = tasks.create(model=sdk.v25, content=content, resolution="480p", duration=30)
        task = succeed(tasks, created.id)
    assert (task.duration, task.ratio) == (30, "16:9")
    info = probe(download(task.content.video_url))
    assert (info.width, info.height, info.frames) == (864, 496, 720)


def test_a_2_5_first_frame_follows_the_frames_shape(sdk: Sdk, shared_server: Any) -> None:
    """On 2.5 a frames task is always ``adaptive`` (left out here): the frame's shape wins."""
    image = poster(700, 520)
    content = [*TEXT, _frame_item(image, "first_frame")]
    with sdk.tasks(shared_server) as tasks:
        created = tasks.create(model=sdk.v25, content=content, resolution="480p", duration=4)
        task = succeed(tasks, created.id)
    assert task.ratio == "4:3"
    video = download(task.content.video_url)
    assert (probe(video).width, probe(video).height, probe(video).frames) == (752, 560, 96)
    first, _ = first_and_last_frame(video)
    assert_resembles(first, image, poster(700, 520, flip=True))


def _draft_item(task_id: str) -> dict[str, Any]:
    return {"type": "draft_task", "draft_task": {"id": task_id}}


def test_a_2_5_draft_then_its_final_continues_the_scene_at_720p(
    sdk: Sdk, shared_server: Any
) -> None:
    """A 480p ``draft: true`` task, then a final naming it by a lone ``draft_task`` item: the
    final keeps the draft's seed and length, is 720p, echoes ``draft_task_id``, and its frames,
    scaled down, are the draft's (far closer than another seed's video of the same prompt)."""
    with sdk.tasks(shared_server) as tasks:
        draft = succeed(
            tasks,
            tasks.create(model=sdk.v25, content=TEXT, resolution="480p", duration=4, draft=True).id,
        )
        final = tasks.create(model=sdk.v25, content=[_draft_item(draft.id)], resolution="720p")
        other = tasks.create(
            model=sdk.v25, content=TEXT, resolution="480p", duration=4, seed=draft.seed + 1
        )
        final, other = succeed(tasks, final.id), succeed(tasks, other.id)
    assert draft.draft is True and final.draft is False
    assert final.draft_task_id == draft.id
    assert (final.seed, final.duration, final.ratio) == (draft.seed, 4, draft.ratio)
    assert final.resolution == "720p"
    made = download(final.content.video_url)
    assert (probe(made).width, probe(made).height, probe(made).frames) == (1280, 720, 96)
    size = (864, 496)
    ours = frames_at(made, size)
    near = [
        mean_abs_diff(a, b)
        for a, b in zip(ours, frames_at(download(draft.content.video_url), size), strict=True)
    ]
    far = [
        mean_abs_diff(a, b)
        for a, b in zip(ours, frames_at(download(other.content.video_url), size), strict=True)
    ]
    assert max(near) < 6.0, near
    assert min(far) > 3 * max(near), (near, far)


def test_a_final_of_a_draft_that_is_not_the_callers_or_not_done_is_refused(
    sdk: Sdk, queue_server: Any
) -> None:
    """Another account's draft is unknown here; a queued draft is not ready: both 400
    ``InvalidParameter`` on ``content``, nothing charged."""
    mine, _ = queue_server.create_key(1000)
    theirs, _ = queue_server.create_key(1000)
    with sdk.tasks(queue_server, mine) as tasks:
        queued = tasks.create(model=sdk.v25, content=TEXT, resolution="480p", draft=True)

    def refused_final(key: str) -> str:
        with sdk.tasks(queue_server, key) as tasks:
            final = [_draft_item(queued.id)]
            exc = refused(
                sdk,
                sdk.errors.ArkBadRequestError,
                lambda: tasks.create(model=sdk.v25, content=final),
                400,
                "InvalidParameter",
                "content",
            )
        return str(exc.message)

    with queue_server.client(mine) as http:
        held = credits(http)
        assert f"draft task {queued.id} is queued; make the final once" in refused_final(mine)
        assert credits(http) == held
    assert f"there is no task {queued.id} in your account" in refused_final(theirs)


# --- errors ------------------------------------------------------------------------------------

#: (case, create fields for an SDK, HTTP status, code, param).
BAD_CREATES: list[tuple[str, Callable[[Sdk], dict[str, Any]], int, str, str]] = [
    ("no content", lambda s: {"model": s.v10, "content": []}, 400, "MissingParameter", "content"),
    (
        "frames on 2.0",
        lambda s: {"model": s.v20, "content": TEXT, "frames": 29},
        400,
        "InvalidParameter.UnsupportedParameter",
        "frames",
    ),
    (
        "service_tier on 2.0",
        lambda s: {"model": s.v20, "content": TEXT, "service_tier": "flex"},
        400,
        "InvalidParameter.UnsupportedParameter",
        "service_tier",
    ),
    (
        "camera_fixed on 2.0",
        lambda s: {"model": s.v20, "content": TEXT, "camera_fixed": True},
        400,
        "InvalidParameter.UnsupportedParameter",
        "camera_fixed",
    ),
    (
        "draft on 1.0",
        lambda s: {"model": s.v10, "content": TEXT, "draft": True},
        400,
        "InvalidParameter.UnsupportedParameter",
        "draft",
    ),
    (
        "a concrete ratio for a 2.5 first frame",
        lambda s: {
            "model": s.v25,
            "content": [*TEXT, _frame_item(poster(640, 360), "first_frame")],
            "ratio": "16:9",
        },
        400,
        "InvalidParameter",
        "ratio",
    ),
    (
        "31 s on 2.5",
        lambda s: {"model": s.v25, "content": TEXT, "duration": 31},
        400,
        "InvalidParameter",
        "duration",
    ),
    (
        "resolution 999p",
        lambda s: {"model": s.v10, "content": TEXT, "resolution": "999p"},
        400,
        "InvalidParameter",
        "resolution",
    ),
    (
        "unknown model",
        lambda s: {"model": "seedance-9-9-ultra-990101", "content": TEXT},
        404,
        "InvalidEndpointOrModel.NotFound",
        "model",
    ),
]


@pytest.mark.parametrize(
    ("fields", "status", "code", "param"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_CREATES],
)
def test_a_refused_create_raises_the_typed_error_and_charges_nothing(
    sdk: Sdk,
    queue_server: Any,
    refusal_key: str,
    fields: Callable[[Sdk], dict[str, Any]],
    status: int,
    code: str,
    param: str,
) -> None:
    """400 ``MissingParameter`` / ``InvalidParameter[.UnsupportedParameter]`` and 404
    ``InvalidEndpointOrModel.NotFound``, each naming the field; no task, no credits taken."""
    error = {400: sdk.errors.ArkBadRequestError, 404: sdk.errors.ArkNotFoundError}[status]
    kind = {400: "BadRequest", 404: "NotFound"}[status]
    with queue_server.client(refusal_key) as http, sdk.tasks(queue_server, refusal_key) as tasks:
        exc = refused(sdk, error, lambda: tasks.create(**fields(sdk)), status, code, param)
        assert exc.type == kind
        assert credits(http) == 1000
        assert tasks.list().total == 0


def test_a_bad_api_key_is_401(sdk: Sdk, queue_server: Any) -> None:
    """A key the server does not know: 401 ``AuthenticationError`` on create, get and list."""
    with sdk.tasks(queue_server, "sk-not-a-real-key") as tasks:
        calls: list[Callable[[], Any]] = [
            lambda: tasks.create(model=sdk.v10, content=TEXT),
            lambda: tasks.get(task_id=UNKNOWN_ID),
            lambda: tasks.list(),
        ]
        for call in calls:
            exc = refused(
                sdk, sdk.errors.ArkAuthenticationError, call, 401, "AuthenticationError", ""
            )
            assert exc.type == "Unauthorized"


def test_not_enough_credits_is_403_account_overdue(sdk: Sdk, queue_server: Any) -> None:
    """A key with 1 credit: 403 ``AccountOverdueError``, the credit kept and no task made."""
    key, _ = queue_server.create_key(1)
    with queue_server.client(key) as http, sdk.tasks(queue_server, key) as tasks:
        exc = refused(
            sdk,
            sdk.errors.ArkPermissionDeniedError,
            lambda: tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2),
            403,
            "AccountOverdueError",
            "",
        )
        assert exc.type == "Forbidden"
        assert credits(http) == 1
        assert tasks.list().total == 0


def test_unknown_and_foreign_tasks_are_404(sdk: Sdk, queue_server: Any) -> None:
    """An id no task has, a malformed id, and another account's task: 404 ``NotFound`` for get
    and delete, and the other account's task is left alone."""
    key, _ = queue_server.create_key(1000)
    with sdk.tasks(queue_server) as owner, sdk.tasks(queue_server, key) as stranger:
        theirs = owner.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        for task_id in (UNKNOWN_ID, "nope", theirs):
            for call in (stranger.get, stranger.delete):
                refused(
                    sdk,
                    sdk.errors.ArkNotFoundError,
                    lambda call=call, task_id=task_id: call(task_id=task_id),
                    404,
                    "NotFound",
                    "",
                )
        assert owner.get(task_id=theirs).status == "queued"


def test_too_many_tasks_in_flight_is_429_quota_exceeded(sdk: Sdk, server_factory: Any) -> None:
    """``max_in_flight=1``: a second queued task is 429 ``QuotaExceeded``; cancelling the first
    frees the slot."""
    server = server_factory(max_in_flight="1", start=False)
    server.start("--no-worker")
    with sdk.tasks(server) as tasks:
        first = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        exc = refused(
            sdk,
            sdk.errors.ArkRateLimitError,
            lambda: tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2),
            429,
            "QuotaExceeded",
            "",
        )
        assert exc.type == "TooManyRequests"
        assert tasks.list().total == 1
        tasks.delete(task_id=first)
        again = tasks.create(model=sdk.v10, content=TEXT, resolution="480p", duration=2).id
        assert tasks.get(task_id=again).status == "queued"


# --- pricing -----------------------------------------------------------------------------------


def test_flex_reserves_half_the_credits_of_default(sdk: Sdk, queue_server: Any) -> None:
    """The same request on the flex tier reserves half of what the default tier does."""
    spent = {}
    for tier in ("default", "flex"):
        key, _ = queue_server.create_key(1000)
        with queue_server.client(key) as http, sdk.tasks(queue_server, key) as tasks:
            tasks.create(
                model=sdk.v10, content=TEXT, resolution="480p", duration=4, service_tier=tier
            )
            spent[tier] = 1000 - credits(http)
    assert spent["flex"] > 0
    assert spent["default"] == 2 * spent["flex"], spent
