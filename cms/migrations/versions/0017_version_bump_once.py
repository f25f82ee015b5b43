"""content_version and category_version change once per transaction on PostgreSQL

Revision ID: 0017
Revises: 0016

The triggers of 0008 and 0011 fire per statement, and a write of many rows through asyncpg's executemany
is a statement per row. Each bump is an UPDATE of the version's one row, and every earlier version of that
row in the same transaction stays in the table (nothing can prune what an open transaction deleted), so
each UPDATE scans all the versions before it: a big import's bumps cost the square of its rows. One bump
per transaction is all the token needs (no other snapshot sees the transaction's writes before it commits,
and then they have a new token). A transaction-local setting says it was made; rolling back to a savepoint
undoes the setting with the UPDATE, so the next write bumps again. SQLite is unchanged: its row's UPDATE is
in place.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKEN = "md5(random()::text || clock_timestamp()::text)"
VERSIONS = ("content_version", "category_version")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for version in VERSIONS:
        made = f"'cms.{version}_bumped'"
        op.execute(
            f"CREATE OR REPLACE FUNCTION {version}_bump() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF coalesce(current_setting({made}, true), '') <> 'on' THEN "
            f"UPDATE {version} SET token = {TOKEN}; PERFORM set_config({made}, 'on', true); "
            "END IF; RETURN NULL; END $$"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for version in VERSIONS:
        op.execute(
            f"CREATE OR REPLACE FUNCTION {version}_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN UPDATE {version} SET token = {TOKEN}; RETURN NULL; END $$"
        )
