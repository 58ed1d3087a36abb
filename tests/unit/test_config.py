"""Settings from the environment (config.from_env) and database URL normalization."""

from __future__ import annotations

from pathlib import Path

import pytest

from seedance_gateway.config import (
    ConfigError,
    Settings,
    from_env,
    normalize_database_url,
    require_shared_secret,
)


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    """No SEEDANCE_* variables: the defaults of Settings."""
    settings = from_env({})
    assert settings == Settings()
    assert settings.rate_limit == "120/minute"
    assert (settings.max_in_flight, settings.lease_seconds, settings.port) == (20, 60.0, 8000)


def test_every_kind_of_setting_is_parsed_to_its_type() -> None:
    """Integers, floats, strings and paths arrive typed."""
    settings = from_env(
        {
            "SEEDANCE_HOME": "/srv/seedance",
            "SEEDANCE_DATABASE_URL": "postgresql://db/seedance",
            "SEEDANCE_REDIS_URL": "redis://cache:6379/0",
            "SEEDANCE_MAX_IN_FLIGHT": "5",
            "SEEDANCE_LEASE_SECONDS": "2.5",
            "SEEDANCE_POLL_SECONDS": "0.5",
            "SEEDANCE_PORT": "9000",
            "SEEDANCE_RATE_LIMIT": "5/second",
            "SEEDANCE_CATALOG_PATH": "/etc/seedance/models.yaml",
            "UNRELATED": "ignored",
        }
    )
    assert settings.home == Path("/srv/seedance")
    assert settings.database_url == "postgresql://db/seedance"
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.max_in_flight == 5 and isinstance(settings.max_in_flight, int)
    assert settings.lease_seconds == 2.5 and settings.poll_seconds == 0.5
    assert settings.port == 9000
    assert settings.rate_limit == "5/second"
    assert settings.catalog_path == Path("/etc/seedance/models.yaml")


def test_empty_values_count_as_unset() -> None:
    """``SEEDANCE_PORT=`` keeps the default rather than failing."""
    assert from_env({"SEEDANCE_PORT": "", "SEEDANCE_SECRET": ""}) == Settings()


def test_seedance_catalog_is_accepted_as_the_short_name_of_the_catalog_path() -> None:
    """SEEDANCE_CATALOG works, and SEEDANCE_CATALOG_PATH wins when both are set."""
    assert from_env({"SEEDANCE_CATALOG": "/a.yaml"}).catalog_path == Path("/a.yaml")
    both = {"SEEDANCE_CATALOG": "/a.yaml", "SEEDANCE_CATALOG_PATH": "/b.yaml"}
    assert from_env(both).catalog_path == Path("/b.yaml")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SEEDANCE_PORT", "eighty"),
        ("SEEDANCE_MAX_IN_FLIGHT", "2.5"),
        ("SEEDANCE_LEASE_SECONDS", "a minute"),
        ("SEEDANCE_JOB_MAX_ATTEMPTS", "3x"),
    ],
)
def test_a_malformed_number_names_the_variable_and_the_value(variable: str, value: str) -> None:
    """The error says which variable is wrong and what it held."""
    with pytest.raises(ValueError) as caught:
        from_env({variable: value})
    assert str(caught.value) == f"{variable} must be a number, got {value!r}"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/x", "postgresql+asyncpg://u:p@db:5432/x"),
        ("postgresql://u:p@db/x", "postgresql+asyncpg://u:p@db/x"),
        ("postgresql+asyncpg://db/x", "postgresql+asyncpg://db/x"),
        ("sqlite:///var/seedance.db", "sqlite+aiosqlite:///var/seedance.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql+psycopg://db/x", "postgresql+psycopg://db/x"),
    ],
)
def test_plain_database_urls_get_the_async_driver(url: str, expected: str) -> None:
    """postgres://, postgresql:// and sqlite:// gain asyncpg / aiosqlite; explicit drivers stay."""
    assert normalize_database_url(url) == expected


