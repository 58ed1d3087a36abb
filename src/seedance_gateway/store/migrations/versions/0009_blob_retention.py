"""Retention: a task records when its blobs (inputs and results) were collected, and partial
indexes find the tasks whose blobs are still stored.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seedance_gateway.store.tables import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PENDING = "blobs_collected_at IS NULL"
DELETED = "blobs_collected_at IS NULL AND deleted_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("blobs_collected_at", UTCDateTime, nullable=True))
    op.create_index(
        "ix_tasks_uncollected_finished",
        "tasks",
        ["finished_at"],
        postgresql_where=sa.text(PENDING),
        sqlite_where=sa.text(PENDING),
    )
    op.create_index(
        "ix_tasks_uncollected_deleted",
        "tasks",
        ["deleted_at"],
        postgresql_where=sa.text(DELETED),
        sqlite_where=sa.text(DELETED),
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_uncollected_deleted", table_name="tasks")
    op.drop_index("ix_tasks_uncollected_finished", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("blobs_collected_at")
