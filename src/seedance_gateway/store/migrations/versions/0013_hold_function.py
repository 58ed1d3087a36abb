"""A create's hold in one call (PostgreSQL): ``seedance_hold``.

A create locked the account with its credit ``UPDATE``, then counted the key's tasks in flight
in a second statement: the count had to follow the lock, to see every task committed before
it, so the two could not share a statement (one statement sees one snapshot, taken before its
lock waits). With ``BEGIN`` and ``COMMIT`` that made five round trips a create (issue 19).

``seedance_hold`` does both in one call: a ``VOLATILE`` function's queries each take a fresh
snapshot, so its count, run after its lock, sees what the second statement saw. It refuses with
an error the caller maps to the API's (``SDINF``: the key's in-flight limit, ``SDCRD``: the
balance, each with the figure as the error's detail), so a create is one statement that
inserts the task, its hold's ledger entry and its job, and commits by itself. The task the
call is made for is left out of the count: the same statement may have inserted it already.
The in-flight statuses are ``queued`` and ``running`` (``store.tasks.IN_FLIGHT``). SQLite
keeps the statements: its ``BEGIN IMMEDIATE`` serializes writers, and a statement costs no
round trip there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

FUNCTION = "seedance_hold"
SIGNATURE = "p_account text, p_amount bigint, p_api_key text, p_task text, p_limit integer"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        CREATE FUNCTION {FUNCTION}({SIGNATURE}) RETURNS bigint
        LANGUAGE plpgsql VOLATILE AS $$
        DECLARE
            held bigint;
            in_flight integer;
        BEGIN
            -- The lock an UPDATE takes: it serializes an account's creates (so each key's).
            SELECT balance INTO held FROM accounts WHERE id = p_account FOR NO KEY UPDATE;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'no account %', p_account USING ERRCODE = 'SDACC';
            END IF;
            SELECT count(*) INTO in_flight FROM (
                SELECT 1 FROM tasks
                WHERE api_key_id = p_api_key AND status IN ('queued', 'running')
                    AND id <> p_task
                LIMIT p_limit + 1
            ) AS flying;
            IF in_flight >= p_limit THEN
                RAISE EXCEPTION 'API key % has % tasks in flight', p_api_key, in_flight
                    USING ERRCODE = 'SDINF', DETAIL = in_flight::text;
            END IF;
            IF held < p_amount THEN
                RAISE EXCEPTION 'account % holds % credits', p_account, held
                    USING ERRCODE = 'SDCRD', DETAIL = held::text;
            END IF;
            UPDATE accounts SET balance = balance - p_amount WHERE id = p_account
                RETURNING balance INTO held;
            RETURN held;
        END
        $$
        """
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}({SIGNATURE})")