def test_the_effective_database_url_defaults_to_sqlite_under_home(tmp_path: Path) -> None:
    """No database URL: an absolute SQLite file in home; a plain URL is normalized."""
    settings = Settings(home=tmp_path)
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'seedance.db'}"
    configured = settings.with_changes(database_url="postgres://db/x")
    assert configured.effective_database_url == "postgresql+asyncpg://db/x"


def test_the_effective_public_url_defaults_to_host_and_port_without_a_trailing_slash() -> None:
    """Public URLs never end in a slash, so joined paths have exactly one."""
    assert Settings(host="0.0.0.0", port=8080).effective_public_url == "http://0.0.0.0:8080"
    assert Settings(public_url="https://api.example.com/").effective_public_url == (
        "https://api.example.com"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("Yes", True), (" on ", True), ("0", False), ("FALSE", False)],
)
def test_boolean_settings_accept_the_usual_spellings(value: str, expected: bool) -> None:
    """1/true/yes/on and 0/false/no/off, in any case, set a boolean."""
    assert from_env({"SEEDANCE_ALLOW_PRIVATE_URLS": value}).allow_private_urls is expected


def test_a_malformed_boolean_names_the_variable_and_the_value() -> None:
    """``maybe`` is neither true nor false; the error says which variable held it."""
    with pytest.raises(ValueError) as caught:
        from_env({"SEEDANCE_ALLOW_PRIVATE_URLS": "maybe"})
    assert str(caught.value) == "SEEDANCE_ALLOW_PRIVATE_URLS must be true or false, got 'maybe'"


S3_FORM = "must be s3://BUCKET[/PREFIX]"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SEEDANCE_BLOBS", "/var/blobs", f"SEEDANCE_BLOBS {S3_FORM}, got '/var/blobs'"),
        ("SEEDANCE_BLOBS", "gs://b", f"SEEDANCE_BLOBS {S3_FORM}, got 'gs://b'"),
        (
            "SEEDANCE_BLOB_DOWNLOADS",
            "cdn",
            "SEEDANCE_BLOB_DOWNLOADS must be proxy or redirect, got 'cdn'",
        ),
    ],
)
def test_a_blob_setting_that_cannot_work_names_what_it_must_be(
    variable: str, value: str, message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        from_env({variable: value})
    assert str(caught.value) == message


def test_the_log_format_is_text_or_json() -> None:
    """``SEEDANCE_LOG_FORMAT`` takes the two formats and names them when refusing another."""
    assert from_env({"SEEDANCE_LOG_FORMAT": "json"}).log_format == "json"
    assert Settings().log_format == "text"
    with pytest.raises(ValueError) as caught:
        from_env({"SEEDANCE_LOG_FORMAT": "logfmt"})
    assert str(caught.value) == "SEEDANCE_LOG_FORMAT must be text or json, got 'logfmt'"


def test_the_blob_settings_are_read() -> None:
    settings = from_env({"SEEDANCE_BLOBS": "s3://media/gw", "SEEDANCE_BLOB_DOWNLOADS": "redirect"})
    assert (settings.blobs, settings.blob_downloads) == ("s3://media/gw", "redirect")
    assert (Settings().blobs, Settings().blob_downloads) == ("", "proxy")


PG = "postgresql://127.0.0.1/db"


@pytest.mark.parametrize(
    ("settings", "split"),
    [
        (Settings(database_url=PG), True),  # serve --no-worker, or a standalone worker
        (Settings(database_url=PG, blobs="s3://b"), False),  # shared blobs: many machines
    ],
)
def test_a_split_deployment_on_postgresql_needs_an_explicit_secret(
    settings: Settings, split: bool
) -> None:
    with pytest.raises(ConfigError, match="SEEDANCE_SECRET is required"):
        require_shared_secret(settings, split=split)
    require_shared_secret(settings.with_changes(secret="s" * 43), split=split)


@pytest.mark.parametrize(
    ("settings", "split"),
    [
        (Settings(database_url=PG), False),  # one embedded serve: its home's secret is enough
        (Settings(), True),  # SQLite: one machine, one home
        (Settings(blobs="s3://b"), True),
    ],
)
def test_one_process_or_sqlite_may_keep_the_homes_secret(settings: Settings, split: bool) -> None:
    require_shared_secret(settings, split=split)
