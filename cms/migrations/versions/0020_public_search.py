"""the public's search index: SQLite keys in time order, PostgreSQL's article_search.public_at

Revision ID: 0020
Revises: 0019

A public search counted its matches by reading each one's article for its status and publishedAt, and a page
tested the articles newest first against every match. Now the index itself tells what the public sees
(`cms.content.search`, "The public's searches"):
- SQLite: `article_fts_key.key`, the FTS rowid, is (second of publishedAt + 2^36) * 2^24 plus a number in that
  second for a PUBLISHED article with a publishedAt, negative for any other, so a range of rowids is what the
  public sees. The keys are made anew here, and the FTS table is built again under them from its own text.
- PostgreSQL: `article_search.public_at`, the publishedAt of a PUBLISHED article, and the GIN index of the
  search vectors in two parts, the rows that have one and the others (each vector in one index, as before).
`search.reindex` keeps both in step; the statements are copied here, as in 0003.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SECOND = (
    "CASE WHEN a.status = 'PUBLISHED' AND a.published_at IS NOT NULL"
    " THEN (CAST(strftime('%s', a.published_at) AS INTEGER) + 68719476736) * 16777216 END"
)
"""The first key of an article's second, if the public's index holds it."""
COLUMNS = "title, subtitle, excerpt, tags, body"
KEY_COLUMNS = "key INTEGER PRIMARY KEY, article_id VARCHAR(40) NOT NULL UNIQUE"  # as 0003 made them
FTS = f"USING fts5({COLUMNS}, tokenize = 'unicode61 remove_diacritics 0')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("CREATE TABLE article_fts_rekey (key INTEGER PRIMARY KEY, old INTEGER NOT NULL)")
        op.execute(
            "INSERT INTO article_fts_rekey (key, old)"
            " SELECT CASE WHEN second IS NULL THEN -rank ELSE second + rank - 1 END, key FROM"
            " (SELECT k.key, second, row_number() OVER (PARTITION BY second ORDER BY k.article_id) AS rank"
            f" FROM (SELECT a.id, {SECOND} AS second FROM article a) a"
            " JOIN article_fts_key k ON k.article_id = a.id) ORDER BY 1"
        )
        op.execute(f"CREATE VIRTUAL TABLE article_fts_public {FTS}")
        op.execute(
            f"INSERT INTO article_fts_public (rowid, {COLUMNS}) SELECT r.key, {COLUMNS}"
            " FROM article_fts_rekey r JOIN article_fts f ON f.rowid = r.old ORDER BY r.key"
        )
        op.execute("DROP TABLE article_fts")
        op.execute("ALTER TABLE article_fts_public RENAME TO article_fts")
        op.execute(f"CREATE TABLE article_fts_renamed ({KEY_COLUMNS})")
        op.execute(
            "INSERT INTO article_fts_renamed (key, article_id) SELECT r.key, k.article_id"
            " FROM article_fts_rekey r JOIN article_fts_key k ON k.key = r.old ORDER BY r.key"
        )
        op.execute("DROP TABLE article_fts_key")
        op.execute("ALTER TABLE article_fts_renamed RENAME TO article_fts_key")
        op.execute("DROP TABLE article_fts_rekey")
    else:
        op.execute("ALTER TABLE article_search ADD COLUMN public_at TIMESTAMP WITH TIME ZONE")
        op.execute(
            "UPDATE article_search s SET public_at = a.published_at FROM article a"
            " WHERE a.id = s.article_id AND a.status = 'PUBLISHED'"
        )
        for name, rows in (("public", "public_at IS NOT NULL"), ("hidden", "public_at IS NULL")):
            index = f"ix_article_search_{name} ON article_search USING gin (search_vector)"
            op.execute(f"CREATE INDEX {index} WHERE {rows}")
        op.execute("DROP INDEX ix_article_search_vector")


def downgrade() -> None:
    """SQLite's keys stay as they are: 0019's writes give new ones their own way, whatever the old."""
    if op.get_bind().dialect.name != "sqlite":
        op.execute("CREATE INDEX ix_article_search_vector ON article_search USING gin (search_vector)")
        op.execute("DROP INDEX ix_article_search_public")
        op.execute("DROP INDEX ix_article_search_hidden")
        op.execute("ALTER TABLE article_search DROP COLUMN public_at")
