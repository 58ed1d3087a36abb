"""The shipped model catalog, and the loader's validation of operators' catalogs.

Expected values come from the seeds (Public API v1 pages for 1.0 pro and 1.5 pro) and from
research/ark-official-api.md §2 (model ids, modes, output pixel sizes).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from seedance_gateway import catalog as catalog_module
from seedance_gateway.catalog import Catalog, CatalogError, Mode

MODEL_IDS = (
    "seedance-1-0-pro",
    "seedance-1-0-pro-fast",
    "seedance-1-0-lite-t2v",
    "seedance-1-0-lite-i2v",
    "seedance-1-5-pro",
    "seedance-2-0",
    "seedance-2-0-fast",
    "seedance-2-0-mini",
    "seedance-2-5",
)

#: Every name a client may send for a model: Volcengine, BytePlus/Dreamina and short ids.
ALIASES = {
    "doubao-seedance-1-0-pro-250528": "seedance-1-0-pro",
    "seedance-1-0-pro-250528": "seedance-1-0-pro",
    "seedance-1.0-pro": "seedance-1-0-pro",
    "doubao-seedance-1-0-pro-fast-251015": "seedance-1-0-pro-fast",
    "seedance-1-0-pro-fast-251015": "seedance-1-0-pro-fast",
    "doubao-seedance-1-0-lite-t2v-250428": "seedance-1-0-lite-t2v",
    "seedance-1-0-lite-t2v-250428": "seedance-1-0-lite-t2v",
    "doubao-seedance-1-0-lite-i2v-250428": "seedance-1-0-lite-i2v",
    "seedance-1-0-lite-i2v-250428": "seedance-1-0-lite-i2v",
    "doubao-seedance-1-5-pro-251215": "seedance-1-5-pro",
    "seedance-1-5-pro-251215": "seedance-1-5-pro",
    "seedance-1-5": "seedance-1-5-pro",
    "doubao-seedance-2-0-260128": "seedance-2-0",
    "dreamina-seedance-2-0-260128": "seedance-2-0",
    "seedance-2": "seedance-2-0",
    "seedance-2.0": "seedance-2-0",
    "doubao-seedance-2-0-fast-260128": "seedance-2-0-fast",
    "dreamina-seedance-2-0-fast-260128": "seedance-2-0-fast",
    "seedance-2-fast": "seedance-2-0-fast",
    "doubao-seedance-2-0-mini-260615": "seedance-2-0-mini",
    "dreamina-seedance-2-0-mini-260615": "seedance-2-0-mini",
    "seedance-2-mini": "seedance-2-0-mini",
    "doubao-seedance-2-5-260628": "seedance-2-5",
    "dreamina-seedance-2-5-260628": "seedance-2-5",
    "seedance-2-5-260628": "seedance-2-5",
    "seedance-2.5": "seedance-2-5",
}

#: The upstream id by region (research §2.4).
UPSTREAM = {
    "seedance-1-0-pro": ("doubao-seedance-1-0-pro-250528", "seedance-1-0-pro-250528"),
    "seedance-1-0-pro-fast": (
        "doubao-seedance-1-0-pro-fast-251015",
        "seedance-1-0-pro-fast-251015",
    ),
    "seedance-1-0-lite-t2v": (
        "doubao-seedance-1-0-lite-t2v-250428",
        "seedance-1-0-lite-t2v-250428",
    ),
    "seedance-1-0-lite-i2v": (
        "doubao-seedance-1-0-lite-i2v-250428",
        "seedance-1-0-lite-i2v-250428",
    ),
    "seedance-1-5-pro": ("doubao-seedance-1-5-pro-251215", "seedance-1-5-pro-251215"),
    "seedance-2-0": ("doubao-seedance-2-0-260128", "dreamina-seedance-2-0-260128"),
    "seedance-2-0-fast": ("doubao-seedance-2-0-fast-260128", "dreamina-seedance-2-0-fast-260128"),
    "seedance-2-0-mini": ("doubao-seedance-2-0-mini-260615", "dreamina-seedance-2-0-mini-260615"),
    "seedance-2-5": ("doubao-seedance-2-5-260628", "dreamina-seedance-2-5-260628"),
}

#: Modes by model (research §2.2 "Content modes").
MODES = {
    "seedance-1-0-pro": {"t2v", "first_frame", "first_last_frame"},
    "seedance-1-0-pro-fast": {"t2v", "first_frame"},
    "seedance-1-0-lite-t2v": {"t2v"},
    "seedance-1-0-lite-i2v": {"first_frame", "first_last_frame", "reference"},
    "seedance-1-5-pro": {"t2v", "first_frame", "first_last_frame"},
    "seedance-2-0": {"t2v", "first_frame", "first_last_frame", "reference"},
    "seedance-2-0-fast": {"t2v", "first_frame", "first_last_frame", "reference"},
    "seedance-2-0-mini": {"t2v", "first_frame", "first_last_frame", "reference"},
    "seedance-2-5": {"t2v", "first_frame", "first_last_frame", "reference"},
}

RATIO_ORDER = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9")
#: research §2.3, in RATIO_ORDER.
PIXELS_10 = {
    "480p": [(864, 480), (736, 544), (640, 640), (544, 736), (480, 864), (960, 416)],
    "720p": [(1248, 704), (1120, 832), (960, 960), (832, 1120), (704, 1248), (1504, 640)],
    "1080p": [(1920, 1088), (1664, 1248), (1440, 1440), (1248, 1664), (1088, 1920), (2176, 928)],
}
PIXELS_15 = {
    "480p": [(864, 496), (752, 560), (640, 640), (560, 752), (496, 864), (992, 432)],
    "720p": [(1280, 720), (1112, 834), (960, 960), (834, 1112), (720, 1280), (1470, 630)],
    "1080p": [(1920, 1080), (1664, 1248), (1440, 1440), (1248, 1664), (1080, 1920), (2206, 946)],
    "4k": [(3840, 2160), (3326, 2494), (2880, 2880), (2494, 3326), (2160, 3840), (4398, 1886)],
}


def _v1_surface(catalog: Catalog, model_id: str) -> list[tuple[str, str, tuple[str, ...], str]]:
    """(key, kind, options, default) of the model's reference (non-extension) parameters."""
    spec = catalog.find(model_id)
    assert spec is not None
    return [(p.key, p.kind, p.options, str(p.default)) for p in spec.params if not p.extension]


