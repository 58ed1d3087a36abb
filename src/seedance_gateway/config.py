"""Settings from the environment (``SEEDANCE_*``): pure parsing, no connections.

Every setting is documented in ``docs/configuration.md``; a test keeps the two in step.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from seedance_gateway.webhooks import schedule

BLOB_DOWNLOADS = ("proxy", "redirect")
LOG_FORMATS = ("text", "json")


class ConfigError(ValueError):
    """The settings (or the catalog with them) cannot work; the message says what to change."""


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the composition roots (``app.create_app``, ``worker``) need."""

    home: Path = Path(".seedance")
    database_url: str = ""  #: empty means SQLite at ``home/seedance.db``
    redis_url: str = ""  #: empty means in-memory rate limits (one process)
    public_url: str = ""  #: base of the URLs we hand out; empty means ``http://host:port``
    secret: str = ""  #: signs blob URLs and duration tokens; empty means ``home/secret``
    blobs: str = ""  #: where bytes live: empty means ``home/blobs``; ``s3://BUCKET[/PREFIX]``
    blob_downloads: str = "proxy"  #: ``proxy`` (stream through us) or ``redirect`` (307 to S3)
    catalog_path: Path | None = None  #: an operator's model catalog; None means the shipped one
    rate_limit: str = "120/minute"  #: requests per API key
    key_cache_seconds: float = 5.0  #: how long a process trusts a key it read; 0: never
    max_in_flight: int = 20  #: queued + running tasks per API key
    starter_credits: int = 1000  #: credits of the key the first ``serve`` creates
    sign_in_ttl_seconds: int = 43200  #: lifetime of the key a password sign-in mints
    worker_concurrency: int = 2  #: tasks a worker runs at once
    render_processes: int = 2  #: CPU processes the preview renderer may use
    lease_seconds: float = 60.0
    heartbeat_seconds: float = 15.0
    poll_seconds: float = 2.0  #: fallback poll when no wake-up arrives
    job_max_attempts: int = 3
    url_ttl_seconds: int = 86400  #: lifetime of signed result URLs
    result_ttl_days: float = 30.0  #: a finished task's blobs are deleted after this; 0: kept
    upload_ttl_days: float = 0.0  #: Files API uploads are deleted after this; 0: kept
    collect_interval_seconds: float = 300.0  #: how often the one ``collect`` job runs
    idempotency_ttl_seconds: int = 86400
    default_expires_after: int = 172800  #: seconds before an unfinished task expires
    allow_private_urls: bool = False  #: let reference URLs reach private addresses (tests)
    fetch_timeout_seconds: float = 20.0  #: total time to fetch one remote reference
    storage_quota_bytes: int = 1024**3  #: Files API bytes per account (an account may override)
    webhook_schedule: str = "5,300,1800,7200,18000,36000,50400,72000,86400"  #: retry delays (s)
    webhook_timeout_seconds: float = 15.0  #: one delivery attempt, connect to last byte
    webhook_max_payload_bytes: int = 65536
    webhook_allow_http: bool = False  #: accept http:// webhook and callback URLs (tests, LANs)
    webhook_concurrency: int = 8  #: deliveries a worker makes at once
    sync_wait_seconds: float = 300.0  #: how long a synchronous create (``/seedance/videos``) waits
    ark_api_keys: str = ""  #: upstream API keys, comma-separated: one channel each
    ark_region: str = "volcengine"  #: volcengine (doubao-... ids) or byteplus (seedance-/dreamina-)
    ark_base_url: str = ""  #: empty means the region's official host
    ark_models: str = ""  #: catalog models sent upstream besides those the catalog marks ``ark``
    ark_rpm: int = 600  #: creates per minute per channel
    ark_max_in_flight: int = 10  #: tasks per channel handed over and not yet finished
    ark_concurrency: int = 16  #: upstream steps (submit, fetch) a worker runs at once
    ark_list_interval_seconds: float = 1.0  #: least time between list calls per channel
    ark_poll_min_seconds: float = 2.0  #: first status check after a submit
    ark_poll_max_seconds: float = 30.0  #: longest gap between status checks
    ark_batch: int = 100  #: task ids per list call
    ark_reconcile_after_seconds: float = 30.0  #: an ambiguous create is resent only after this
    ark_timeout_seconds: float = 30.0  #: one upstream HTTP call
    ark_max_video_bytes: int = 512 * 1024**2  #: largest result video copied home
    ark_callbacks: bool = True  #: ask the upstream to call back (only when ``public_url`` is set)
    local_weights: str = ""  #: open-weight models: ``MODEL=DIR_OR_REPO_ID,...`` (provider local)
    local_device: str = "auto"  #: ``auto`` (the first GPU, else the CPU), ``cpu`` or ``cuda:N``
    local_download: bool = False  #: let ``local`` fetch a repo id's weights (else offline only)
    #: the open-weight models' speed settings, JSON by model (``providers.local.speed``)
    local_speed: str = ""
    log_format: str = "text"  #: ``text`` or ``json`` (one object a line)
    metrics_token: str = ""  #: bearer token ``/metrics`` requires; empty means open
    metrics_port: int = 0  #: a ``seedance worker``'s own ``/metrics`` listener; 0 means none
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def result_ttl(self) -> timedelta | None:
        """How long a finished task's blobs are kept (None: for ever)."""
        return timedelta(days=self.result_ttl_days) if self.result_ttl_days > 0 else None

    @property
    def upload_ttl(self) -> timedelta | None:
        """How long a Files API upload is kept (None: until it is deleted)."""
        return timedelta(days=self.upload_ttl_days) if self.upload_ttl_days > 0 else None

    @property
    def ark_channel_keys(self) -> tuple[str, ...]:
        """The upstream API keys, one per channel."""
        return tuple(k.strip() for k in self.ark_api_keys.split(",") if k.strip())

    @property
    def effective_ark_base_url(self) -> str:
        """The configured upstream base URL, or the region's official one."""
        return (self.ark_base_url or ARK_HOSTS[self.ark_region]).rstrip("/")

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file under ``home``."""
        if self.database_url:
            return normalize_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.home / 'seedance.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        """Where clients reach us, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def webhook_delays(self) -> tuple[float, ...]:
        """The retry delays after a failed delivery attempt, in seconds."""
        return schedule.parse(self.webhook_schedule)

    def with_changes(self, **changes: object) -> Settings:
        """A copy with some fields replaced."""
        return replace(self, **changes)  # type: ignore[arg-type]


