"""The demo tenant: a small bank-and-shop whose helpdesk is the built-in demo helpdesk, seeded from public data."""

import csv
import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from drafting import service as drafting_service
from drafting import training
from drafting.knowledge import (
    AGENT,
    Passage,
    load_abcd_guidelines,
    load_jsonl_documents,
    load_markdown_file,
)
from metrics import service as metrics_service
from metrics.assignment import Unit
from plugin.accounts import repository as accounts_repository
from plugin.accounts import service as accounts_service
from plugin.accounts.scopes import Scope
from plugin.core.clock import Clock
from plugin.core.db import transaction

DEMO_SLUG = "demo"
TRAINING_EXAMPLES_PER_INTENT = 50
DEMO_INTENTS = 40
# Informational questions with one right answer: safe to answer on autopilot once the model is sure.
AUTOPILOT_INTENTS = (
    "card_arrival",
    "card_delivery_estimate",
    "exchange_rate",
    "change_pin",
    "activate_my_card",
    "apple_pay_or_google_pay",
    "top_up_limits",
    "supported_cards_and_currencies",
    "country_support",
    "order_physical_card",
    "getting_virtual_card",
    "verify_top_up",
)
DEMO_CAP_CENTS = 60_000


@dataclass(frozen=True)
class DemoSummary:
    tenant_slug: str
    webhook_secret: str
    tokens: dict[str, str]

    def describe(self, base_url: str) -> str:
        agent, manager, finance = self.tokens["agent"], self.tokens["manager"], self.tokens["finance"]
        lines = [
            f"demo tenant: {self.tenant_slug}",
            f"helpdesk (agent):      {base_url}/helpdesk#token={agent}",
            f"dashboard (manager):   {base_url}/app/dashboard#token={manager}",
            f"invoices (finance):    {base_url}/app/finance#token={finance}",
            f"API docs:              {base_url}/docs",
            f"health:                {base_url}/healthz",
            f"zendesk webhook:       POST {base_url}/api/v1/webhooks/zendesk/{self.tenant_slug}",
        ]
        lines += [f"{role} token: {token}" for role, token in self.tokens.items()]
        return "\n".join(lines)


def banking77(data_dir: Path) -> dict[str, list[str]]:
    by_intent: dict[str, list[str]] = defaultdict(list)
    with (data_dir / "banking77" / "train.csv").open() as handle:
        for row in csv.DictReader(handle):
            by_intent[row["category"]].append(row["text"])
    return dict(by_intent)


def demo_intents(data_dir: Path) -> list[str]:
    """The autopilot intents plus the most common others, DEMO_INTENTS in all."""
    counts = {intent: len(texts) for intent, texts in banking77(data_dir).items()}
    others = sorted((i for i in counts if i not in AUTOPILOT_INTENTS), key=lambda i: (-counts[i], i))
    return [*AUTOPILOT_INTENTS, *others[: DEMO_INTENTS - len(AUTOPILOT_INTENTS)]]


def clinc_out_of_scope(data_dir: Path) -> list[str]:
    with gzip.open(data_dir / "clinc150" / "train_val.json.gz", "rt") as handle:
        document = json.load(handle)
    return [text for text, _ in document["oos_train"]] + [text for text, _ in document["oos_val"]]


def knowledge_passages(data_dir: Path) -> list[Passage]:
    tau2 = data_dir / "tau2_bench"
    return [
        *load_jsonl_documents(tau2 / "banking_knowledge" / "documents.jsonl.gz"),
        # tau2's policies tell agents what they may do: guidance, not text for customers.
        *load_markdown_file(tau2 / "retail" / "policy.md", "retail-policy", audience=AGENT),
        *load_markdown_file(tau2 / "telecom" / "main_policy.md", "telecom-policy", audience=AGENT),
        *load_abcd_guidelines(data_dir / "abcd" / "guidelines.json", data_dir / "abcd" / "kb.json"),
    ]


def seed_demo(factory: sessionmaker[Session], *, data_dir: Path, clock: Clock) -> DemoSummary:
    """Create (once) the demo tenant with its knowledge base, classifier and autopilot policy; new tokens each run."""
    with transaction(factory) as session:
        tenant = accounts_repository.tenant_by_slug(session, DEMO_SLUG)
        fresh = tenant is None
        if tenant is None:
            tenant = accounts_service.create_tenant(
                session, slug=DEMO_SLUG, name="Demo Bank & Shop", clock=clock
            )
            tenant.helpdesk = "local"
        tokens = {
            scope.value: accounts_service.issue_token(
                session,
                tenant=tenant,
                scopes=(scope,),
                name=f"demo {scope.value}",
                clock=clock,
                user_email=f"{scope.value}@demo.outcomedesk.test",
            ).token
            for scope in Scope
        }
        summary = DemoSummary(tenant.slug, tenant.zendesk_webhook_secret, tokens)
        tenant_id = tenant.id
    if fresh:
        _teach(factory, tenant_id, data_dir, clock)
    return summary


def _teach(factory: sessionmaker[Session], tenant_id: int, data_dir: Path, clock: Clock) -> None:
    texts = banking77(data_dir)
    examples = [
        (text, intent)
        for intent in demo_intents(data_dir)
        for text in texts[intent][:TRAINING_EXAMPLES_PER_INTENT]
    ]
    with transaction(factory) as session:
        training.import_knowledge(
            session, tenant_id=tenant_id, passages=knowledge_passages(data_dir), clock=clock
        )
        metrics_service.configure_experiment(
            session, tenant_id=tenant_id, unit=Unit.REQUESTER, assisted_share_bp=5_000, clock=clock
        )
        drafting_service.update_settings(
            session,
            tenant_id=tenant_id,
            clock=clock,
            autopilot_enabled=True,
            intent_allowlist=list(AUTOPILOT_INTENTS),
        )
        training.train_intent_model(session, tenant_id=tenant_id, examples=examples, clock=clock)
