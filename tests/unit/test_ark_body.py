"""The upstream create body (dialects.ark_body) through domain.requests.normalize.

Facts: research/ark-official-api.md §2. Expectations are derived from each catalog model's
capabilities (and, for the family table, from the research), never from the code under test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from seedance_gateway import catalog as catalog_module
from seedance_gateway.catalog import Mode, ModelSpec
from seedance_gateway.dialects import ark_body, ark_v3
from seedance_gateway.domain.requests import GenerationRequest, Reference, normalize
from seedance_gateway.errors import ValidationFailed
from seedance_gateway.references import assign_roles

CATALOG = catalog_module.load(None)
MODELS = CATALOG.models
MODEL_IDS = [m.id for m in MODELS]
PROMPT = "a paper boat on a rainy street"
IMAGE = "https://example.com/first.png"

#: Research §2.1: every top-level field besides model and content.
TOP_LEVEL_FIELDS = (
    "resolution",
    "ratio",
    "duration",
    "frames",
    "seed",
    "camera_fixed",
    "watermark",
    "generate_audio",
    "return_last_frame",
    "service_tier",
    "execution_expires_after",
    "callback_url",
    "draft",
    "priority",
    "safety_identifier",
    "tools",
    "output_format",
    "omni_reference_task_type",
)

#: A value valid for every model that takes the field.
VALID_VALUES: dict[str, Any] = {
    "resolution": "480p",
    "ratio": "1:1",
    "duration": 6,
    "frames": 121,
    "seed": 42,
    "camera_fixed": True,
    "watermark": True,
    "generate_audio": True,
    "return_last_frame": True,
    "service_tier": "flex",
    "execution_expires_after": 7200,
    "callback_url": "https://hooks.example.com/seedance",
    "draft": True,
    "priority": 5,
    "safety_identifier": "user-hash-1234",
    "tools": [{"type": "web_search"}],
    "output_format": "mp4",
    "omni_reference_task_type": "auto",
}


# -- helpers ---------------------------------------------------------------------------------


def spec_of(model_id: str) -> ModelSpec:
    spec = CATALOG.find(model_id)
    assert spec is not None, model_id
    return spec


def text(value: str = PROMPT) -> dict[str, Any]:
    return {"type": "text", "text": value}


def image(url: str = IMAGE, role: str | None = "first_frame") -> dict[str, Any]:
    item: dict[str, Any] = {"type": "image_url", "image_url": {"url": url}}
    if role is not None:
        item["role"] = role
    return item


def content_for(spec: ModelSpec, prompt: str = PROMPT) -> list[dict[str, Any]]:
    """Text only where the model takes t2v; otherwise text plus a first frame."""
    if Mode.T2V in spec.modes:
        return [text(prompt)]
    return [text(prompt), image()]


def parse(raw: Any, spec: ModelSpec | None = None) -> ark_body.ArkCreate:
    """``parse_shape`` then ``build`` for the body's model."""
    model, items, fields = ark_body.parse_shape(raw)
    return ark_body.build(spec or spec_of(model), items, fields, model)


def role_only(parsed: ark_body.ArkCreate) -> tuple[Reference, ...]:
    """The references as the service checks them before fetching (roles, no bytes)."""
    return tuple(
        Reference(role=i.role or f"reference_{i.kind}", kind=i.kind, url="")
        for i in assign_roles(list(parsed.references))
    )


def submit(raw: dict[str, Any]) -> tuple[ark_body.ArkCreate, GenerationRequest]:
    """The whole synchronous path: parse, model rules, then the value checks."""
    spec = spec_of(raw["model"])
    parsed = parse(raw, spec)
    request = normalize(
        spec,
        prompt=parsed.prompt,
        fields=parsed.fields,
        references=role_only(parsed),
        names=ark_body.names(),
        callback_url=parsed.callback_url,
        expires_after=parsed.expires_after or 172800,
    )
    return parsed, request


def body(model_id: str, content: list[dict[str, Any]] | None = None, **fields: Any) -> dict:
    return {"model": model_id, "content": content or content_for(spec_of(model_id)), **fields}


def refused(raw: dict[str, Any]) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        submit(raw)
    return info.value


