"""Tasks carried by the real upstream: which channel, the upstream's id, and where the durable
state machine stands (submitting, ambiguous, active, fetching, done).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seedance_gateway.store.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upstream_tasks",
        sa.Column("task_id", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(40), nullable=False),
        sa.Column("upstream_model", sa.String(100), nullable=False),
        sa.Column("upstream_id", sa.String(100), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("service_tier", sa.String(20), nullable=False, server_default="default"),
        sa.Column("seed", sa.BigInteger, nullable=True),
        sa.Column("callback_secret", sa.String(64), nullable=False),
        sa.Column("submitted_at", UTCDateTime, nullable=False),
        sa.Column("submits", sa.Integer, nullable=False, server_default="1"),
        sa.Column("next_check_at", UTCDateTime, nullable=False),
        sa.Column("checks", sa.Integer, nullable=False, server_default="0"),
        sa.Column("upstream_status", sa.String(40), nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_upstream_tasks_task_id_tasks")
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_upstream_tasks")),
    )
    op.create_index(
        op.f("ix_upstream_tasks_state_next_check_at"), "upstream_tasks", ["state", "next_check_at"]
    )
    op.create_index(op.f("ix_upstream_tasks_channel_state"), "upstream_tasks", ["channel", "state"])
    op.create_index(op.f("ix_upstream_tasks_upstream_id"), "upstream_tasks", ["upstream_id"])


def downgrade() -> None:
    op.drop_table("upstream_tasks")