def test_the_shipped_catalog_loads_with_exactly_the_nine_models(catalog: Catalog) -> None:
    """The shipped catalog holds the nine models, in order, each findable by its id."""
    assert tuple(m.id for m in catalog.models) == MODEL_IDS
    for model_id in MODEL_IDS:
        spec = catalog.find(model_id)
        assert spec is not None and spec.id == model_id


@pytest.mark.parametrize(("alias", "model_id"), sorted(ALIASES.items()))
def test_every_upstream_and_short_alias_resolves_case_insensitively(
    catalog: Catalog, alias: str, model_id: str
) -> None:
    """Volcengine, BytePlus, Dreamina and short names find their model in any letter case."""
    for spelling in (alias, alias.upper(), alias.title(), f"  {alias}  "):
        spec = catalog.find(spelling)
        assert spec is not None, spelling
        assert spec.id == model_id


def test_an_unknown_model_name_finds_nothing(catalog: Catalog) -> None:
    """Names close to real ones but not in the catalog resolve to None."""
    for name in ("seedance-3", "seedance-1-0-pro-250529", "doubao-seedance-2-0", ""):
        assert catalog.find(name) is None


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_upstream_ids_match_the_official_ids_per_region(catalog: Catalog, model_id: str) -> None:
    """Each model maps to the Volcengine and BytePlus ids the real upstream expects."""
    spec = catalog.find(model_id)
    assert spec is not None
    volcengine, byteplus = UPSTREAM[model_id]
    assert spec.upstream_ids == {"volcengine": volcengine, "byteplus": byteplus}


