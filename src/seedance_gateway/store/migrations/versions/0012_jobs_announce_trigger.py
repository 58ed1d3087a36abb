"""A new job announces itself (PostgreSQL): ``NOTIFY seedance_jobs`` from a trigger.

Every transaction that queued a job sent its own ``NOTIFY`` after the ``INSERT``: one more
round trip in each create and each settle (issue 19). A statement-level trigger on ``jobs``
sends it inside the ``INSERT`` instead; like any ``NOTIFY`` it is delivered when the
transaction commits and never if it rolls back. SQLite has no listeners: nothing changes there.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

FUNCTION = "seedance_announce_job"
TRIGGER = "jobs_announce"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NOTIFY seedance_jobs;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT ON jobs "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON jobs")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
