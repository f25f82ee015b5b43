"""article_correction: the reader-facing corrections log of an article

Revision ID: 0015
Revises: 0014

One row per correction, in the article's order (oldest first), written with the article by the one article
write (`content.editing`), its Markdown rendered as a body is. A change to it changes the content version,
as a change to any content table does (0011).
"""

from collections.abc import Sequence
from importlib import import_module

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_VERSION = import_module("cms.migrations.versions.0011_content_version")
TABLE = "article_correction"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column(
            "article_id", sa.String(40), sa.ForeignKey("article.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("plain", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    _VERSION.bump_triggers(TABLE)


def downgrade() -> None:
    op.drop_table(TABLE)  # its triggers with it
