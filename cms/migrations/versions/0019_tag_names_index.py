"""article_tag (slug, tag, article_id): a tag's name from its first visible spelling, not all of them

Revision ID: 0019
Revises: 0018

A tag's name is the smallest of the names that the caller's visible articles give it. Read in this index's
order, the first spelling on a visible article is the name, so a tag page stops at its first row where the
slug's index alone had it read and sort every row of the tag.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_article_tag_name", "article_tag", ["slug", "tag", "article_id"])


def downgrade() -> None:
    op.drop_index("ix_article_tag_name", table_name="article_tag")
