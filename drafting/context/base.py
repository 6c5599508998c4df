"""Shared types for account context: facts about one customer gathered from CRM, Stripe and usage sources.

Fact values are display strings ("$49.00", "2024-03-03", "Pro"), already formatted by the adapter, so the
drafter and the grounding check can quote and compare them without knowing where they came from.
Conventional keys (adapters should prefer them so drafts pick them up): ``name``, ``first_name``,
``email``, ``plan``, ``known_plans`` (comma separated), ``tier``, ``vip``, ``subscription_status``,
``last_invoice_amount``, ``last_invoice_date``, ``failed_payments``, ``order_id``, ``order_status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CustomerRef:
    """Who the ticket is from, as the helpdesk knows them."""

    email: str
    external_id: str | None = None


@dataclass(frozen=True)
class Fact:
    """One account fact with the source it came from; ``id`` is what a draft cites."""

    key: str
    value: str
    source: str
    label: str

    @property
    def id(self) -> str:
        """Citation id of this fact, e.g. ``fact:stripe:plan``."""
        return f"fact:{self.source}:{self.key}"


@dataclass(frozen=True)
class SourceStatus:
    """How one source fared while gathering; a failed source leaves the context partial."""

    name: str
    ok: bool
    error: str | None
    elapsed_ms: float


@dataclass(frozen=True)
class AccountContext:
    """Everything known about one customer for one draft."""

    customer_ref: str
    facts: tuple[Fact, ...] = ()
    statuses: tuple[SourceStatus, ...] = ()

    @property
    def partial(self) -> bool:
        """True when any source failed or timed out."""
        return any(not status.ok for status in self.statuses)

    def fact(self, key: str) -> Fact | None:
        """First fact with this key, or None."""
        return next((fact for fact in self.facts if fact.key == key), None)

    def value(self, key: str) -> str | None:
        """Value of the first fact with this key, or None."""
        found = self.fact(key)
        return found.value if found is not None else None


class ContextSource(Protocol):
    """A CRM, billing or usage backend that yields facts about one customer."""

    name: str

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        """Facts about this customer; raise on failure so the gatherer can mark the context partial."""
        ...
