"""plugin: Zendesk app key per tenant, expiring tokens for signed-URL sessions

Revision ID: 20261204_plugin_zendesk_app
Revises: 20261204_plugin_tenant_helpdesk
Create Date: 2026-12-04 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import plugin.core.db

revision: str = "20261204_plugin_zendesk_app"
down_revision: str | Sequence[str] | None = "20261204_plugin_tenant_helpdesk"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plugin_tenant") as batch:
        batch.add_column(sa.Column("zendesk_app_public_key", sa.Text(), nullable=True))
        batch.add_column(sa.Column("zendesk_installation_id", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("plugin_api_token") as batch:
        batch.add_column(sa.Column("expires_at", plugin.core.db.UtcDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plugin_api_token") as batch:
        batch.drop_column("expires_at")
    with op.batch_alter_table("plugin_tenant") as batch:
        batch.drop_column("zendesk_installation_id")
        batch.drop_column("zendesk_app_public_key")
