"""SQLAlchemy Core tables: the one schema for SQLite and PostgreSQL (Alembic migrates it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both backends (SQLite keeps them as naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


Json = JSON().with_variant(JSONB(), "postgresql")

accounts = Table(
    "accounts",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("balance", BigInteger, nullable=False, server_default="0"),
    Column("storage_quota_bytes", BigInteger, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("email", String(320), nullable=True, unique=True),  #: lower-cased; console sign-in
    Column("password_hash", String(200), nullable=True),  #: ``domain.passwords``; NULL: none
    Column("role", String(20), nullable=False, server_default="user"),  #: user | admin
    CheckConstraint("balance >= 0", name="balance_not_negative"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("prefix", String(20), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("scopes", String(200), nullable=True),  #: space-separated; NULL: every scope
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),  #: refused from then on; NULL: never
)


def uncollected_indexes() -> tuple[Index, Index]:
    """Partial indexes that find the finished and the deleted tasks whose blobs are still
    stored, so that retention never scans the tasks that are done with."""
    pending = text("blobs_collected_at IS NULL")
    deleted = text("blobs_collected_at IS NULL AND deleted_at IS NOT NULL")
    return (
        Index(
            "ix_tasks_uncollected_finished",
            "finished_at",
            postgresql_where=pending,
            sqlite_where=pending,
        ),
        Index(
            "ix_tasks_uncollected_deleted",
            "deleted_at",
            postgresql_where=deleted,
            sqlite_where=deleted,
        ),
    )


tasks = Table(
    "tasks",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("api_key_id", String(40), ForeignKey("api_keys.id"), nullable=False),
    Column("dialect", String(40), nullable=False),
    Column("model", String(100), nullable=False),
    Column("model_alias", String(200), nullable=False),
    Column("request", Json, nullable=False),
    Column("status", String(20), nullable=False),
    Column("progress", Integer, nullable=False, server_default="0"),
    Column("quote", BigInteger, nullable=False),
    Column("reserved_credits", BigInteger, nullable=False),
    Column("final_credits", BigInteger, nullable=False, server_default="0"),
    Column("result", Json, nullable=True),
    Column("error", Json, nullable=True),
    Column("client_request_id", String(255), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("request_id", String(40), nullable=True),  #: the create request's x-request-id
    Column("wire_request", Json, nullable=True),  #: the create body as sent (data: URLs elided)
    Column("service_tier", String(20), nullable=False, server_default="default"),
    Column("deleted_at", UTCDateTime, nullable=True),  #: hidden by a v3 DELETE
    Column("blobs_collected_at", UTCDateTime, nullable=True),  #: inputs and results deleted
    Index(None, "account_id", "id"),
    Index("ix_tasks_account_status_id", "account_id", "status", "id"),  #: filtered lists
    Index(None, "request_id"),
    Index(None, "api_key_id", "status"),
    Index(None, "status", "expires_at"),
    *uncollected_indexes(),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(40), nullable=False),
    Column("task_id", String(40), ForeignKey("tasks.id"), nullable=True),
    Column("payload", Json, nullable=True),
    Column("state", String(20), nullable=False),
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False),
    Column("run_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "state", "run_at"),
    Index(None, "task_id"),
)

ledger = Table(
    "ledger",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False, index=True),
    Column("task_id", String(40), ForeignKey("tasks.id"), nullable=True),
    Column("kind", String(20), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("balance_after", BigInteger, nullable=False),
    Column("note", String(500), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("task_id", "kind"),
    CheckConstraint("amount >= 0", name="amount_not_negative"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("api_key_id", String(40), ForeignKey("api_keys.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("task_id", String(40), ForeignKey("tasks.id"), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

files = Table(
    "files",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("name", String(255), nullable=False),
    Column("mime_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("duration", Float, nullable=True),
    Column("blob_key", String(255), nullable=False),
    Column("client_request_id", String(128), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "account_id", "id"),
    Index("ix_files_created_at", "created_at"),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("description", String(500), nullable=False),
    Column("event_types", Json, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(500), nullable=True),
    Column("secret", String(200), nullable=False),
    Column("previous_secret", String(200), nullable=True),
    Column("previous_secret_expires_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime, nullable=True),
    Index(None, "account_id", "id"),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("type", String(60), nullable=False),
    Column("task_id", String(40), ForeignKey("tasks.id"), nullable=True),
    Column("data", Json, nullable=False),  #: the task as it was (a dialect-neutral snapshot)
    Column("test", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "account_id", "id"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account_id", String(40), ForeignKey("accounts.id"), nullable=False),
    Column("event_id", String(40), ForeignKey("webhook_events.id"), nullable=False),
    Column("endpoint_id", String(40), ForeignKey("webhook_endpoints.id"), nullable=True),
    Column("task_id", String(40), ForeignKey("tasks.id"), nullable=True),
    Column("url", String(2048), nullable=False),
    Column("renderer", String(40), nullable=False),  #: "webhook" or the dialect of a callback
    Column("status", String(20), nullable=False),
    Column("attempt_count", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "endpoint_id", "id"),
    Index(None, "task_id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), ForeignKey("webhook_deliveries.id"), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(1000), nullable=True),
    Column("response_excerpt", String(1000), nullable=True),
    Index(None, "delivery_id", "attempt"),
)

upstream_tasks = Table(
    "upstream_tasks",
    metadata,
    Column("task_id", String(40), ForeignKey("tasks.id"), primary_key=True),
    Column("channel", String(40), nullable=False),  #: which upstream account carries it
    Column("upstream_model", String(100), nullable=False),
    Column("upstream_id", String(100), nullable=True),  #: known once the upstream accepted it
    #: submitting | ambiguous | active | fetching | done (see ``store.upstream``)
    Column("state", String(20), nullable=False),
    Column("service_tier", String(20), nullable=False, server_default="default"),
    Column("seed", BigInteger, nullable=True),  #: the seed we sent: how reconciliation finds it
    Column("callback_secret", String(64), nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),  #: when the create request was sent
    Column("submits", Integer, nullable=False, server_default="1"),
    Column("next_check_at", UTCDateTime, nullable=False),
    Column("checks", Integer, nullable=False, server_default="0"),
    Column("upstream_status", String(40), nullable=True),  #: the last status it reported
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "state", "next_check_at"),
    Index(None, "channel", "state"),
    Index(None, "upstream_id"),
)
