"""A task list filtered by status reads only the matching tasks (issue 19: flat with size).

Without it, ``?status=failed`` over an account with 50,000 finished tasks walked all of them
(the account's id index), and the upstream list's ``total`` counted them one by one.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tasks_account_status_id", "tasks", ["account_id", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_account_status_id", table_name="tasks")
