from datetime import datetime

from sqlalchemy import Boolean, Float, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.core.db import Base, UtcDateTime
from plugin.core.sealing import SealedText


class DraftingSettings(Base):
    """Per-tenant autopilot policy: what may be auto-resolved and how sure we must be."""

    __tablename__ = "drafting_settings"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    autopilot_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    intent_allowlist: Mapped[str] = mapped_column(Text, default="[]")
    target_precision: Mapped[float] = mapped_column(Float, default=0.95)
    threshold: Mapped[float] = mapped_column(Float, default=1.01)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class IntentModel(Base):
    """A trained intent classifier for a tenant; the newest version is used."""

    __tablename__ = "drafting_intent_model"
    __table_args__ = (UniqueConstraint("tenant_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    model: Mapped[bytes] = mapped_column(LargeBinary)
    evaluation: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class KnowledgeDocument(Base):
    """One knowledge-base passage (a document section) of a tenant."""

    __tablename__ = "drafting_kb_passage"
    __table_args__ = (UniqueConstraint("tenant_id", "doc_id", "section"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    doc_id: Mapped[str] = mapped_column(String(200))
    section: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(16), default="customer", server_default="customer")
    """customer: may be quoted in replies; agent: guidance for the agent and the drafter, never quoted."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Draft(Base):
    """A draft produced for one customer message; regenerations are further attempts of the same message."""

    __tablename__ = "drafting_draft"
    __table_args__ = (UniqueConstraint("tenant_id", "ticket_id", "message_id", "attempt"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    ticket_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(200))
    attempt: Mapped[int] = mapped_column(Integer)
    requester_id: Mapped[str] = mapped_column(String(64))
    requester_email: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    sentences: Mapped[str] = mapped_column(Text)
    citations: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(100), nullable=True)
    confidence: Mapped[float] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(20))
    reasons: Mapped[str] = mapped_column(Text)
    grounded: Mapped[bool] = mapped_column(Boolean)
    ungrounded: Mapped[str] = mapped_column(Text)
    guardrails: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(Text)
    context_partial: Mapped[bool] = mapped_column(Boolean)
    drafter: Mapped[str] = mapped_column(String(20))
    prompt_version: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(100))
    latency_ms: Mapped[float] = mapped_column(Float)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    billed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class DraftFeedback(Base):
    """What the agent did with a draft; append-only."""

    __tablename__ = "drafting_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer, index=True)
    draft_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    final_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    edit_distance: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ContextConnector(Base):
    """A tenant's own account-context source (its CRM, Stripe account or usage API) and how to reach it."""

    __tablename__ = "drafting_connector"
    __table_args__ = (UniqueConstraint("tenant_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    settings: Mapped[str] = mapped_column(SealedText())
    """JSON object, secrets included: sealed at rest like the tenant's Zendesk token."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