ARK_HOSTS = {
    "volcengine": "https://ark.cn-beijing.volces.com/api/v3",
    "byteplus": "https://ark.ap-southeast.bytepluses.com/api/v3",
}


def normalize_database_url(url: str) -> str:
    """Maps plain ``postgresql://`` and ``sqlite://`` URLs to their async drivers."""
    for plain, driver in (
        ("postgres://", "postgresql+asyncpg://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    return url


_INT_FIELDS = {
    "max_in_flight",
    "starter_credits",
    "sign_in_ttl_seconds",
    "worker_concurrency",
    "render_processes",
    "job_max_attempts",
    "url_ttl_seconds",
    "idempotency_ttl_seconds",
    "default_expires_after",
    "port",
    "storage_quota_bytes",
    "webhook_max_payload_bytes",
    "webhook_concurrency",
    "ark_rpm",
    "ark_max_in_flight",
    "ark_concurrency",
    "ark_batch",
    "ark_max_video_bytes",
    "metrics_port",
}
_FLOAT_FIELDS = {
    "key_cache_seconds",
    "collect_interval_seconds",
    "result_ttl_days",
    "upload_ttl_days",
    "lease_seconds",
    "heartbeat_seconds",
    "poll_seconds",
    "fetch_timeout_seconds",
    "webhook_timeout_seconds",
    "sync_wait_seconds",
    "ark_list_interval_seconds",
    "ark_poll_min_seconds",
    "ark_poll_max_seconds",
    "ark_reconcile_after_seconds",
    "ark_timeout_seconds",
}
_BOOL_FIELDS = {"allow_private_urls", "webhook_allow_http", "ark_callbacks", "local_download"}
_STR_FIELDS = {
    "blobs",
    "blob_downloads",
    "database_url",
    "redis_url",
    "public_url",
    "secret",
    "rate_limit",
    "host",
    "webhook_schedule",
    "ark_api_keys",
    "ark_region",
    "ark_base_url",
    "ark_models",
    "local_weights",
    "local_device",
    "local_speed",
    "log_format",
    "metrics_token",
}


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Reads ``SEEDANCE_<FIELD>`` variables; a malformed number raises ``ValueError`` naming it."""
    env = os.environ if env is None else env
    values: dict[str, object] = {}
    for name in _INT_FIELDS | _FLOAT_FIELDS | _STR_FIELDS | _BOOL_FIELDS | {"home", "catalog_path"}:
        raw = env.get(f"SEEDANCE_{name.upper()}")
        if raw is None or raw == "":
            continue
        values[name] = _parse(name, raw)
    if "catalog_path" not in values and env.get("SEEDANCE_CATALOG"):
        values["catalog_path"] = Path(env["SEEDANCE_CATALOG"])
    return Settings(**values)  # type: ignore[arg-type]


def _parse(name: str, raw: str) -> object:
    try:
        if name in _INT_FIELDS:
            return int(raw)
        if name in _FLOAT_FIELDS:
            return float(raw)
    except ValueError as exc:
        raise ValueError(f"SEEDANCE_{name.upper()} must be a number, got {raw!r}") from exc
    if name in _BOOL_FIELDS:
        if raw.strip().lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
            raise ValueError(f"SEEDANCE_{name.upper()} must be true or false, got {raw!r}")
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if name in {"home", "catalog_path"}:
        return Path(raw)
    problem = _STRING_CHECKS[name](raw) if name in _STRING_CHECKS else None
    if problem:
        raise ValueError(f"SEEDANCE_{name.upper()} {problem}, got {raw!r}")
    return raw


def _schedule_problem(raw: str) -> str | None:
    try:
        schedule.parse(raw)
    except ValueError as exc:
        return f"is not a retry schedule ({exc})"
    return None


#: What is wrong with a string setting's value (None: nothing), by setting.
_STRING_CHECKS: dict[str, Callable[[str], str | None]] = {
    "blobs": lambda raw: None if raw.startswith("s3://") else "must be s3://BUCKET[/PREFIX]",
    "blob_downloads": lambda raw: None if raw in BLOB_DOWNLOADS else "must be proxy or redirect",
    "ark_region": lambda raw: (
        None if raw in ARK_HOSTS else f"must be one of {', '.join(ARK_HOSTS)}"
    ),
    "webhook_schedule": _schedule_problem,
    "log_format": lambda raw: None if raw in LOG_FORMATS else "must be text or json",
}


def require_shared_secret(settings: Settings, *, split: bool) -> None:
    """Refuses a deployment of several processes on PostgreSQL without ``SEEDANCE_SECRET``.

    Such a deployment is an API without workers or a standalone worker (``split``), or one whose
    blobs are shared (``SEEDANCE_BLOBS``). Each of its processes would otherwise sign result
    URLs, duration tokens and callbacks with a secret of its own home, and refuse the others'.
    """
    if settings.secret or not settings.effective_database_url.startswith("postgresql"):
        return
    if split or settings.blobs:
        raise ConfigError(
            "SEEDANCE_SECRET is required when the API and the workers run as separate "
            "processes or share SEEDANCE_BLOBS: set the same long random value on every process "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )


def load_secret(settings: Settings) -> str:
    """The signing secret: configured, or generated once and kept in ``home/secret``."""
    if settings.secret:
        return settings.secret
    path = settings.home / "secret"
    if path.exists():
        return path.read_text().strip()
    settings.home.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value
