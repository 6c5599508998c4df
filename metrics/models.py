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
