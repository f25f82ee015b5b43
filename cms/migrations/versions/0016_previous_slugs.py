"""article_previous_slug, category_previous_slug: the slugs an article or a category had before, each still
resolving to it

Revision ID: 0016
Revises: 0015

A row per earlier slug, oldest first, written with the item by its one write (`content.editing` for
articles, `content.references` for categories) when its slug changes. An article's earlier slug is held in
the language it had then; each is unique (within a language, for articles) among earlier slugs, and the
writes keep it from any other item's current slug (`content.previous_slugs`). A change to either table
changes the content version (0011), and to a category's the category tree's token (0008) too.
"""

from collections.abc import Sequence
from importlib import import_module

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERSION = import_module("cms.migrations.versions.0011_content_version")
ARTICLES, CATEGORIES = "article_previous_slug", "category_previous_slug"


def upgrade() -> None:
    op.create_table(
        ARTICLES,
        sa.Column(
            "article_id", sa.String(40), sa.ForeignKey("article.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.UniqueConstraint("slug", "language", name="uq_article_previous_slug"),
    )
    op.create_table(
        CATEGORIES,
        sa.Column(
            "category_id",
            sa.String(40),
            sa.ForeignKey("category.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("slug", sa.String(200), nullable=False, unique=True),
    )
    for table, version in [
        (ARTICLES, "content_version"),
        (CATEGORIES, "content_version"),
        (CATEGORIES, "category_version"),
    ]:
        _VERSION.bump_triggers(table, version)


def downgrade() -> None:
    op.drop_table(CATEGORIES)  # their triggers with them
    op.drop_table(ARTICLES)
