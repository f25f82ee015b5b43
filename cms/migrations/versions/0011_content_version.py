"""content_version: a token that changes with every change to what readers can be shown

Revision ID: 0011
Revises: 0010

The response cache keeps answers by this token (delivery.md): a request reads only the token, in its own
snapshot, and an answer kept under another token is never served. As with category_version (0008), the
triggers set a new random token in the transaction of any insert, update or delete on a content table,
however it is made (the API, an import, a scheduled publication's event, a hand-written UPDATE), so a
token never stands for two states of the content, in any database or process.

purge_cursor: how far in the change log the purges sent to CMS_PURGE_URL have gone (`content.purges`);
NULL until the first is sent.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_TOKEN = "lower(hex(randomblob(16)))"
POSTGRESQL_TOKEN = "md5(random()::text || clock_timestamp()::text)"
TABLES = (
    "article",
    "author",
    "category",
    "source",
    "article_author",
    "article_source",
    "article_tag",
    "change_event",
)
EVENTS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    token = SQLITE_TOKEN if sqlite else POSTGRESQL_TOKEN
    op.execute("CREATE TABLE content_version (token VARCHAR(32) NOT NULL)")
    op.execute(f"INSERT INTO content_version (token) VALUES ({token})")
    op.execute("CREATE TABLE purge_cursor (sequence BIGINT)")
    op.execute("INSERT INTO purge_cursor (sequence) VALUES (NULL)")
    if not sqlite:
        op.execute(
            "CREATE FUNCTION content_version_bump() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN UPDATE content_version SET token = {token}; RETURN NULL; END $$"
        )
    for name in TABLES:
        bump_triggers(name)


def bump_triggers(table: str, version: str = "content_version") -> None:
    """Triggers that give `version` (this token's table, or 0008's category_version) a new token in the
    transaction of any change to `table`: later migrations' tables use them too."""
    if op.get_bind().dialect.name == "sqlite":
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_{event.lower()}_{version} AFTER {event} ON {table} "
                f"BEGIN UPDATE {version} SET token = {SQLITE_TOKEN}; END"
            )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_{version} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "
            f"{table} FOR EACH STATEMENT EXECUTE FUNCTION {version}_bump()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name in TABLES:
        if sqlite:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER {name}_{event.lower()}_content_version")
        else:
            op.execute(f"DROP TRIGGER {name}_content_version ON {name}")
    if not sqlite:
        op.execute("DROP FUNCTION content_version_bump()")
    op.execute("DROP TABLE purge_cursor")
    op.execute("DROP TABLE content_version")
