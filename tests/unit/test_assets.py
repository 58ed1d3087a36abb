"""``asset://`` references: recognised in any letter case, checked for shape."""

from __future__ import annotations

import pytest

from seedance_gateway.errors import ValidationFailed
from seedance_gateway.references import check_asset, is_asset


@pytest.mark.parametrize("url", ["asset://a1", " ASSET://a-b_c.d:e/f", "asset://"])
def test_any_asset_scheme_is_recognised(url: str) -> None:
    assert is_asset(url)


@pytest.mark.parametrize("url", ["https://x/asset://a", "data:asset", "file_asset", "assets://a"])
def test_other_urls_are_not_assets(url: str) -> None:
    assert not is_asset(url)


def test_a_well_formed_asset_is_kept_trimmed() -> None:
    assert check_asset("  asset://asset-2026.x:y/z  ", "content[1]") == "asset://asset-2026.x:y/z"


@pytest.mark.parametrize("url", ["asset://", "asset://a b", "asset://" + "a" * 201, "asset://a?b"])
def test_a_malformed_asset_is_a_400_naming_the_field(url: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_asset(url, "content[1]")
    assert caught.value.field == "content[1].url"
    assert "is not a valid asset URL" in caught.value.message
