"""Inputs and outputs of the drafting use cases (frozen dataclasses; the HTTP layer maps them to JSON)."""

from dataclasses import dataclass, field
from typing import Literal

FeedbackKind = Literal["inserted", "edited", "discarded", "rated"]


@dataclass(frozen=True)
class CustomerMessage:
    """The latest customer message of a ticket: what a draft answers."""

    tenant_id: int
    ticket_id: str
    message_id: str
    text: str
    requester_id: str
    requester_email: str
    requester_name: str | None = None
    channel: str | None = None
    priority: str | None = None


@dataclass(frozen=True)
class WrittenReply:
    """A reply from a drafter, with what every sentence rests on."""

    text: str
    citations: tuple[str, ...]
    sentences: tuple[tuple[str, tuple[str, ...]], ...] = ()
    self_confidence: float | None = None
    drafter: str = "embedded"
    prompt_version: str = "embedded-v1"
    model: str = "embedded"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    parse_error: str | None = None


@dataclass(frozen=True)
class DraftView:
    id: int
    ticket_id: str
    requester_id: str
    message_id: str
    attempt: int
    text: str
    sentences: tuple[tuple[str, tuple[str, ...]], ...]
    citations: tuple[str, ...]
    intent: str | None
    confidence: float
    action: str
    reasons: tuple[str, ...]
    grounded: bool
    ungrounded: tuple[str, ...]
    guardrails: tuple[str, ...]
    context: tuple[dict[str, str], ...]
    passages: tuple[dict[str, str], ...]
    """Cited knowledge-base passages as they read when the draft was written: id, title, section, excerpt."""
    sources: tuple[dict[str, object], ...]
    context_partial: bool
    drafter: str
    prompt_version: str
    model: str
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    billed: bool
    guidance: tuple[dict[str, str], ...] = ()
    """Agent-only passages (internal procedures, policies) that matched the ticket: id, title, section, excerpt."""


@dataclass(frozen=True)
class DraftOutcome:
    """What asking for a draft did: `control_arm` means no draft (and no charge) by design."""

    status: Literal["drafted", "existing", "control_arm", "ai_off"]
    arm: str
    draft: DraftView | None = None
    charge: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
