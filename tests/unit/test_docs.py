"""The docs cover what an operator can set."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from seedance_gateway import config

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_setting_is_documented_in_the_configuration_page() -> None:
    """Each Settings field has its SEEDANCE_* variable in docs/configuration.md."""
    page = (DOCS / "configuration.md").read_text()
    fields = [f.name for f in dataclasses.fields(config.Settings)]
    missing = [name for name in fields if f"`SEEDANCE_{name.upper()}`" not in page]
    assert missing == []


def test_every_documented_variable_is_read_from_the_environment(tmp_path: Path) -> None:
    """Each variable the page names is actually parsed by config.from_env."""
    page = (DOCS / "configuration.md").read_text()
    names = {part.split("`")[0] for part in page.split("`SEEDANCE_")[1:]} - {"<NAME>"}
    samples = {
        "HOME": str(tmp_path),
        "CATALOG_PATH": str(tmp_path / "c.yaml"),
        "CATALOG": str(tmp_path / "c.yaml"),
        "BLOBS": "s3://bucket/prefix",
        "BLOB_DOWNLOADS": "redirect",
        "ALLOW_PRIVATE_URLS": "true",
        "WEBHOOK_ALLOW_HTTP": "true",
        "WEBHOOK_SCHEDULE": "1,2",
        "RATE_LIMIT": "7/minute",
        "DATABASE_URL": "postgresql://h/db",
        "REDIS_URL": "redis://h",
        "PUBLIC_URL": "https://x",
        "SECRET": "s",
        "HOST": "0.0.0.0",
        "ARK_API_KEYS": "k1,k2",
        "ARK_REGION": "byteplus",
        "ARK_BASE_URL": "http://b/api/v3",
        "ARK_MODELS": "*",
        "ARK_CALLBACKS": "false",
        "LOG_FORMAT": "json",
        "METRICS_TOKEN": "t",
        "LOCAL_WEIGHTS": "wan-2-1-t2v-1-3b=/srv/wan",
        "LOCAL_DEVICE": "cuda:1",
        "LOCAL_DOWNLOAD": "true",
    }
    for name in names:
        value = samples.get(name, "7")
        settings = config.from_env({f"SEEDANCE_{name}": value})
        assert settings != config.Settings(), f"SEEDANCE_{name} is documented but ignored"
