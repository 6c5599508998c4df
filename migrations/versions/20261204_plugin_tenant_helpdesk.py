"""plugin: tenant helpdesk connection (Zendesk subdomain, API user, bot user)

Revision ID: 20261204_plugin_tenant_helpdesk
Revises: 20261204_plugin_jobs
Create Date: 2026-12-04 17:05:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_plugin_tenant_helpdesk"
down_revision: str | Sequence[str] | None = "20261204_plugin_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plugin_tenant") as batch:
        batch.add_column(sa.Column("zendesk_subdomain", sa.String(length=63), nullable=True))
        batch.add_column(sa.Column("zendesk_email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("zendesk_api_token", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("bot_user_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plugin_tenant") as batch:
        batch.drop_column("bot_user_id")
        batch.drop_column("zendesk_api_token")
        batch.drop_column("zendesk_email")
        batch.drop_column("zendesk_subdomain")
