"""webhook_delivery (status, created_at): the worker's pruning of old delivered and failed deliveries

Revision ID: 0013
Revises: 0012

Once an hour each worker deletes the DELIVERED and FAILED deliveries older than CMS_WEBHOOK_RETENTION_DAYS
(cms.content.webhooks.prune_deliveries): this index finds exactly those, where the due index
(status, next_attempt_at) would read every delivered row to learn its age.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_webhook_delivery_done", "webhook_delivery", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_delivery_done", table_name="webhook_delivery")
