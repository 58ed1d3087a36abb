"""Widen tasks.client_request_id to 255 characters (the idempotency key limit).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("client_request_id", existing_type=sa.String(200), type_=sa.String(255))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("client_request_id", existing_type=sa.String(255), type_=sa.String(200))