@pytest.mark.parametrize("model_id", MODEL_IDS)
def test_each_model_offers_the_modes_the_upstream_documents(
    catalog: Catalog, model_id: str
) -> None:
    """Modes follow the upstream: no images on lite-t2v, no text-only on lite-i2v, etc."""
    spec = catalog.find(model_id)
    assert spec is not None
    assert {str(m) for m in spec.modes} == MODES[model_id]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (Mode.T2V, "seedance-1-0-lite-t2v"),
        (Mode.FIRST_FRAME, "seedance-1-0-lite-i2v"),
        (Mode.FIRST_LAST_FRAME, "seedance-1-0-lite-i2v"),
        (Mode.REFERENCE, "seedance-1-0-lite-i2v"),
        (None, "seedance-1-0-lite-i2v"),
    ],
)
def test_the_lite_family_alias_routes_by_mode(
    catalog: Catalog, mode: Mode | None, expected: str
) -> None:
    """``seedance-1-0-lite`` (any case, dotted too) picks t2v for text, i2v for anything else."""
    for name in ("seedance-1-0-lite", "Seedance-1-0-LITE", "seedance-1.0-lite"):
        spec = catalog.find(name, mode)
        assert spec is not None
        assert spec.id == expected
    assert "seedance-1-0-lite" in catalog.names()


def test_names_lists_every_id_and_alias_in_lowercase(catalog: Catalog) -> None:
    """``names()`` offers every model id, every alias and the routed family names."""
    names = catalog.names()
    assert set(MODEL_IDS) <= set(names)
    assert set(ALIASES) <= set(names)
    assert names == sorted(names)
    assert all(n == n.lower() for n in names)


@pytest.mark.parametrize(
    ("model_id", "limit"),
    [
        ("seedance-1-0-pro", 10000),
        ("seedance-1-0-pro-fast", 10000),
        ("seedance-1-0-lite-t2v", 10000),
        ("seedance-1-0-lite-i2v", 10000),
        ("seedance-1-5-pro", 2500),
        ("seedance-2-0", 2500),
        ("seedance-2-0-fast", 2500),
        ("seedance-2-0-mini", 2500),
    ],
)
def test_prompt_limits_follow_the_model_pages(catalog: Catalog, model_id: str, limit: int) -> None:
    """1.0 models take 10000 characters (seed 000), 1.5 pro and 2.0 take 2500 (seed 001)."""
    spec = catalog.find(model_id)
    assert spec is not None
    assert spec.prompt_max == limit


def test_the_1_0_pro_parameters_are_named_exactly_as_its_v1_page(catalog: Catalog) -> None:
    """1.0 pro: resolution, duration, aspect_ratio, camera_fixed, seed, enable_safety_checker."""
    assert _v1_surface(catalog, "seedance-1-0-pro") == [
        ("resolution", "select", ("480p", "720p", "1080p"), "720p"),
        ("duration", "select", ("5", "10"), "5"),
        ("aspect_ratio", "select", ("21:9", "16:9", "4:3", "1:1", "3:4", "9:16"), "16:9"),
        ("camera_fixed", "select", ("false", "true"), "false"),
        ("seed", "number", (), "-1"),
        ("enable_safety_checker", "select", ("true", "false"), "true"),
    ]
    spec = catalog.find("seedance-1-0-pro")
    assert spec is not None
    seed = spec.param("seed")
    assert seed is not None
    assert (seed.minimum, seed.maximum) == (-1, 2147483647)


def test_the_1_5_pro_parameters_are_named_exactly_as_its_v1_page(catalog: Catalog) -> None:
    """1.5 pro: resolution, duration, generate_audio, aspectRatio (camel case), fixed_lens."""
    assert _v1_surface(catalog, "seedance-1-5-pro") == [
        ("resolution", "select", ("480p", "720p", "1080p"), "720p"),
        ("duration", "select", ("4", "8", "12"), "8"),
        ("generate_audio", "select", ("false", "true"), "false"),
        ("aspectRatio", "select", ("1:1", "4:3", "3:4", "16:9", "9:16", "21:9"), "1:1"),
        ("fixed_lens", "select", ("false", "true"), "false"),
    ]
    spec = catalog.find("seedance-1-5-pro")
    assert spec is not None
    assert spec.param("aspect_ratio") is None
    assert spec.param("camera_fixed") is None


