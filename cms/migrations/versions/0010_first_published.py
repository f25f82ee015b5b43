"""article.first_published_at: when the public first could see an article

Revision ID: 0010
Revises: 0009

Kept through unpublish and republish by every write (`visibility.first_public`). Articles written before
it are taken to have been first public at their publishedAt, if they are published or archived.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("article") as article:
        article.add_column(sa.Column("first_published_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE article SET first_published_at = published_at WHERE status IN ('PUBLISHED', 'ARCHIVED')"
    )


def downgrade() -> None:
    with op.batch_alter_table("article") as article:
        article.drop_column("first_published_at")