def terms(error: ValidationFailed) -> tuple[int, str, str, str]:
    return ark_v3.upstream_terms(error)


def invalid(param: str) -> tuple[int, str, str, str]:
    return 400, "InvalidParameter", "BadRequest", param


# -- 1. every model x every top-level field --------------------------------------------------


def takes(spec: ModelSpec, name: str) -> bool:
    """Whether the model takes the field, from its capabilities (research §2.1 rules)."""
    caps = spec.capabilities
    rules = {
        "frames": caps.frames,
        "camera_fixed": caps.camera_fixed,
        "service_tier": len(caps.service_tiers) > 1,
        "draft": caps.draft,
        "priority": caps.priority,
        "tools": any(p.maps_to == "web_search" for p in spec.params),
        "output_format": False,
        "omni_reference_task_type": False,
    }
    return rules.get(name, True)


def _reaches(name: str, spec: ModelSpec, parsed: ark_body.ArkCreate, req: GenerationRequest):
    value = VALID_VALUES[name]
    checks: dict[str, Callable[[], None]] = {
        "resolution": lambda: _eq(req.resolution, value),
        "ratio": lambda: _eq(req.ratio, value),
        "duration": lambda: _eq((req.duration, req.frames), (value, value * spec.fps)),
        "frames": lambda: _eq(req.frames, value),
        "seed": lambda: _eq(req.seed, value),
        "camera_fixed": lambda: _eq(req.camera_fixed, value),
        "watermark": lambda: _eq(req.watermark, value),
        "generate_audio": lambda: _eq(req.generate_audio, spec.capabilities.audio),
        "return_last_frame": lambda: _eq(req.return_last_frame, value),
        "service_tier": lambda: _eq(req.service_tier, value),
        "execution_expires_after": lambda: _eq(
            (parsed.expires_after, req.expires_after), (value, value)
        ),
        "callback_url": lambda: _eq((parsed.callback_url, req.callback_url), (value, value)),
        "draft": lambda: _eq((req.draft, req.resolution), (True, "480p")),
        "priority": lambda: _eq(req.priority, value),
        "safety_identifier": lambda: _eq(req.safety_identifier, value),
        "tools": lambda: _eq(req.web_search, True),
    }
    checks[name]()


def _eq(got: Any, want: Any) -> None:
    assert got == want


@pytest.mark.parametrize("name", TOP_LEVEL_FIELDS)
@pytest.mark.parametrize("spec", MODELS, ids=MODEL_IDS)
def test_each_field_on_each_model(spec: ModelSpec, name: str) -> None:
    raw = body(spec.id, **{name: VALID_VALUES[name]})
    if takes(spec, name):
        parsed, request = submit(raw)
        _reaches(name, spec, parsed, request)
        return
    error = refused(raw)
    assert (error.reason, error.field) == ("unsupported", name)
    assert name in error.message and spec.id in error.message
    assert terms(error) == (400, "InvalidParameter.UnsupportedParameter", "BadRequest", name)


def test_all_fields_accounted_for() -> None:
    assert set(VALID_VALUES) == set(TOP_LEVEL_FIELDS) == set(ark_body.FIELD_TYPES)


FAMILY_OF = {m.id: m.family for m in MODELS}


@pytest.mark.parametrize(
    ("name", "families"),
    [
        ("frames", {"1.0"}),  # 1.0 series only
        ("camera_fixed", {"1.0", "1.5"}),  # not 2.0
        ("service_tier", {"1.0", "1.5"}),  # 1.x only
        ("draft", {"1.5", "2.5"}),
        ("priority", {"2.0", "2.5"}),
        ("tools", {"2.0"}),
        ("output_format", set()),  # 2.5 upstream (mov): not offered here yet
        ("omni_reference_task_type", set()),
    ],
)
def test_catalog_capabilities_match_research(name: str, families: set[str]) -> None:
    """The table above derives support from capabilities; pin those to research §2.1."""
    taking = {m.id for m in MODELS if takes(m, name)}
    assert taking == {m for m, family in FAMILY_OF.items() if family in families}


