from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.core.db import Base, UtcDateTime
from plugin.core.sealing import SealedText


class Tenant(Base):
    """One helpdesk account (e.g. a Zendesk subdomain)."""

    __tablename__ = "plugin_tenant"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    helpdesk: Mapped[str] = mapped_column(String(20), default="zendesk")
    zendesk_webhook_secret: Mapped[str] = mapped_column(SealedText())
    zendesk_subdomain: Mapped[str | None] = mapped_column(String(63), nullable=True)
    zendesk_email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    zendesk_api_token: Mapped[str | None] = mapped_column(SealedText(), nullable=True)
    bot_user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    zendesk_app_public_key: Mapped[str | None] = mapped_column(Text, nullable=True)
    zendesk_installation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class User(Base):
    __tablename__ = "plugin_user"
    __table_args__ = (UniqueConstraint("tenant_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("plugin_tenant.id"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak does not leak credentials."""

    __tablename__ = "plugin_api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("plugin_tenant.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("plugin_user.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
