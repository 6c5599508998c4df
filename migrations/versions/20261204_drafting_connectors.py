"""drafting: per-tenant account-context connectors

Revision ID: 20261204_drafting_connectors
Revises: 20261204_drafting_drafts
Create Date: 2026-12-04 20:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "20261204_drafting_connectors"
down_revision: str | Sequence[str] | None = "20261204_drafting_drafts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "drafting_connector",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("updated_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafting_connector")),
        sa.UniqueConstraint("tenant_id", "kind", name=op.f("uq_drafting_connector_tenant_id_kind")),
    )


def downgrade() -> None:
    op.drop_table("drafting_connector")