def test_v1_parameters_map_to_the_canonical_fields(catalog: Catalog) -> None:
    """Wire names differ per model but land on the same canonical fields."""
    pro10 = catalog.find("seedance-1-0-pro")
    pro15 = catalog.find("seedance-1-5-pro")
    assert pro10 is not None and pro15 is not None
    assert {p.key: p.maps_to for p in pro10.params if not p.extension} == {
        "resolution": "resolution",
        "duration": "duration",
        "aspect_ratio": "ratio",
        "camera_fixed": "camera_fixed",
        "seed": "seed",
        "enable_safety_checker": "safety_checker",
    }
    assert {p.key: p.maps_to for p in pro15.params if not p.extension} == {
        "resolution": "resolution",
        "duration": "duration",
        "generate_audio": "generate_audio",
        "aspectRatio": "ratio",
        "fixed_lens": "camera_fixed",
    }


@pytest.mark.parametrize("model_id", MODEL_IDS[:4])
def test_the_1_0_series_uses_the_1_0_pixel_table(catalog: Catalog, model_id: str) -> None:
    """Every 1.0 model outputs the 1.0 sizes of research §2.3 (1248x704 at 720p 16:9)."""
    spec = catalog.find(model_id)
    assert spec is not None
    for resolution, sizes in PIXELS_10.items():
        for ratio, size in zip(RATIO_ORDER, sizes, strict=True):
            assert spec.size(resolution, ratio) == size, (resolution, ratio)
    assert "4k" not in spec.capabilities.resolutions


@pytest.mark.parametrize("model_id", MODEL_IDS[4:])
def test_1_5_and_2_0_use_the_newer_pixel_table(catalog: Catalog, model_id: str) -> None:
    """1.5 pro and the 2.0 series output the newer sizes (1280x720 at 720p 16:9)."""
    spec = catalog.find(model_id)
    assert spec is not None
    for resolution in spec.capabilities.resolutions:
        for ratio, size in zip(RATIO_ORDER, PIXELS_15[resolution], strict=True):
            assert spec.size(resolution, ratio) == size, (resolution, ratio)


def test_only_seedance_2_0_offers_4k_and_the_small_2_0_models_stop_at_720p(
    catalog: Catalog,
) -> None:
    """4k is 2.0's alone; 2.0 fast and mini offer 480p and 720p only."""
    resolutions = {m.id: m.capabilities.resolutions for m in catalog.models}
    assert [m for m, r in resolutions.items() if "4k" in r] == ["seedance-2-0"]
    assert resolutions["seedance-2-0-fast"] == ("480p", "720p")
    assert resolutions["seedance-2-0-mini"] == ("480p", "720p")


def test_every_model_outputs_24_fps(catalog: Catalog) -> None:
    """All models produce 24 frames per second."""
    assert {m.fps for m in catalog.models} == {24}


def test_duration_ranges_and_auto_follow_the_upstream(catalog: Catalog) -> None:
    """1.0: 2-12 s, no auto; 1.5 pro: 4-12 s or -1; 2.0: 4-15 s or -1; 2.5: 4-30 s or -1,
    which is its default. A -1 is rendered and billed as 5 s (10 s on 2.5)."""
    expected = {
        "1.0": (2, 12, False, 5),
        "1.5": (4, 12, True, 5),
        "2.0": (4, 15, True, 5),
        "2.5": (4, 30, True, 10),
    }
    for spec in catalog.models:
        rng = spec.capabilities.duration
        got = (rng.minimum, rng.maximum, rng.auto, rng.auto_seconds)
        assert got == expected[spec.family], spec.id
    v25 = catalog.find("seedance-2-5")
    assert v25 is not None and v25.capabilities.defaults["duration"] == -1


