"""Accounts get an email and password for the console's sign-in, and a role (user or admin);
API keys may expire (the keys a sign-in mints do).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from seedance_gateway.store.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("email", sa.String(320), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.String(200), nullable=True))
        batch.add_column(sa.Column("role", sa.String(20), nullable=False, server_default="user"))
        batch.create_unique_constraint("uq_accounts_email", ["email"])
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("expires_at", UTCDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("accounts") as batch:
        batch.drop_constraint("uq_accounts_email", type_="unique")
        batch.drop_column("role")
        batch.drop_column("password_hash")
        batch.drop_column("email")
