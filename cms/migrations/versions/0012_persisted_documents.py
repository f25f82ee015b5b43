"""persisted_document: GraphQL documents kept by their SHA-256, automatic persisted queries' and trusted ones

Revision ID: 0012
Revises: 0011

In the database rather than in each process, so every process and every restart knows a document an APQ
client stored once, and `cms documents import` (a client's manifest, `trusted`) reaches every process at
once (delivery.md, "Persisted documents"). The hash is the key: a lookup is one primary-key read.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "persisted_document",
        sa.Column("hash", sa.String(64), primary_key=True),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("persisted_document")
