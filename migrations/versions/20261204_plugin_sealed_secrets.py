"""plugin: room for sealed secrets (the tenant's Zendesk webhook secret and API token become text)

Values stored before sealing are read as they are; `outcomedesk secrets reseal` seals them.

Revision ID: 20261204_plugin_sealed_secrets
Revises: 20261204_plugin_zendesk_app
Create Date: 2026-12-04 21:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_plugin_sealed_secrets"
down_revision: str | Sequence[str] | None = "20261204_plugin_zendesk_app"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("plugin_tenant") as batch:
        batch.alter_column(
            "zendesk_webhook_secret", type_=sa.Text(), existing_type=sa.String(length=200), existing_nullable=False
        )
        batch.alter_column(
            "zendesk_api_token", type_=sa.Text(), existing_type=sa.String(length=200), existing_nullable=True
        )


def downgrade() -> None:
    with op.batch_alter_table("plugin_tenant") as batch:
        batch.alter_column("zendesk_api_token", type_=sa.String(length=200), existing_type=sa.Text())
        batch.alter_column("zendesk_webhook_secret", type_=sa.String(length=200), existing_type=sa.Text())
