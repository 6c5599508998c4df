"""drafting: knowledge passages carry their audience (customer-facing help or agent-only guidance)

Revision ID: 20261204_drafting_kb_audience
Revises: 20261204_drafting_connectors
Create Date: 2026-12-04 21:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_drafting_kb_audience"
down_revision: str | Sequence[str] | None = "20261204_drafting_connectors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drafting_kb_passage") as batch:
        batch.add_column(sa.Column("audience", sa.String(length=16), server_default="customer", nullable=False))
    # Documents titled "Internal: ..." were always agent procedures (the import rule from now on).
    op.execute("UPDATE drafting_kb_passage SET audience = 'agent' WHERE title LIKE 'Internal:%'")


def downgrade() -> None:
    with op.batch_alter_table("drafting_kb_passage") as batch:
        batch.drop_column("audience")