@pytest.mark.parametrize("spec", [m for m in MODELS if m.capabilities.audio], ids=lambda m: m.id)
def test_generate_audio_false_reaches_audio_models(spec: ModelSpec) -> None:
    assert submit(body(spec.id))[1].generate_audio is True  # the upstream default
    parsed, request = submit(body(spec.id, generate_audio=False))
    assert parsed.fields["generate_audio"] is False
    assert request.generate_audio is False


@pytest.mark.parametrize(
    "spec", [m for m in MODELS if not m.capabilities.audio], ids=lambda m: m.id
)
def test_generate_audio_is_dropped_without_audio(spec: ModelSpec) -> None:
    parsed, request = submit(body(spec.id, generate_audio=True))
    assert "generate_audio" not in parsed.fields
    assert request.generate_audio is False


def test_camera_fixed_is_unsupported_in_reference_mode() -> None:
    refs = [text(), image(role="reference_image"), image(role="reference_image")]
    error = refused(body("seedance-1-0-lite-i2v", refs, camera_fixed=False))
    assert (error.reason, error.field) == ("unsupported", "camera_fixed")
    assert "reference" in error.message


@pytest.mark.parametrize(
    ("model_id", "name", "value"),
    [
        ("seedance-1-0-pro", "draft", False),
        ("seedance-1-5-pro", "priority", 0),
        ("seedance-2-0", "service_tier", "default"),
        ("seedance-2-0", "camera_fixed", False),
        ("seedance-1-5-pro", "tools", []),
    ],
)
def test_unsupported_field_is_refused_even_with_a_default_value(
    model_id: str, name: str, value: Any
) -> None:
    error = refused(body(model_id, **{name: value}))
    assert terms(error) == (400, "InvalidParameter.UnsupportedParameter", "BadRequest", name)


# -- 2. JSON types, null, unknown fields, aliases --------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("duration", "5"),
        ("duration", 5.5),
        ("watermark", 1),
        ("seed", True),
        ("resolution", 720),
        ("ratio", 1.5),
        ("frames", "121"),
        ("camera_fixed", "true"),
        ("generate_audio", 0),
        ("return_last_frame", "false"),
        ("service_tier", ["flex"]),
        ("execution_expires_after", "7200"),
        ("callback_url", True),
        ("draft", "true"),
        ("priority", "5"),
        ("safety_identifier", 12),
        ("tools", {"type": "web_search"}),
        ("output_format", 1),
        ("camerafixed", "yes"),
    ],
)
def test_wrong_json_type_names_the_field(name: str, value: Any) -> None:
    error = refused(body("seedance-1-0-pro", **{name: value}))
    assert terms(error) == invalid(name)


@pytest.mark.parametrize("tool", [{"type": "code"}, "web_search", {}])
def test_tools_entries_must_be_web_search(tool: Any) -> None:
    error = refused(body("seedance-2-0", tools=[{"type": "web_search"}, tool]))
    assert terms(error) == invalid("tools[1]")


def test_integral_floats_count_as_integers() -> None:
    _, request = submit(body("seedance-1-0-pro", duration=6.0, seed=7.0))
    assert (request.duration, request.seed) == (6, 7)


@pytest.mark.parametrize("spec", MODELS, ids=MODEL_IDS)
def test_null_counts_as_absent(spec: ModelSpec) -> None:
    """The official SDK sends every unset field as null, unsupported ones included."""
    nulls = {name: None for name in TOP_LEVEL_FIELDS}
    parsed, request = submit(body(spec.id, **nulls))
    _, plain = submit(body(spec.id))
    assert parsed.fields == {}
    assert (parsed.callback_url, parsed.expires_after) == (None, None)
    assert request == plain


@pytest.mark.parametrize("name", ["fps", "framespersecond", "Duration", "camera-fixed", "n"])
def test_unknown_field_is_refused_by_name(name: str) -> None:
    error = refused(body("seedance-1-0-pro", **{name: 24}))
    assert terms(error) == invalid(name)
    assert f"`{name}`" in error.message


def test_camerafixed_spelling_is_camera_fixed() -> None:
    parsed, request = submit(body("seedance-1-0-pro", camerafixed=True))
    assert parsed.fields["camera_fixed"] is True
    assert request.camera_fixed is True
    error = refused(body("seedance-2-0", camerafixed=True))
    assert (error.reason, error.field) == ("unsupported", "camera_fixed")


