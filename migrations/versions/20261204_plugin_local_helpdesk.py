"""plugin: the demo helpdesk's tickets, comments and owed webhook deliveries

Revision ID: 20261204_local_helpdesk
Revises: 20261204_foundation
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "20261204_local_helpdesk"
down_revision: str | Sequence[str] | None = "20261204_foundation"
branch_labels: str | Sequence[str] | None = ("local_helpdesk",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plugin_local_ticket",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("requester_id", sa.String(length=64), nullable=False),
        sa.Column("requester_email", sa.String(length=320), nullable=False),
        sa.Column("requester_name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("created_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["plugin_tenant.id"], name=op.f("fk_plugin_local_ticket_tenant_id_plugin_tenant")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plugin_local_ticket")),
    )
    with op.batch_alter_table("plugin_local_ticket", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plugin_local_ticket_tenant_status", ["tenant_id", "status", "updated_at"], unique=False
        )

    op.create_table(
        "plugin_local_comment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("is_staff", sa.Boolean(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["plugin_local_ticket.id"],
            name=op.f("fk_plugin_local_comment_ticket_id_plugin_local_ticket"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plugin_local_comment")),
        sa.UniqueConstraint(
            "tenant_id", "idempotency_key", name=op.f("uq_plugin_local_comment_tenant_id_idempotency_key")
        ),
    )
    with op.batch_alter_table("plugin_local_comment", schema=None) as batch_op:
        batch_op.create_index("ix_plugin_local_comment_ticket", ["ticket_id", "id"], unique=False)

    op.create_table(
        "plugin_local_webhook",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", plugin.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", plugin.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plugin_local_webhook")),
        sa.UniqueConstraint("event_id", name=op.f("uq_plugin_local_webhook_event_id")),
    )
    with op.batch_alter_table("plugin_local_webhook", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plugin_local_webhook_pending", ["tenant_id", "delivered_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("plugin_local_webhook", schema=None) as batch_op:
        batch_op.drop_index("ix_plugin_local_webhook_pending")
    op.drop_table("plugin_local_webhook")
    with op.batch_alter_table("plugin_local_comment", schema=None) as batch_op:
        batch_op.drop_index("ix_plugin_local_comment_ticket")
    op.drop_table("plugin_local_comment")
    with op.batch_alter_table("plugin_local_ticket", schema=None) as batch_op:
        batch_op.drop_index("ix_plugin_local_ticket_tenant_status")
    op.drop_table("plugin_local_ticket")
