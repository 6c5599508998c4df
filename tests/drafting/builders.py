"""Builders for drafting tests: a small trained classifier, a knowledge base and simple context sources."""

import asyncio
import csv
from collections import defaultdict
from functools import cache

from drafting.composition import DraftingKit
from drafting.context.base import CustomerRef, Fact
from drafting.intent import IntentClassifier
from drafting.knowledge import KnowledgeBase, Passage
from drafting.schemas import CustomerMessage
from drafting.writers import EmbeddedWriter
from tests.data import DATA_DIR

INTENTS = (
    "card_arrival",
    "lost_or_stolen_card",
    "exchange_rate",
    "pending_transfer",
    "change_pin",
    "top_up_failed",
    "activate_my_card",
    "apple_pay_or_google_pay",
)


@cache
def banking_examples(per_intent: int = 60) -> tuple[tuple[str, str], ...]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    with (DATA_DIR / "banking77" / "train.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["category"] in INTENTS and len(by_intent[row["category"]]) < per_intent:
                by_intent[row["category"]].append(row["text"])
    return tuple((text, intent) for intent in INTENTS for text in by_intent[intent])


@cache
def trained_classifier() -> IntentClassifier:
    examples = banking_examples()
    return IntentClassifier().fit([text for text, _ in examples], [intent for _, intent in examples])


def knowledge() -> KnowledgeBase:
    return KnowledgeBase(
        [
            Passage(
                "cards",
                "Card delivery",
                "Card delivery",
                "New cards arrive within 5 working days of ordering. "
                "You can track the card in the app under Cards.",
            ),
            Passage(
                "pin",
                "Changing your PIN",
                "Changing your PIN",
                "You can change your PIN at any ATM of our network. "
                "Choose PIN services and follow the steps.",
            ),
        ]
    )


class StaticSource:
    """A context source that knows one customer."""

    def __init__(self, name: str, facts: dict[str, str]) -> None:
        self.name = name
        self._facts = facts

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        return tuple(
            Fact(key, value, self.name, key.replace("_", " ").title()) for key, value in self._facts.items()
        )


class SlowSource:
    name = "usage"

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        await asyncio.sleep(5)
        return ()


def kit(*, classifier: IntentClassifier | None = None, slow: bool = False, writer=None) -> DraftingKit:
    sources = [StaticSource("crm", {"name": "Ada Lovelace", "first_name": "Ada", "email": "ada@example.com"})]
    if slow:
        sources.append(SlowSource())
    return DraftingKit(
        sources=sources,
        knowledge=knowledge(),
        writer=writer or EmbeddedWriter(),
        classifier=classifier,
        timeout_s=0.2,
    )


def message(
    text: str = "My new card still has not arrived, when will it come?", **overrides
) -> CustomerMessage:
    values = {
        "tenant_id": 1,
        "ticket_id": "T-1",
        "message_id": "m-1",
        "text": text,
        "requester_id": "cust-1",
        "requester_email": "ada@example.com",
    }
    return CustomerMessage(**{**values, **overrides})