# -- 3. model and content --------------------------------------------------------------------


@pytest.mark.parametrize("raw", [[], "x", None, 3])
def test_body_must_be_an_object(raw: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        ark_body.parse_shape(raw)
    assert terms(info.value) == invalid("body")


@pytest.mark.parametrize("model", [None, ""])
def test_model_is_required(model: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        ark_body.parse_shape({"model": model, "content": [text()]})
    assert terms(info.value) == (400, "MissingParameter", "BadRequest", "model")


def test_model_must_be_a_string() -> None:
    with pytest.raises(ValidationFailed) as info:
        ark_body.parse_shape({"model": 7, "content": [text()]})
    assert terms(info.value) == invalid("model")


@pytest.mark.parametrize("content", ["absent", None, []])
def test_content_is_required(content: Any) -> None:
    raw: dict[str, Any] = {"model": "seedance-1-0-pro"}
    if content != "absent":
        raw["content"] = content
    with pytest.raises(ValidationFailed) as info:
        ark_body.parse_shape(raw)
    assert terms(info.value) == (400, "MissingParameter", "BadRequest", "content")


@pytest.mark.parametrize("content", [{"type": "text", "text": "x"}, "a cat"])
def test_content_must_be_an_array(content: Any) -> None:
    with pytest.raises(ValidationFailed) as info:
        ark_body.parse_shape({"model": "seedance-1-0-pro", "content": content})
    assert terms(info.value) == invalid("content")


@pytest.mark.parametrize(
    ("item", "param"),
    [
        ("a cat", "content[1]"),
        ({"text": "no type"}, "content[1].type"),
        ({"type": "image"}, "content[1].type"),
        ({"type": "text", "text": 5}, "content[1].text"),
        ({"type": "draft_task", "draft_task": {}}, "content[1].draft_task"),
        ({"type": "image_url", "image_url": IMAGE}, "content[1].image_url"),
        ({"type": "video_url", "video_url": IMAGE}, "content[1].video_url"),
    ],
)
def test_malformed_content_item_names_it(item: Any, param: str) -> None:
    error = refused(body("seedance-2-0", [text(), item]))
    assert terms(error) == invalid(param)


def test_bare_string_image_url_says_so() -> None:
    error = refused(body("seedance-2-0", [text(), {"type": "image_url", "image_url": IMAGE}]))
    assert "not a string" in error.message


@pytest.mark.parametrize("media", [None, {}, {"url": 5}])
def test_media_item_without_url_is_missing(media: Any) -> None:
    item = {"type": "image_url", "image_url": media, "role": "first_frame"}
    error = refused(body("seedance-2-0", [text(), item]))
    assert terms(error) == (400, "MissingParameter", "BadRequest", "content[1].image_url")


@pytest.mark.parametrize("url", ["", "   "])
def test_empty_image_url(url: str) -> None:
    error = refused(body("seedance-2-0", [text(), image(url)]))
    assert terms(error) == (
        400,
        "InvalidImageURL.EmptyURL",
        "BadRequest",
        "content[1].image_url.url",
    )


def test_empty_video_url_is_invalid_parameter() -> None:
    item = {"type": "video_url", "video_url": {"url": ""}, "role": "reference_video"}
    error = refused(body("seedance-2-0", [text(), item]))
    assert terms(error) == invalid("content[1].video_url.url")


@pytest.mark.parametrize(
    ("item", "kind"),
    [
        (image(role="reference_video"), "image"),
        (image(role="poster"), "image"),
        ({"type": "video_url", "video_url": {"url": IMAGE}, "role": "first_frame"}, "video"),
        ({"type": "audio_url", "audio_url": {"url": IMAGE}, "role": "reference_image"}, "audio"),
    ],
)
def test_invalid_role(item: dict[str, Any], kind: str) -> None:
    error = refused(body("seedance-2-0", [text(), item]))
    assert f"invalid role specified for {kind} content" in error.message
    assert terms(error) == invalid("content[1].role")


def test_text_items_join_and_media_become_references() -> None:
    video = {"type": "video_url", "video_url": {"url": " https://e.com/v.mp4 "}}
    parsed, request = submit(
        body("seedance-2-0", [text("a cat"), image(role=None), video, text("runs")])
    )
    assert parsed.prompt == request.prompt == "a cat runs"
    assert [(r.role, r.kind, r.url) for r in request.references] == [
        ("reference_image", "image", ""),
        ("reference_video", "video", ""),
    ]
    assert [(r.url, r.field) for r in parsed.references] == [
        (IMAGE, "content[1].image_url"),
        ("https://e.com/v.mp4", "content[2].video_url"),
    ]
    assert request.mode is Mode.REFERENCE


def test_frames_and_reference_media_cannot_mix() -> None:
    error = refused(body("seedance-2-0", [text(), image(), image(role="reference_image")]))
    assert terms(error) == invalid("content")


def test_t2v_only_model_refuses_an_image() -> None:
    error = refused(body("seedance-1-0-lite-t2v", [text(), image()]))
    assert terms(error) == invalid("content")


def test_a_draft_task_item_alone_names_the_draft_and_is_refused_beside_anything_else() -> None:
    """A final is one ``draft_task`` item: the prompt and media come from the draft."""
    item = {"type": "draft_task", "draft_task": {"id": "cgt-1"}}
    parsed = parse(body("seedance-1-5-pro", [item]))
    assert (parsed.draft_task_id, parsed.prompt, parsed.references) == ("cgt-1", "", ())
    for content in ([text(), item], [item, item]):
        with pytest.raises(ValidationFailed) as caught:
            parse(body("seedance-1-5-pro", content))
        assert caught.value.field == "content"
        assert "send one" in caught.value.message and "and nothing else" in caught.value.message


# -- 4. legacy text commands -----------------------------------------------------------------

PRO = "seedance-1-0-pro"  # takes every command, including frames and camera_fixed


@pytest.mark.parametrize(
    ("command", "name", "value"),
    [
        ("--rs 480p", "resolution", "480p"),
        ("--resolution 480p", "resolution", "480p"),
        ("--rt 1:1", "ratio", "1:1"),
        ("--ratio 1:1", "ratio", "1:1"),
        ("--dur 7", "duration", 7),
        ("--duration 7", "duration", 7),
        ("--frames 121", "frames", 121),
        ("--seed 11", "seed", 11),
        ("--cf true", "camera_fixed", True),
        ("--camerafixed true", "camera_fixed", True),
        ("--wm true", "watermark", True),
        ("--watermark true", "watermark", True),
        ("--RS=480P", "resolution", "480p"),
        ("--Dur=7", "duration", 7),
    ],
)
def test_each_command_sets_its_field(command: str, name: str, value: Any) -> None:
    parsed, request = submit(body(PRO, [text(f"a cat walks home {command}")]))
    assert parsed.prompt == request.prompt == "a cat walks home"
    assert parsed.fields == parsed.commands == {name: value}
    assert getattr(request, name) == value


@pytest.mark.parametrize("command", ["--fps 24", "--framespersecond 24", "--fps 30"])
def test_fps_command_is_removed_and_the_model_fps_stays(command: str) -> None:
    parsed, request = submit(body(PRO, [text(f"a cat {command}")]))
    assert (parsed.prompt, parsed.fields, request.fps) == ("a cat", {}, 24)


def test_many_commands_at_once() -> None:
    prompt = "a cat --rs 720p --rt 16:9 --dur 5 --fps 24 --wm true --seed 11 --cf false"
    parsed, request = submit(body(PRO, [text(prompt)]))
    assert parsed.prompt == "a cat"
    assert (request.resolution, request.ratio, request.duration, request.seed) == (
        "720p",
        "16:9",
        5,
        11,
    )
    assert (request.watermark, request.camera_fixed) == (True, False)


def test_last_command_wins() -> None:
    _, request = submit(body(PRO, [text("a cat --rs 720p --rs 480p")]))
    assert request.resolution == "480p"


@pytest.mark.parametrize(
    ("model_id", "command", "name"),
    [
        (PRO, "--rs 999p", "resolution"),
        (PRO, "--dur 99", "duration"),
        (PRO, "--dur -1", "duration"),  # no auto duration on 1.0
        (PRO, "--dur five", "duration"),
        (PRO, "--frames 30", "frames"),
        (PRO, "--frames 293", "frames"),
        (PRO, "--cf maybe", "camera_fixed"),
        (PRO, "--wm yes", "watermark"),
        (PRO, "--seed -2", "seed"),
        (PRO, "--seed 4294967296", "seed"),
        (PRO, "--rt adaptive", "ratio"),  # adaptive is refused for t2v on 1.0
        (PRO, "--rt 2:1", "ratio"),
        ("seedance-2-0-fast", "--rs 1080p", "resolution"),
        ("seedance-1-5-pro", "--frames 121", "frames"),  # the model takes no frames
        ("seedance-2-0", "--cf true", "camera_fixed"),  # the model takes no camera_fixed
    ],
)
def test_unusable_command_is_ignored(model_id: str, command: str, name: str) -> None:
    parsed, request = submit(body(model_id, [text(f"a cat {command}")]))
    _, plain = submit(body(model_id, [text("a cat")]))
    assert parsed.prompt == "a cat"
    assert name not in parsed.fields
    assert getattr(request, name) == getattr(plain, name)
    assert request.frames == plain.frames


def test_auto_duration_command_where_the_model_takes_it() -> None:
    _, request = submit(body("seedance-1-5-pro", [text("a cat --dur -1")]))
    assert request.duration == -1


def test_adaptive_command_applies_to_a_first_frame_on_1_0() -> None:
    parsed, request = submit(body(PRO, [text("a cat --rt adaptive"), image()]))
    assert parsed.fields["ratio"] == request.ratio == "adaptive"


def test_reference_mode_resolution_command_follows_reference_resolutions() -> None:
    refs = [text("a cat --rs 1080p"), image(role="reference_image")]
    parsed, request = submit(body("seedance-1-0-lite-i2v", refs))
    assert "resolution" not in parsed.fields
    assert request.resolution == "720p"


@pytest.mark.parametrize(
    ("command", "field", "value"),
    [
        ("--rs 480p", "resolution", "720p"),
        ("--dur 6", "duration", 8),
        ("--seed 11", "seed", 99),
        ("--wm true", "watermark", False),
        ("--cf true", "camera_fixed", False),
        ("--rt 1:1", "ratio", "9:16"),
    ],
)
def test_body_field_wins_over_command(command: str, field: str, value: Any) -> None:
    parsed, request = submit(body(PRO, [text(f"a cat {command}")], **{field: value}))
    assert parsed.fields[field] == getattr(request, field) == value
    assert parsed.prompt == "a cat"


def test_null_body_field_lets_the_command_apply() -> None:
    _, request = submit(body(PRO, [text("a cat --rs 480p")], resolution=None))
    assert request.resolution == "480p"


def test_split_commands_keeps_text_that_is_not_a_command() -> None:
    assert ark_body.split_commands("a--rs 480p cat --rs") == ("a--rs 480p cat --rs", {})
    assert ark_body.split_commands("--dur 5 a cat") == ("a cat", {"duration": "5"})


@pytest.mark.parametrize(
    "command", ["--seed --5", "--dur ²", "--frames ³", "--dur ٣", "--seed 1_0", "--dur +5"]
)
def test_malformed_number_command_is_ignored(command: str) -> None:
    """Only ASCII decimal integers count; anything else is ignored, never a crash."""
    parsed, _ = submit(body(PRO, [text(f"a cat {command}")]))
    assert (parsed.prompt, parsed.fields) == ("a cat", {})


def test_resolution_command_cannot_break_a_draft() -> None:
    """docs/upstream-dialects.md: an unusable text command is ignored and never an error."""
    _, request = submit(body("seedance-1-5-pro", [text("a cat --rs 720p")], draft=True))
    assert (request.draft, request.resolution) == (True, "480p")


# -- 5. ranges and draft rules ---------------------------------------------------------------


@pytest.mark.parametrize("seconds", [3599, 259201, 0, -1])
def test_execution_expires_after_range(seconds: int) -> None:
    error = refused(body(PRO, execution_expires_after=seconds))
    assert terms(error) == invalid("execution_expires_after")


@pytest.mark.parametrize("seconds", [3600, 259200])
def test_execution_expires_after_bounds_are_accepted(seconds: int) -> None:
    parsed, request = submit(body(PRO, execution_expires_after=seconds))
    assert parsed.expires_after == request.expires_after == seconds


def test_safety_identifier_length() -> None:
    assert submit(body(PRO, safety_identifier="x" * 64))[1].safety_identifier == "x" * 64
    error = refused(body(PRO, safety_identifier="x" * 65))
    assert terms(error) == invalid("safety_identifier")


@pytest.mark.parametrize("priority", [10, -1])
def test_priority_range(priority: int) -> None:
    error = refused(body("seedance-2-0", priority=priority))
    assert terms(error) == invalid("priority")


@pytest.mark.parametrize("priority", [0, 9])
def test_priority_bounds(priority: int) -> None:
    assert submit(body("seedance-2-0", priority=priority))[1].priority == priority


@pytest.mark.parametrize(
    ("model_id", "fields", "param"),
    [
        (PRO, {"duration": 13}, "duration"),
        (PRO, {"duration": 1}, "duration"),
        (PRO, {"duration": -1}, "duration"),
        ("seedance-1-5-pro", {"duration": 3}, "duration"),
        ("seedance-2-0", {"duration": 16}, "duration"),
        (PRO, {"frames": 30}, "frames"),
        (PRO, {"frames": 25}, "frames"),
        (PRO, {"frames": 293}, "frames"),
        (PRO, {"seed": -2}, "seed"),
        (PRO, {"seed": 2**32}, "seed"),
        (PRO, {"resolution": "4k"}, "resolution"),
        ("seedance-2-0-fast", {"resolution": "1080p"}, "resolution"),
        (PRO, {"ratio": "adaptive"}, "ratio"),
        (PRO, {"ratio": "2:1"}, "ratio"),
        (PRO, {"service_tier": "scale"}, "service_tier"),
    ],
)
def test_out_of_range_values(model_id: str, fields: dict[str, Any], param: str) -> None:
    assert terms(refused(body(model_id, **fields))) == invalid(param)


@pytest.mark.parametrize(
    ("model_id", "fields", "want"),
    [
        ("seedance-1-5-pro", {"duration": -1}, -1),
        ("seedance-2-0", {"duration": 15}, 15),
        (PRO, {"duration": 2}, 2),
        ("seedance-2-0", {"resolution": "4K"}, "4k"),
        (PRO, {"resolution": "720P"}, "720p"),
    ],
)
def test_edge_values_accepted(model_id: str, fields: dict[str, Any], want: Any) -> None:
    _, request = submit(body(model_id, **fields))
    assert getattr(request, next(iter(fields))) == want


def test_frames_take_precedence_over_duration() -> None:
    _, request = submit(body(PRO, duration=10, frames=29))
    assert request.frames == 29


DRAFT = "seedance-1-5-pro"


def test_draft_is_480p() -> None:
    _, request = submit(body(DRAFT, draft=True, resolution="480p"))
    assert (request.draft, request.resolution) == (True, "480p")


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"resolution": "720p"}, "resolution"),
        ({"return_last_frame": True}, "return_last_frame"),
        ({"service_tier": "flex"}, "service_tier"),
    ],
)
def test_draft_rules(fields: dict[str, Any], param: str) -> None:
    assert terms(refused(body(DRAFT, draft=True, **fields))) == invalid(param)


def test_draft_false_on_a_draft_model_is_a_normal_task() -> None:
    _, request = submit(body(DRAFT, draft=False, return_last_frame=True))
    assert (request.draft, request.resolution, request.return_last_frame) == (False, "720p", True)


def test_a_body_length_beats_a_frames_command() -> None:
    """Body ``duration`` and a ``--frames`` command: the body decides the length."""
    spec = CATALOG.find("seedance-1-0-pro")
    assert spec is not None
    model, items, fields = ark_body.parse_shape(
        {
            "model": "seedance-1-0-pro",
            "duration": 10,
            "content": [{"type": "text", "text": "a cat --frames 121"}],
        }
    )
    parsed = ark_body.build(spec, items, fields, model)
    request = normalize(spec, prompt=parsed.prompt, fields=parsed.fields, names=ark_body.names())
    assert request.frames == 240
    assert parsed.prompt == "a cat"
