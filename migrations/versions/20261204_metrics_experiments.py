"""metrics: experiments, unit assignments, ticket arms, business-hours schedules

Revision ID: 20261204_metrics_experiments
Revises: 20261204_foundation
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "20261204_metrics_experiments"
down_revision: str | Sequence[str] | None = "20261204_foundation"
branch_labels: str | Sequence[str] | None = ("metrics",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "metrics_experiment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=False),
        sa.Column("assisted_share_bp", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("started_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics_experiment")),
        sa.UniqueConstraint("tenant_id", "version", name=op.f("uq_metrics_experiment_tenant_id_version")),
    )
    op.create_table(
        "metrics_assignment",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("assigned_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["metrics_experiment.id"],
            name=op.f("fk_metrics_assignment_experiment_id_metrics_experiment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics_assignment")),
        sa.UniqueConstraint(
            "tenant_id",
            "experiment_id",
            "unit_id",
            name=op.f("uq_metrics_assignment_tenant_id_experiment_id_unit_id"),
        ),
    )
    op.create_table(
        "metrics_ticket_arm",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("arm", sa.String(length=16), nullable=False),
        sa.Column("assigned_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["metrics_experiment.id"],
            name=op.f("fk_metrics_ticket_arm_experiment_id_metrics_experiment"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metrics_ticket_arm")),
        sa.UniqueConstraint("tenant_id", "ticket_id", name=op.f("uq_metrics_ticket_arm_tenant_id_ticket_id")),
    )
    op.create_table(
        "metrics_schedule",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("hours_json", sa.Text(), nullable=False),
        sa.Column("holidays_json", sa.Text(), nullable=False),
        sa.Column("updated_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_metrics_schedule")),
    )


def downgrade() -> None:
    op.drop_table("metrics_schedule")
    op.drop_table("metrics_ticket_arm")
    op.drop_table("metrics_assignment")
    op.drop_table("metrics_experiment")