def test_frames_audio_and_flex_are_limited_to_the_right_families(catalog: Catalog) -> None:
    """Frame counts are 1.0-only, audio is 1.5/2.0/2.5-only, the flex tier is 1.x-only, and
    only 2.5 insists on ``adaptive`` for frames and takes reference audio alone."""
    for spec in catalog.models:
        caps = spec.capabilities
        assert caps.frames is (spec.family == "1.0"), spec.id
        assert caps.audio is (spec.family != "1.0"), spec.id
        assert ("flex" in caps.service_tiers) is spec.family.startswith("1."), spec.id
        assert caps.adaptive_frames is (spec.family == "2.5"), spec.id
        assert spec.media.audio_alone is (spec.family == "2.5"), spec.id


def test_lite_i2v_reference_mode_stops_at_720p(catalog: Catalog) -> None:
    """The lite reference-image mode has no 1080p; 2.0 keeps every resolution there."""
    lite = catalog.find("seedance-1-0-lite-i2v")
    full = catalog.find("seedance-2-0")
    assert lite is not None and full is not None
    assert lite.capabilities.reference_resolutions == ("480p", "720p")
    assert full.capabilities.reference_resolutions == full.capabilities.resolutions


# --- validation of operators' catalogs -------------------------------------------------------

SHIPPED: dict[str, Any] = yaml.safe_load(
    (Path(catalog_module.__file__).parent / "models.yaml").read_text()
)


def _model(data: dict[str, Any], model_id: str) -> dict[str, Any]:
    return next(m for m in data["models"] if m["id"] == model_id)


