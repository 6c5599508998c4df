"""Seeding the demo tenant; later steps add simulated traffic through the real pipeline."""

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from plugin.accounts import repository as accounts_repository
from plugin.accounts import service as accounts_service
from plugin.accounts.scopes import Scope
from plugin.core.clock import SystemClock
from plugin.core.config import Settings
from plugin.core.db import transaction

DEMO_SLUG = "demo"


@dataclass(frozen=True)
class DemoSummary:
    tenant_slug: str
    webhook_secret: str
    tokens: dict[str, str]

    def describe(self, base_url: str) -> str:
        lines = [
            f"demo tenant: {self.tenant_slug}",
            f"API docs:    {base_url}/docs",
            f"health:      {base_url}/healthz",
            f"zendesk webhook: POST {base_url}/api/v1/webhooks/zendesk/{self.tenant_slug} "
            f"(secret {self.webhook_secret})",
        ]
        lines += [f"{role} token: {token}" for role, token in self.tokens.items()]
        return "\n".join(lines)


def seed_demo(factory: sessionmaker[Session], *, settings: Settings) -> DemoSummary:
    """Create the demo tenant if needed and issue one fresh token per role."""
    clock = SystemClock()
    with transaction(factory) as session:
        tenant = accounts_repository.tenant_by_slug(session, DEMO_SLUG) or accounts_service.create_tenant(
            session, slug=DEMO_SLUG, name="Demo Retail Co.", clock=clock
        )
        tokens = {
            scope.value: accounts_service.issue_token(
                session, tenant=tenant, scopes=(scope,), name=f"demo {scope.value}", clock=clock
            ).token
            for scope in Scope
        }
        return DemoSummary(tenant.slug, tenant.zendesk_webhook_secret, tokens)
