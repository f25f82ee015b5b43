"""article_tag.slug: tags as items, found and grouped by the one slug rule's slug of their names

Revision ID: 0014
Revises: 0013

A tag is the slug its names share (`cms.content.tags`); the column is made as a row is written
(`models.ArticleTag`), and given here to the rows written before it. The index (slug, article_id, tag)
answers a tag's lookup, its articles and the grouped tag list from the index alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cms.content.slugs import slugify

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("article_tag") as article_tag:
        article_tag.add_column(sa.Column("slug", sa.String(200), nullable=False, server_default=""))
    connection = op.get_bind()
    names = connection.execute(sa.text("SELECT DISTINCT tag FROM article_tag")).scalars().all()
    if names:
        connection.execute(
            sa.text("UPDATE article_tag SET slug = :slug WHERE tag = :tag"),
            [{"slug": slugify(name), "tag": name} for name in names],
        )
    op.create_index("ix_article_tag_slug", "article_tag", ["slug", "article_id", "tag"])


def downgrade() -> None:
    op.drop_index("ix_article_tag_slug", table_name="article_tag")
    # in place (SQLite 3.35 and later drop a column so): a batch would make the table anew, without the
    # content-version triggers of migration 0011, whose own downgrade then finds none to drop
    op.execute("ALTER TABLE article_tag DROP COLUMN slug")