def _write(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> Path:
    """Writes a copy of the shipped catalog with one mistake made by ``mutate``."""
    data = copy.deepcopy(SHIPPED)
    mutate(data)
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _load_error(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> str:
    path = _write(tmp_path, mutate)
    with pytest.raises(CatalogError) as caught:
        catalog_module.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    return message


def test_an_unchanged_copy_of_the_shipped_catalog_loads_from_a_path(tmp_path: Path) -> None:
    """Round-tripping the shipped catalog through YAML loads the same models."""
    loaded = catalog_module.load(_write(tmp_path, lambda _: None))
    assert tuple(m.id for m in loaded.models) == MODEL_IDS


def test_an_operator_catalog_can_change_a_price(tmp_path: Path) -> None:
    """A valid edit (1.0 pro at 30 credits) is honoured, not just syntax-checked."""

    def cheaper(data: dict[str, Any]) -> None:
        _model(data, "seedance-1-0-pro")["price"] = {"kind": "pixels", "base_credits": 30}

    loaded = catalog_module.load(_write(tmp_path, cheaper))
    spec = loaded.find("seedance-1-0-pro")
    assert spec is not None and spec.price.base_credits == 30


def test_an_alias_used_by_two_models_is_refused_naming_both(tmp_path: Path) -> None:
    """Giving 1.0 pro the alias ``SEEDANCE-2`` clashes with 2.0 (case-insensitively)."""

    def clash(data: dict[str, Any]) -> None:
        _model(data, "seedance-1-0-pro")["aliases"].append("SEEDANCE-2")

    message = _load_error(tmp_path, clash)
    assert "'seedance-2'" in message.lower()
    assert "seedance-1-0-pro" in message and "seedance-2-0" in message


def test_a_default_outside_the_options_is_refused_naming_model_and_param(tmp_path: Path) -> None:
    """A select whose default is not among its options names the model and the key."""

    def bad_default(data: dict[str, Any]) -> None:
        param = _model(data, "seedance-1-5-pro")["params"][1]
        assert param["key"] == "duration"
        param["default"] = "5"

    message = _load_error(tmp_path, bad_default)
    assert "model 'seedance-1-5-pro'" in message
    assert "(duration)" in message and "default '5'" in message
    assert "['4', '8', '12']" in message


def test_a_number_default_outside_its_range_is_refused(tmp_path: Path) -> None:
    """A number param whose default lies outside [min, max] names the model and the key."""

    def bad_default(data: dict[str, Any]) -> None:
        param = next(p for p in _model(data, "seedance-2-0")["params"] if p["key"] == "duration")
        param["default"] = 20

    message = _load_error(tmp_path, bad_default)
    assert "model 'seedance-2-0'" in message and "(duration)" in message
    assert "outside [4, 15]" in message


def test_an_unknown_maps_to_is_refused_naming_model_and_param(tmp_path: Path) -> None:
    """``maps_to`` must be a canonical field; the message lists the allowed ones."""

    def unknown(data: dict[str, Any]) -> None:
        _model(data, "seedance-1-5-pro")["params"][4]["maps_to"] = "lens"

    message = _load_error(tmp_path, unknown)
    assert "model 'seedance-1-5-pro'" in message and "(fixed_lens)" in message
    assert "maps_to 'lens'" in message and "camera_fixed" in message


def test_a_missing_pixel_size_is_refused_naming_model_resolution_and_ratio(
    tmp_path: Path,
) -> None:
    """A 4k 9:16 gap in the table fails on 2.0, the model that offers 4k."""

    def gap(data: dict[str, Any]) -> None:
        del data["pixel_tables"]["seedance-1.5"]["4k"]["9:16"]

    message = _load_error(tmp_path, gap)
    assert "model 'seedance-2-0'" in message
    assert "no size for 4k 9:16" in message


def test_an_undefined_pixel_table_is_refused(tmp_path: Path) -> None:
    """A model naming a pixel table that does not exist is refused, naming both."""

    def missing(data: dict[str, Any]) -> None:
        _model(data, "seedance-2-0-mini")["pixel_table"] = "seedance-9"

    message = _load_error(tmp_path, missing)
    assert "model 'seedance-2-0-mini'" in message and "pixel_table 'seedance-9'" in message


def test_an_unknown_mode_is_refused_naming_model_and_field(tmp_path: Path) -> None:
    """``modes: [t2v, video_edit]`` names the model, the ``modes`` field and the bad value."""

    def unknown(data: dict[str, Any]) -> None:
        _model(data, "seedance-2-0")["modes"].append("video_edit")

    message = _load_error(tmp_path, unknown)
    assert "model 'seedance-2-0'" in message
    assert "modes" in message and "video_edit" in message


def test_a_bad_price_kind_is_refused_naming_model_and_field(tmp_path: Path) -> None:
    """Prices are ``pixels`` or ``table``; anything else names ``price.kind``."""

    def bad(data: dict[str, Any]) -> None:
        _model(data, "seedance-2-0-fast")["price"]["kind"] = "per_second"

    message = _load_error(tmp_path, bad)
    assert "model 'seedance-2-0-fast'" in message
    assert "price.kind 'per_second'" in message


def test_a_price_table_missing_a_resolution_is_refused(tmp_path: Path) -> None:
    """1.5 pro's table without its 1080p row names the model and the missing resolution."""

    def missing(data: dict[str, Any]) -> None:
        del _model(data, "seedance-1-5-pro")["price"]["table"]["1080p"]

    message = _load_error(tmp_path, missing)
    assert "model 'seedance-1-5-pro'" in message
    assert "price.table lacks resolutions ['1080p']" in message


def test_a_missing_required_field_is_refused_naming_it(tmp_path: Path) -> None:
    """A model without ``prompt_max`` names the model and the field."""

    def missing(data: dict[str, Any]) -> None:
        del _model(data, "seedance-1-0-lite-t2v")["prompt_max"]

    message = _load_error(tmp_path, missing)
    assert "model 'seedance-1-0-lite-t2v'" in message and "prompt_max" in message


def test_a_parameter_kind_other_than_select_or_number_is_refused(tmp_path: Path) -> None:
    """``kind: slider`` names the model, the parameter and the bad kind."""

    def bad(data: dict[str, Any]) -> None:
        _model(data, "seedance-1-0-pro")["params"][4]["kind"] = "slider"

    message = _load_error(tmp_path, bad)
    assert "model 'seedance-1-0-pro'" in message and "(seed)" in message
    assert "kind 'slider'" in message


def test_a_resolution_option_the_model_lacks_is_refused(tmp_path: Path) -> None:
    """Offering 1080p on 2.0 fast (which stops at 720p) names the model and the param."""

    def bad(data: dict[str, Any]) -> None:
        model = _model(data, "seedance-2-0-fast")
        model["params"] = copy.deepcopy(model["params"])
        model["params"][1]["options"] = ["480p", "720p", "1080p"]

    message = _load_error(tmp_path, bad)
    assert "model 'seedance-2-0-fast'" in message and "(resolution)" in message


def test_a_mode_route_to_an_unknown_model_is_refused(tmp_path: Path) -> None:
    """A family alias routed to a model that does not exist names the route and the target."""

    def bad(data: dict[str, Any]) -> None:
        data["mode_routes"]["seedance-1-0-lite"]["t2v"] = "seedance-1-0-lite-x"

    message = _load_error(tmp_path, bad)
    assert "mode_routes.seedance-1-0-lite" in message and "seedance-1-0-lite-x" in message


def test_a_catalog_without_models_is_refused(tmp_path: Path) -> None:
    """An empty model list is an error, not an empty platform."""
    message = _load_error(tmp_path, lambda data: data.update(models=[]))
    assert "no models defined" in message


def test_invalid_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    """A syntax error is reported as such, with the file's path."""
    path = tmp_path / "broken.yaml"
    path.write_text("models: [\n  {id: seedance-1-0-pro, name: [unclosed\n")
    with pytest.raises(CatalogError, match="not valid YAML") as caught:
        catalog_module.load(path)
    assert str(path) in str(caught.value)


LOCAL: dict[str, Any] = yaml.safe_load(
    (Path(catalog_module.__file__).parent / "local-models.yaml").read_text()
)


def _local_error(tmp_path: Path, mutate: Callable[[dict[str, Any]], None]) -> str:
    data = copy.deepcopy(LOCAL)
    mutate(data)
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(CatalogError) as caught:
        catalog_module.load(path)
    return str(caught.value)


def _local_param(data: dict[str, Any], key: str) -> dict[str, Any]:
    return next(p for p in data["models"][0]["params"] if p["key"] == key)


#: The guidance scale each open-weight model's own pipeline or model card defaults to.
GUIDANCE = {"ltx-video": 3.0, "ltx-2": 3.0, "wan-2-2-t2v-a14b": 4.0, "wan-2-2-i2v-a14b": 3.5}


def test_the_open_weight_models_load_with_guidance_and_a_negative_prompt(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(yaml.safe_dump(LOCAL, sort_keys=False))
    for spec in catalog_module.load(path).models:
        guidance, negative = spec.param("guidance_scale"), spec.param("negative_prompt")
        assert guidance is not None and guidance.kind == "decimal"
        assert guidance.default == GUIDANCE.get(spec.id, 5.0)
        assert negative is not None and negative.kind == "text" and negative.maximum == 2000
        assert spec.price.per_step


def test_a_decimal_cannot_fill_an_integer_field(tmp_path: Path) -> None:
    message = _local_error(tmp_path, lambda d: _local_param(d, "steps").update(kind="decimal"))
    assert "(steps)" in message and "a decimal cannot fill steps (integer)" in message


def test_a_decimal_default_outside_its_range_is_refused(tmp_path: Path) -> None:
    message = _local_error(tmp_path, lambda d: _local_param(d, "guidance_scale").update(default=30))
    assert "default 30 is outside [1, 20]" in message


def test_a_text_needs_its_length(tmp_path: Path) -> None:
    message = _local_error(tmp_path, lambda d: _local_param(d, "negative_prompt").pop("max"))
    assert "a text needs max" in message


def test_a_price_per_step_needs_a_steps_parameter(tmp_path: Path) -> None:
    def without_steps(data: dict[str, Any]) -> None:
        model = data["models"][0]
        model["params"] = [p for p in model["params"] if p["key"] != "steps"]

    assert "price.per_step needs the pixels rule and a steps parameter" in _local_error(
        tmp_path, without_steps
    )
