from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.core.db import Base, UtcDateTime


class TicketEventRow(Base):
    """The append-only canonical event log; never updated, never deleted."""

    __tablename__ = "metrics_ticket_event"
    __table_args__ = (
        UniqueConstraint("tenant_id", "event_key"),
        Index("ix_metrics_ticket_event_tenant_ticket", "tenant_id", "ticket_id"),
        Index("ix_metrics_ticket_event_tenant_time", "tenant_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    event_key: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[str] = mapped_column(String(64))
    requester_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    public: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    priority: Mapped[str | None] = mapped_column(String(16), nullable=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    arm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Experiment(Base):
    """A tenant's assisted-vs-control experiment; a new version (new salt) replaces the previous one."""

    __tablename__ = "metrics_experiment"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16))
    assisted_share_bp: Mapped[int] = mapped_column(Integer)
    salt: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Assignment(Base):
    """The arm of one randomization unit, written once and never changed."""

    __tablename__ = "metrics_assignment"
    __table_args__ = (UniqueConstraint("tenant_id", "experiment_id", "unit_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("metrics_experiment.id"))
    unit_id: Mapped[str] = mapped_column(String(64))
    arm: Mapped[str] = mapped_column(String(16))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TicketArm(Base):
    """The arm a ticket got when it was first seen; later experiment changes never move it."""

    __tablename__ = "metrics_ticket_arm"
    __table_args__ = (UniqueConstraint("tenant_id", "ticket_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[str] = mapped_column(String(64))
    experiment_id: Mapped[int] = mapped_column(ForeignKey("metrics_experiment.id"))
    unit_id: Mapped[str] = mapped_column(String(64))
    arm: Mapped[str] = mapped_column(String(16))
    assigned_at: Mapped[datetime] = mapped_column(UtcDateTime())


class BusinessSchedule(Base):
    """Opening hours used for business-hours FRT: configuration, so updated in place."""

    __tablename__ = "metrics_schedule"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    timezone: Mapped[str] = mapped_column(String(64))
    hours_json: Mapped[str] = mapped_column(Text)
    holidays_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TicketFactsRow(Base):
    """Per-ticket facts folded from the event log as events arrive, so a report never aggregates the log.

    Every column is a min, max, count or sum over the ticket's events, so folding events in any order,
    in any batches, gives what one GROUP BY over the log gives. Instants are microseconds since the
    epoch (UTC): exact, and read as numbers without parsing.
    """

    __tablename__ = "metrics_ticket_facts"
    # Clustered by (tenant, ticket) on SQLite: a report reads a tenant's rows in ticket order, sequentially.
    __table_args__ = ({"sqlite_with_rowid": False},)

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ticket_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    requester_id: Mapped[str] = mapped_column(String(64))
    event_arm: Mapped[str | None] = mapped_column(String(16), nullable=True)
    channel: Mapped[str | None] = mapped_column(String(32), nullable=True)
    intent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    priority: Mapped[str | None] = mapped_column(String(16), nullable=True)
    first_event_at_us: Mapped[int] = mapped_column(BigInteger)
    last_event_at_us: Mapped[int] = mapped_column(BigInteger)
    created_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    first_reply_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    first_human_reply_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_solved_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_reopened_at_us: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    replies: Mapped[int] = mapped_column(Integer)
    ai_replies: Mapped[int] = mapped_column(Integer)
    human_replies: Mapped[int] = mapped_column(Integer)
    reopens: Mapped[int] = mapped_column(Integer)
    escalations: Mapped[int] = mapped_column(Integer)
    drafts_delivered: Mapped[int] = mapped_column(Integer)
    handle_seconds: Mapped[float] = mapped_column(Float)
    csat_sum: Mapped[float] = mapped_column(Float)
    csat_count: Mapped[int] = mapped_column(Integer)
