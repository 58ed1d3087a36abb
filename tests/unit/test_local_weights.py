"""Provider local's configuration: which open-weight models are offered, and why not."""

from __future__ import annotations

import pytest

from seedance_gateway import catalog as catalog_module
from seedance_gateway.config import ConfigError
from seedance_gateway.providers.local import weights

BOTH = catalog_module.load().joined(catalog_module.load_local())
WAN = "wan-2-1-t2v-1-3b"


def test_the_setting_maps_models_to_folders_or_repo_ids() -> None:
    parsed = weights.parse(f" {WAN}=/srv/wan , other = org/repo ,")
    assert parsed == {WAN: "/srv/wan", "other": "org/repo"}
    assert weights.parse("") == {}


@pytest.mark.parametrize("setting", ["wan", f"{WAN}=", "=/srv", f"{WAN}=a,{WAN}=b"])
def test_a_malformed_setting_names_the_entry(setting: str) -> None:
    with pytest.raises(ConfigError) as caught:
        weights.parse(setting)
    assert "SEEDANCE_LOCAL_WEIGHTS" in str(caught.value)


#: The shipped open-weight models after ``WAN``, in catalog order.
OTHER_LOCAL_MODELS = (
    "wan-2-1-i2v-14b-480p",
    "wan-2-1-flf2v-14b-720p",
    "wan-2-2-ti2v-5b",
    "ltx-video",
    "wan-2-2-t2v-a14b",
    "wan-2-2-i2v-a14b",
    "ltx-2",
)


def test_a_named_model_with_the_packages_installed_is_offered() -> None:
    assert WAN not in weights.unavailable(BOTH, {WAN: "/srv/wan"})
    assert WAN not in weights.unavailable(BOTH, {"Wan-AI/Wan2.1-T2V-1.3B-Diffusers": "/srv"})


def test_an_unnamed_model_or_missing_packages_say_why(monkeypatch: pytest.MonkeyPatch) -> None:
    reasons = weights.unavailable(BOTH, {WAN: "/srv/wan"})
    assert set(reasons) == set(OTHER_LOCAL_MODELS)
    assert set(reasons.values()) == {"no weights: name them in SEEDANCE_LOCAL_WEIGHTS"}
    monkeypatch.setattr(weights, "missing_packages", lambda: ["torch", "diffusers"])
    reason = weights.unavailable(BOTH, {WAN: "/srv/wan"})[WAN]
    assert reason == "torch, diffusers not installed: pip install 'seedance-gateway[local]'"


def test_weights_for_a_model_that_is_not_local_are_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        weights.unavailable(BOTH, {"seedance-2-0": "/srv/x"})
    assert "names seedance-2-0, not local models of the catalog" in str(caught.value)


def test_the_local_models_join_the_catalog_and_leave_it_with_their_names() -> None:
    shipped = catalog_module.load()
    assert shipped.find(WAN) is None
    spec = BOTH.find("wan2.1-t2v-1.3b")
    assert spec is not None and spec.id == WAN and spec.provider == "local"
    local = [m.id for m in BOTH.models if m.provider == "local"]
    assert local == [WAN, *OTHER_LOCAL_MODELS]
    assert len(BOTH.models) == len(shipped.models) + 1 + len(OTHER_LOCAL_MODELS)
    back = BOTH.without(local)
    assert back.find(WAN) is None and back.find("wan2.1-t2v-1.3b") is None
    assert [m.id for m in back.models] == [m.id for m in shipped.models]


def test_wan_makes_sixteen_frames_a_second_plus_one() -> None:
    from seedance_gateway.catalog.params import parse
    from seedance_gateway.domain.requests import normalize

    spec = BOTH.find(WAN)
    assert spec is not None
    for seconds, frames in ((1, 17), (5, 81)):
        request = normalize(spec, prompt="a kite", fields=parse(spec, {"duration": seconds}))
        assert (request.frames, request.fps, (request.width, request.height)) == (
            frames,
            16,
            (832, 480),
        )
        assert (request.frames - 1) % 4 == 0  # Wan's 4k + 1
