"""The default offline drafter: extractive KB sentences plus templated account facts, each one cited.

Nothing from the ticket text is ever copied into the reply: the ticket only steers which KB sentences
and which of this customer's facts are chosen, so an e-mail address or order id typed into the ticket
cannot come back as if it were a fact about the account.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from drafting.context.base import AccountContext, Fact
from drafting.knowledge import Passage, tokenize

GREETING_ID = "template:greeting"
CLOSING_ID = "template:closing"
FALLBACK_ID = "template:fallback"

MAX_KB_SENTENCES = 3
_MIN_SENTENCE_TOKENS = 4
_MAX_SENTENCE_CHARS = 320

_BILLING_WORDS = frozenset(
    tokenize(
        "bill billing invoice invoices payment payments pay charge charged fee fees plan subscription "
        "renewal renew price pricing card declined refund upgrade downgrade receipt"
    )
)
_ORDER_WORDS = frozenset(
    tokenize("order orders shipping shipped delivery delivered package tracking return exchange item")
)
_USAGE_WORDS = frozenset(tokenize("usage data seats quota limit usage roaming minutes storage"))

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)]|[a-z][.)])\s+")
# Tool names such as open_bank_account_4821 and bracketed UI buttons are agent-only instructions.
_AGENT_ONLY = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)*_\d{3,}\b|\[[A-Z][^\]]*\]", re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    """One reply sentence and the sources it rests on (never empty)."""

    text: str
    source_ids: tuple[str, ...]


@dataclass(frozen=True)
class ComposedReply:
    """A drafted reply: full text, its cited sentences, and the non-template sources cited."""

    text: str
    sentences: tuple[Sentence, ...]
    citations: tuple[str, ...]


def compose_reply(
    ticket_text: str,
    intent: str | None,
    passages: Sequence[Passage],
    context: AccountContext,
) -> ComposedReply:
    """Draft a reply in which every sentence cites a KB passage, an account fact or a template."""
    ticket_terms = frozenset(tokenize(ticket_text))
    greeting = _greeting(context)
    body = [*_kb_sentences(ticket_terms, passages), *_fact_sentences(intent, ticket_terms, context)]
    if not body:
        body = [
            Sentence(
                "We have received your message and a member of our team will follow up shortly.",
                (FALLBACK_ID,),
            )
        ]
    closing = Sentence("Let us know if there is anything else we can help with.", (CLOSING_ID,))
    sentences = (greeting, *body, closing)
    text = f"{greeting.text}\n\n{' '.join(sentence.text for sentence in body)}\n\n{closing.text}"
    citations = tuple(
        dict.fromkeys(
            source
            for sentence in sentences
            for source in sentence.source_ids
            if not source.startswith("template:")
        )
    )
    return ComposedReply(text=text, sentences=sentences, citations=citations)


def _greeting(context: AccountContext) -> Sentence:
    name_fact = context.fact("first_name") or context.fact("name")
    first_name = name_fact.value.split()[0] if name_fact and name_fact.value.strip() else ""
    if name_fact is None or not first_name:
        return Sentence("Hi there, thanks for reaching out.", (GREETING_ID,))
    return Sentence(f"Hi {first_name}, thanks for reaching out.", (GREETING_ID, name_fact.id))


@lru_cache(maxsize=8192)
def _candidate_sentences(text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    candidates: list[tuple[str, frozenset[str]]] = []
    for line in text.splitlines():
        line = _LIST_MARK.sub("", line.replace("**", "").replace("`", "")).strip()
        if not line or line.startswith(("#", "|")):
            continue
        for raw in _SENTENCE_END.split(line):
            sentence = raw.strip()
            terms = tokenize(sentence)
            if (
                len(terms) < _MIN_SENTENCE_TOKENS
                or len(sentence) > _MAX_SENTENCE_CHARS
                or sentence.endswith(":")
                or _AGENT_ONLY.search(sentence)
            ):
                continue
            if sentence[-1] not in ".!?":
                sentence += "."
            candidates.append((sentence[0].upper() + sentence[1:], frozenset(terms)))
    return tuple(candidates)


def _kb_sentences(ticket_terms: frozenset[str], passages: Sequence[Passage]) -> list[Sentence]:
    # Only the two best passages customers may read: agent guidance is never quoted, and lower-ranked
    # passages are more often about a neighbouring topic.
    quotable = [passage for passage in passages if passage.for_customers][:2]
    scored: list[tuple[float, int, int, str, str]] = []
    for rank, passage in enumerate(quotable):
        for position, (sentence, terms) in enumerate(_candidate_sentences(passage.text)):
            overlap = len(terms & ticket_terms)
            if overlap:
                # Favour the better passage, then sentences that share more of the ticket's words.
                scored.append((overlap / (1 + 0.5 * rank), rank, position, sentence, passage.citation_id))
    best = sorted(scored, key=lambda item: (-item[0], item[1], item[2]))[:MAX_KB_SENTENCES]
    seen: set[str] = set()
    chosen: list[Sentence] = []
    for _, _, _, sentence, citation in sorted(best, key=lambda item: (item[1], item[2])):
        if sentence not in seen:
            seen.add(sentence)
            chosen.append(Sentence(sentence, (citation,)))
    return chosen


def _topics(intent: str | None, ticket_terms: frozenset[str]) -> set[str]:
    # A classified intent is trusted over the raw wording; the wording is only a fallback.
    terms = frozenset(tokenize(intent.replace("_", " "))) if intent else ticket_terms
    topics = set()
    if terms & _BILLING_WORDS:
        topics.add("billing")
    if terms & _ORDER_WORDS:
        topics.add("order")
    if terms & _USAGE_WORDS:
        topics.add("usage")
    return topics


def _fact_sentences(
    intent: str | None, ticket_terms: frozenset[str], context: AccountContext
) -> list[Sentence]:
    topics = _topics(intent, ticket_terms)
    sentences: list[Sentence] = []
    for topic, builders in _FACT_BUILDERS:
        if topic in topics:
            for build in builders:
                sentence = build(context)
                if sentence is not None:
                    sentences.append(sentence)
    return sentences


def _plan(context: AccountContext) -> Sentence | None:
    plan = context.fact("plan")
    if plan is None:
        return None
    status = context.fact("subscription_status")
    if status is None:
        return Sentence(f"Your account is on the {plan.value} plan.", (plan.id,))
    return Sentence(
        f"Your account is on the {plan.value} plan and the subscription is {status.value}.",
        (plan.id, status.id),
    )


def _last_invoice(context: AccountContext) -> Sentence | None:
    amount, date = context.fact("last_invoice_amount"), context.fact("last_invoice_date")
    if amount and date:
        return Sentence(
            f"Your most recent invoice was for {amount.value}, issued on {date.value}.", (amount.id, date.id)
        )
    if amount:
        return Sentence(f"Your most recent invoice was for {amount.value}.", (amount.id,))
    if date:
        return Sentence(f"Your most recent invoice was issued on {date.value}.", (date.id,))
    return None


def _failed_payments(context: AccountContext) -> Sentence | None:
    failed = context.fact("failed_payments")
    if failed is None:
        return None
    value = failed.value.strip()
    if value.isdigit():
        count = int(value)
        if count == 0:
            return Sentence("We do not see any failed payments on your account.", (failed.id,))
        noun = "payment" if count == 1 else "payments"
        return Sentence(f"We see {count} failed {noun} on your account.", (failed.id,))
    return Sentence(f"{failed.label}: {value}.", (failed.id,))


def _order(context: AccountContext) -> Sentence | None:
    order, status = context.fact("order_id"), context.fact("order_status")
    if order and status:
        return Sentence(f"Order {order.value} is currently {status.value}.", (order.id, status.id))
    if order:
        return Sentence(f"We can see order {order.value} on your account.", (order.id,))
    return None


def _usage(context: AccountContext) -> Sentence | None:
    usage = [fact for fact in context.facts if fact.source == "usage" or fact.key.startswith("usage_")]
    if not usage:
        return None
    parts = "; ".join(f"{fact.label}: {fact.value}" for fact in usage[:3])
    return Sentence(f"Current usage on your account: {parts}.", tuple(_ids(usage[:3])))


def _ids(facts: Sequence[Fact]) -> list[str]:
    return [fact.id for fact in facts]


_FACT_BUILDERS: tuple[tuple[str, tuple[Callable[[AccountContext], Sentence | None], ...]], ...] = (
    ("billing", (_plan, _last_invoice, _failed_payments)),
    ("order", (_order,)),
    ("usage", (_usage,)),
)
