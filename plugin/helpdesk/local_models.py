"""Tables of the demo helpdesk: its tickets, their comments, and the webhook deliveries it owes us."""

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.core.db import Base, UtcDateTime


class LocalTicket(Base):
    __tablename__ = "plugin_local_ticket"
    __table_args__ = (Index("ix_plugin_local_ticket_tenant_status", "tenant_id", "status", "updated_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("plugin_tenant.id"))
    subject: Mapped[str] = mapped_column(String(300))
    requester_id: Mapped[str] = mapped_column(String(64))
    requester_email: Mapped[str] = mapped_column(String(320))
    requester_name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    # Space-separated, the way Zendesk's `current_tags` carries them.
    tags: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LocalComment(Base):
    """A message on a ticket; an idempotency key makes a retried write land once."""

    __tablename__ = "plugin_local_comment"
    __table_args__ = (
        UniqueConstraint("tenant_id", "idempotency_key"),
        Index("ix_plugin_local_comment_ticket", "ticket_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("plugin_local_ticket.id"))
    author_id: Mapped[str] = mapped_column(String(64))
    is_staff: Mapped[bool] = mapped_column(Boolean)
    public: Mapped[bool] = mapped_column(Boolean)
    body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class LocalWebhook(Base):
    """A Zendesk-shaped delivery the demo helpdesk owes our receiver; kept until it has been handed over."""

    __tablename__ = "plugin_local_webhook"
    __table_args__ = (Index("ix_plugin_local_webhook_pending", "tenant_id", "delivered_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
