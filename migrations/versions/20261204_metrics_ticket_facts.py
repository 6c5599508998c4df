"""metrics: per-ticket facts maintained with each event append, backfilled from the event log

Revision ID: 20261204_metrics_ticket_facts
Revises: 20261204_metrics_experiments
Create Date: 2026-12-04 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261204_metrics_ticket_facts"
down_revision: str | Sequence[str] | None = "20261204_metrics_experiments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen here (the code may change later; this revision must not): the GROUP BY of
# metrics/facts_table.py folded_events over every tenant's whole log.
BACKFILL = """
INSERT INTO metrics_ticket_facts (
    tenant_id, ticket_id, requester_id, event_arm, channel, intent, priority,
    replies, ai_replies, human_replies, reopens, escalations, drafts_delivered,
    handle_seconds, csat_sum, csat_count,
    first_event_at_us, last_event_at_us, created_at_us, first_reply_at_us, first_human_reply_at_us,
    last_solved_at_us, last_reopened_at_us
)
SELECT tenant_id, ticket_id, requester_id, event_arm, channel, intent, priority,
       replies, ai_replies, human_replies, reopens, escalations, drafts_delivered,
       handle_seconds, csat_sum, csat_count,
       {first_event}, {last_event}, {created}, {first_reply}, {first_human_reply}, {last_solved}, {last_reopened}
FROM (
    SELECT tenant_id, ticket_id,
           min(requester_id) AS requester_id, max(arm) AS event_arm, max(channel) AS channel,
           max(intent) AS intent, max(priority) AS priority,
           min(occurred_at) AS first_event, max(occurred_at) AS last_event,
           min(occurred_at) FILTER (WHERE event = 'created') AS created,
           min(occurred_at) FILTER (WHERE event IN ('agent_reply', 'ai_reply') AND coalesce(public, true))
               AS first_reply,
           min(occurred_at) FILTER (WHERE event = 'agent_reply' AND coalesce(public, true)) AS first_human_reply,
           max(occurred_at) FILTER (WHERE event = 'solved') AS last_solved,
           max(occurred_at) FILTER (WHERE event = 'reopened') AS last_reopened,
           count(*) FILTER (WHERE event IN ('agent_reply', 'ai_reply') AND coalesce(public, true)) AS replies,
           count(*) FILTER (WHERE event = 'ai_reply' AND coalesce(public, true)) AS ai_replies,
           count(*) FILTER (WHERE event = 'agent_reply' AND coalesce(public, true)) AS human_replies,
           count(*) FILTER (WHERE event = 'reopened') AS reopens,
           count(*) FILTER (WHERE event = 'escalated') AS escalations,
           count(*) FILTER (WHERE event = 'draft_delivered') AS drafts_delivered,
           coalesce(sum(value) FILTER (WHERE event = 'handle_time'), 0.0) AS handle_seconds,
           coalesce(sum(value) FILTER (WHERE event = 'csat'), 0.0) AS csat_sum,
           count(*) FILTER (WHERE event = 'csat' AND value IS NOT NULL) AS csat_count
    FROM metrics_ticket_event
    GROUP BY tenant_id, ticket_id
) AS per_ticket
"""
INSTANTS = (
    "first_event",
    "last_event",
    "created",
    "first_reply",
    "first_human_reply",
    "last_solved",
    "last_reopened",
)


def _microseconds(column: str, dialect: str) -> str:
    if dialect == "sqlite":
        return f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 + CAST(substr({column}, 21) AS INTEGER))"
    return f"CAST(extract(epoch FROM {column}) * 1000000 AS BIGINT)"


def upgrade() -> None:
    op.create_table(
        "metrics_ticket_facts",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ticket_id", sa.String(length=64), nullable=False),
        sa.Column("requester_id", sa.String(length=64), nullable=False),
        sa.Column("event_arm", sa.String(length=16), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("intent", sa.String(length=100), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=True),
        sa.Column("first_event_at_us", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at_us", sa.BigInteger(), nullable=False),
        sa.Column("created_at_us", sa.BigInteger(), nullable=True),
        sa.Column("first_reply_at_us", sa.BigInteger(), nullable=True),
        sa.Column("first_human_reply_at_us", sa.BigInteger(), nullable=True),
        sa.Column("last_solved_at_us", sa.BigInteger(), nullable=True),
        sa.Column("last_reopened_at_us", sa.BigInteger(), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("ai_replies", sa.Integer(), nullable=False),
        sa.Column("human_replies", sa.Integer(), nullable=False),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.Column("drafts_delivered", sa.Integer(), nullable=False),
        sa.Column("handle_seconds", sa.Float(), nullable=False),
        sa.Column("csat_sum", sa.Float(), nullable=False),
        sa.Column("csat_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "ticket_id", name=op.f("pk_metrics_ticket_facts")),
        sqlite_with_rowid=False,
    )
    dialect = op.get_bind().dialect.name
    op.execute(BACKFILL.format(**{name: _microseconds(name, dialect) for name in INSTANTS}))


def downgrade() -> None:
    op.drop_table("metrics_ticket_facts")
