"""The upstream's wire format (provider ``ark``): create bodies, task objects, statuses,
and how each answer to a create is classified (a paid create is never resent blindly).

The HTTP answers come from an ``httpx.MockTransport`` speaking the upstream's real format
(research/ark-official-api.md §1, §5): the paid upstream is the one service we cannot reach.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from seedance_gateway import catalog as catalog_module
from seedance_gateway.domain.requests import Reference, normalize
from seedance_gateway.domain.tasks import Status
from seedance_gateway.providers.ark import client as ark_client
from seedance_gateway.providers.ark import wire

CATALOG = catalog_module.load()


def request(model: str, **fields: Any) -> Any:
    spec = CATALOG.find(model)
    assert spec is not None
    references = fields.pop("references", ())
    return spec, normalize(spec, prompt="a cat", fields=fields, references=references)


def body(model: str, callback: str | None = None, **fields: Any) -> dict[str, Any]:
    spec, req = request(model, **fields)
    return wire.create_body(
        req,
        spec,
        upstream_model=spec.upstream_ids["volcengine"],
        media_urls={i: f"https://media/{i}" for i in range(len(req.references))},
        expires_after=7200,
        callback_url=callback,
    )


def test_a_text_task_sends_the_upstream_model_and_the_concrete_fields() -> None:
    sent = body("seedance-1-0-pro", seed=42, resolution="480p", duration=3)
    assert sent["model"] == "doubao-seedance-1-0-pro-250528"
    assert sent["content"] == [{"type": "text", "text": "a cat"}]
    assert (sent["resolution"], sent["duration"], sent["seed"]) == ("480p", 3, 42)
    assert sent["execution_expires_after"] == 7200
    assert "callback_url" not in sent and "frames" not in sent


def test_fields_a_model_does_not_take_are_left_out() -> None:
    """The upstream refuses a field that does not apply (strict field policy, research §2.1)."""
    v10 = body("seedance-1-0-pro")
    assert "generate_audio" not in v10  # 1.0 makes no audio
    assert "priority" not in v10 and "draft" not in v10 and "service_tier" not in v10
    v15 = body("seedance-1-5-pro", generate_audio=False)
    assert v15["generate_audio"] is False


def test_frames_replace_duration_when_requested_by_frames() -> None:
    sent = body("seedance-1-0-pro", frames=57)
    assert sent["frames"] == 57
    assert "duration" not in sent


def test_references_keep_their_roles_and_the_callback_is_sent() -> None:
    refs = (
        Reference(role="first_frame", kind="image", url="x", width=640, height=640),
        Reference(role="last_frame", kind="image", url="y", width=640, height=640),
    )
    sent = body("seedance-1-0-pro", callback="https://a/upstream/ark/t/s", references=refs)
    assert sent["content"][1:] == [
        {"type": "image_url", "image_url": {"url": "https://media/0"}, "role": "first_frame"},
        {"type": "image_url", "image_url": {"url": "https://media/1"}, "role": "last_frame"},
    ]
    assert sent["callback_url"] == "https://a/upstream/ark/t/s"


def test_the_deadline_is_kept_within_the_upstream_range() -> None:
    spec, req = request("seedance-1-0-pro")
    kwargs: dict[str, Any] = {"upstream_model": "m", "media_urls": {}, "callback_url": None}
    assert (
        wire.create_body(req, spec, expires_after=10, **kwargs)["execution_expires_after"] == 3600
    )
    late = wire.create_body(req, spec, expires_after=10**7, **kwargs)
    assert late["execution_expires_after"] == 259200


def test_a_final_names_its_draft_alone_and_leaves_the_scene_to_it() -> None:
    """A draft's final: one ``draft_task`` item and the final's own fields; no prompt, media,
    ratio, length, seed or audio (the upstream takes them from the draft)."""
    spec, req = request("seedance-2-5", resolution="1080p", seed=9, duration=6)
    sent = wire.create_body(
        req,
        spec,
        upstream_model="doubao-seedance-2-5-260628",
        media_urls={},
        expires_after=7200,
        callback_url=None,
        draft_upstream_id="cgt-20261206-draft",
    )
    assert sent["content"] == [{"type": "draft_task", "draft_task": {"id": "cgt-20261206-draft"}}]
    assert sent["resolution"] == "1080p"
    assert not {"ratio", "duration", "frames", "seed", "generate_audio", "camera_fixed"} & set(sent)
    plain = body("seedance-2-5", resolution="1080p", seed=9, duration=6)
    assert (plain["seed"], plain["duration"], plain["ratio"]) == (9, 6, "adaptive")


def test_the_revised_prompt_and_tool_usage_are_read_from_a_task() -> None:
    task = wire.parse_task(
        {
            "id": "cgt-3",
            "status": "succeeded",
            "revised_prompt": "a red kite, wide shot",
            "usage": {"completion_tokens": 5, "tool_usage": {"web_search": "2", "x": "n/a"}},
        }
    )
    assert task is not None
    assert (task.revised_prompt, task.tool_usage) == ("a red kite, wide shot", {"web_search": 2})
    bare = wire.parse_task({"id": "cgt-4", "status": "succeeded", "usage": {"tool_usage": {}}})
    assert bare is not None and (bare.revised_prompt, bare.tool_usage) == (None, None)


@pytest.mark.parametrize(
    ("status", "ours"),
    [
        ("queued", Status.QUEUED),
        ("running", Status.RUNNING),
        ("succeeded", Status.SUCCEEDED),
        ("failed", Status.FAILED),
        ("cancelled", Status.CANCELLED),
        ("expired", Status.EXPIRED),
        ("Succeeded", Status.SUCCEEDED),
        ("unknown", None),
        ("processing", None),
    ],
)
def test_every_documented_status_is_mapped_and_others_are_not(
    status: str, ours: Status | None
) -> None:
    task = wire.parse_task({"id": "cgt-1", "status": status})
    assert task is not None
    assert task.mapped is ours


def test_a_task_object_is_read_with_its_error_and_content() -> None:
    task = wire.parse_task(
        {
            "id": "cgt-2",
            "status": "failed",
            "created_at": 1700000000,
            "seed": "7",
            "error": {"code": "OutputVideoSensitiveContentDetected", "message": "no"},
            "content": {"video_url": "https://v", "last_frame_url": "https://f"},
        }
    )
    assert task is not None
    assert (task.created_at, task.seed) == (1700000000, 7)
    assert task.error_code == "OutputVideoSensitiveContentDetected"
    assert (task.video_url, task.last_frame_url) == ("https://v", "https://f")


@pytest.mark.parametrize("obj", [None, [], {"id": 3, "status": "queued"}, {"id": "x"}, "text"])
def test_what_is_not_a_task_object_is_none(obj: Any) -> None:
    assert wire.parse_task(obj) is None


def test_a_list_keeps_its_task_objects_and_a_non_list_is_none() -> None:
    items = wire.parse_items({"total": 2, "items": [{"id": "a", "status": "queued"}, 5]})
    assert items is not None
    assert [t.id for t in items] == ["a"]
    assert wire.parse_items({"items": "no"}) is None
    assert wire.parse_items("garbage") is None


def classify(handler: Any) -> ark_client.CreateOutcome:
    async def run() -> ark_client.CreateOutcome:
        client = ark_client.ArkClient(
            "https://up/api/v3", "key", transport=httpx.MockTransport(handler)
        )
        try:
            return await client.create({"model": "m"}, client_request_id="task_1")
        finally:
            await client.close()

    return asyncio.run(run())


def answer(status: int, payload: Any = None, text: str | None = None, **headers: str) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer key"
        assert request.headers["x-client-request-id"] == "task_1"
        if text is not None:
            return httpx.Response(status, text=text, headers=headers)
        return httpx.Response(status, json=payload, headers=headers)

    return handler


def error(code: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": f"{code} happened", "type": "X"}}


def test_a_200_with_an_id_is_accepted() -> None:
    assert classify(answer(200, {"id": "cgt-20250101000000-abc"})) == ark_client.Accepted(
        "cgt-20250101000000-abc"
    )


@pytest.mark.parametrize("status", [429, 500, 503])
def test_answers_that_made_no_task_may_be_sent_again(status: int) -> None:
    outcome = classify(answer(status, error("ServerOverloaded"), **{"Retry-After": "3"}))
    assert isinstance(outcome, ark_client.NotArrived)
    assert outcome.status == status
    assert outcome.retry_after == 3.0


@pytest.mark.parametrize(
    "handler",
    [
        answer(200, text="<html>not json</html>"),
        answer(200, {"no": "id"}),
        answer(502, text="bad gateway"),
        answer(504, text="gateway timeout"),
    ],
)
def test_answers_after_which_a_task_may_exist_are_ambiguous(handler: Any) -> None:
    assert isinstance(classify(handler), ark_client.Ambiguous)


def test_a_timeout_while_reading_the_answer_is_ambiguous() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    assert isinstance(classify(handler), ark_client.Ambiguous)


def test_a_reset_mid_answer_is_ambiguous() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected", request=request)

    assert isinstance(classify(handler), ark_client.Ambiguous)


def test_a_connect_failure_surely_did_not_arrive() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert isinstance(classify(handler), ark_client.NotArrived)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "InputTextSensitiveContentDetected"),
        (401, "AuthenticationError"),
        (404, "ModelNotOpen"),
    ],
)
def test_a_refusal_keeps_the_upstream_code_and_message(status: int, code: str) -> None:
    outcome = classify(answer(status, error(code)))
    assert outcome == ark_client.Refused(status, code, f"{code} happened")


def test_a_download_over_the_cap_is_refused_and_never_carries_our_key(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"x" * 2048)

    async def run(limit: int) -> int:
        client = ark_client.ArkClient(
            "https://up/api/v3", "key", transport=httpx.MockTransport(handler)
        )
        try:
            return await client.download("https://tos/v.mp4", tmp_path / "v.mp4", max_bytes=limit)
        finally:
            await client.close()

    assert asyncio.run(run(4096)) == 2048
    with pytest.raises(ark_client.TooLarge):
        asyncio.run(run(1000))
    assert all("authorization" not in r.headers for r in seen)


def test_routing_a_model_upstream_drops_our_own_ratio() -> None:
    routed = CATALOG.routed("ark", ["seedance-1.5-pro"])
    spec = routed.find("seedance-1-5-pro")
    assert spec is not None and spec.provider == "ark"
    assert "9:21" not in spec.capabilities.ratios
    assert "21:9" in spec.capabilities.ratios
    kept = routed.find("seedance-1-0-pro")
    assert kept is not None and kept.provider == "preview"
    with pytest.raises(ValueError, match="unknown models"):
        CATALOG.routed("ark", ["no-such-model"])
