"""Tasks remember what the upstream-shaped dialects need: the create request's id, the body as
sent, the service tier (the v3 list filters by it), and a deletion mark (v3 ``DELETE`` of a
finished task hides it from every dialect; the ledger keeps pointing at it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from seedance_gateway.store.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("request_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("wire_request", Json, nullable=True))
        batch.add_column(
            sa.Column("service_tier", sa.String(20), nullable=False, server_default="default")
        )
        batch.add_column(sa.Column("deleted_at", UTCDateTime, nullable=True))
    op.create_index(op.f("ix_tasks_request_id"), "tasks", ["request_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tasks_request_id"), table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("deleted_at")
        batch.drop_column("service_tier")
        batch.drop_column("wire_request")
        batch.drop_column("request_id")
