"""article (status, published_at, id, category_id): public lists, counts and category filters index-only

Revision ID: 0005
Revises: 0004

It replaces (status, published_at). With id the newest-first order needs no sort for ties; with
category_id a planner that walks this index for a category's count (as SQLite's does once ANALYZE has
run) never reads a row, whose status and date on SQLite sit behind the body columns.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_article_status_published_at", table_name="article")
    op.create_index("ix_article_visible_order", "article", ["status", "published_at", "id", "category_id"])


def downgrade() -> None:
    op.drop_index("ix_article_visible_order", table_name="article")
    op.create_index("ix_article_status_published_at", "article", ["status", "published_at"])
