"""category_version: a token that changes with every change to the category tree

Revision ID: 0008
Revises: 0007

Every request that shows a category needs the whole tree (breadcrumbs, children, subtrees). Reading it
costs more than the rest of an article page's statements together, and it almost never changes; so a
process keeps the trees it has read by this token, and a request reads only the token, in its own
snapshot. Triggers set a new random token in the transaction of any insert, update or delete on category,
however it is made (the API, an import, a hand-written UPDATE), so a token never stands for two states of
the table, in any database or process.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TOKEN = "lower(hex(randomblob(16)))"
POSTGRESQL_TOKEN = "md5(random()::text || clock_timestamp()::text)"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    token = SQLITE_TOKEN if sqlite else POSTGRESQL_TOKEN
    op.execute("CREATE TABLE category_version (token VARCHAR(32) NOT NULL)")
    op.execute(f"INSERT INTO category_version (token) VALUES ({token})")
    if sqlite:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER category_{event.lower()}_version AFTER {event} ON category "
                f"BEGIN UPDATE category_version SET token = {token}; END"
            )
        return
    op.execute(
        "CREATE FUNCTION category_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN UPDATE category_version SET token = {token}; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER category_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON category "
        "FOR EACH STATEMENT EXECUTE FUNCTION category_version_bump()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER category_{event}_version")
    else:
        op.execute("DROP TRIGGER category_version ON category")
        op.execute("DROP FUNCTION category_version_bump()")
    op.execute("DROP TABLE category_version")
