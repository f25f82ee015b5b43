"""full-text search: SQLite FTS5 table with a stable key, PostgreSQL tsvector table with a GIN index

Revision ID: 0003
Revises: 0002

What `cms.content.search` reads and `search.reindex` keeps in step; existing articles are indexed here.
The statements are copied, not imported, so this migration keeps doing what it did when the code moves on
(tests/test_search.py checks that it indexes exactly as `reindex` does).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


FOLDS = (("\u0307", ""), ("İ", "i"), ("ı", "i"), ("Ё", "Е"), ("ё", "е"))


def _sqlite_fold(expression: str) -> str:
    for old, new in FOLDS:
        expression = f"replace({expression}, '{old}', '{new}')"
    return expression


def _postgres_fold(expression: str) -> str:
    for old, new in FOLDS:
        expression = f"replace({expression}, '{old}', '{new}')"
    return f"regexp_replace({expression}, '[-./@+&<]', ' ', 'g')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TABLE article_fts_key (key INTEGER PRIMARY KEY, article_id VARCHAR(40) NOT NULL UNIQUE)"
        )
        op.execute(
            "CREATE VIRTUAL TABLE article_fts USING fts5("
            " title, subtitle, excerpt, tags, body, tokenize = 'unicode61 remove_diacritics 0')"
        )
        op.execute("INSERT INTO article_fts_key (article_id) SELECT id FROM article ORDER BY id")
        tags = (
            "(SELECT group_concat(tag, ' ') FROM"
            " (SELECT t.tag FROM article_tag t WHERE t.article_id = a.id ORDER BY t.position))"
        )  # in their order, as `reindex` writes them
        columns = ", ".join(
            _sqlite_fold(c) for c in ("a.title", "a.subtitle", "a.excerpt", tags, "a.body_text")
        )
        op.execute(
            "INSERT INTO article_fts (rowid, title, subtitle, excerpt, tags, body)"
            f" SELECT k.key, {columns} FROM article a JOIN article_fts_key k ON k.article_id = a.id"
            " ORDER BY k.key"
        )
    else:
        op.execute(
            "CREATE TABLE article_search ("
            " article_id VARCHAR(40) PRIMARY KEY REFERENCES article (id) ON DELETE CASCADE,"
            " search_vector tsvector NOT NULL, rank_vector tsvector NOT NULL)"
        )
        # no statistics: the planner keeps its default estimate for @@ and takes matches from the GIN index
        op.execute("ALTER TABLE article_search ALTER COLUMN search_vector SET STATISTICS 0")
        op.execute("ALTER TABLE article_search ALTER COLUMN rank_vector SET STATISTICS 0")
        # uncompressed: the GIN index reads each new vector again (decompressing it took a third of a write)
        op.execute("ALTER TABLE article_search ALTER COLUMN search_vector SET STORAGE EXTERNAL")
        tags = (
            "(SELECT string_agg(t.tag, ' ' ORDER BY t.position)"
            " FROM article_tag t WHERE t.article_id = article.id)"
        )
        fields = (("article.title", "A"), ("article.subtitle", "B"), ("article.excerpt", "C"), (tags, "D"))
        ranked = " || ".join(
            f"setweight(to_tsvector('simple', coalesce({_postgres_fold(expression)}, '')), '{label}')"
            for expression, label in fields
        )
        op.execute(
            "INSERT INTO article_search (article_id, search_vector, rank_vector)"
            f" SELECT id, ranked || to_tsvector('simple', {_postgres_fold('body_text')}), ranked"
            f" FROM (SELECT article.id, article.body_text, {ranked} AS ranked FROM article OFFSET 0)"
            " AS fields ORDER BY id"
        )
        op.execute("CREATE INDEX ix_article_search_vector ON article_search USING gin (search_vector)")
        op.execute("CREATE INDEX ix_article_search_rank_vector ON article_search USING gin (rank_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE article_fts")
        op.execute("DROP TABLE article_fts_key")
    else:
        op.execute("DROP TABLE article_search")
