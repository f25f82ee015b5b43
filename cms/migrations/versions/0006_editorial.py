"""api_token; article.publish_pending; change_event.public: tokens and the change feed as each role sees it

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("article") as article:
        article.add_column(
            sa.Column("publish_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index("ix_article_publish_pending", "article", ["publish_pending", "published_at"])
    with op.batch_alter_table("change_event") as change_event:
        change_event.add_column(sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.create_index("ix_change_event_public_sequence", "change_event", ["public", "sequence"])


def downgrade() -> None:
    op.drop_index("ix_change_event_public_sequence", table_name="change_event")
    with op.batch_alter_table("change_event") as change_event:
        change_event.drop_column("public")
    op.drop_index("ix_article_publish_pending", table_name="article")
    with op.batch_alter_table("article") as article:
        article.drop_column("publish_pending")
    op.drop_table("api_token")
