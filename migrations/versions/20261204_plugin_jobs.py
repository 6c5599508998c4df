"""plugin: the job outbox

Revision ID: 20261204_plugin_jobs
Revises: 20261204_foundation
Create Date: 2026-12-04 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "20261204_plugin_jobs"
down_revision: str | Sequence[str] | None = "20261204_foundation"
branch_labels: str | Sequence[str] | None = ("jobs",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plugin_job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sa.String(length=100), nullable=True),
        sa.Column("locked_until", plugin.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", plugin.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plugin_job")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_plugin_job_dedupe_key")),
    )
    op.create_index("ix_plugin_job_claimable", "plugin_job", ["status", "run_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_plugin_job_claimable", table_name="plugin_job")
    op.drop_table("plugin_job")
