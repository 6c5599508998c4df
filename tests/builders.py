"""Builders for tenants and tokens, shared by every domain's tests."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from plugin.accounts import service as accounts_service
from plugin.accounts.models import Tenant
from plugin.accounts.scopes import Scope
from plugin.core.clock import Clock


@dataclass(frozen=True)
class TenantFixture:
    tenant: Tenant
    tokens: dict[Scope, str]

    @property
    def slug(self) -> str:
        return self.tenant.slug

    @property
    def id(self) -> int:
        return self.tenant.id

    def headers(self, scope: Scope = Scope.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[scope]}"}


def make_tenant(
    session: Session, clock: Clock, slug: str = "acme", secret: str = "whsec-test"
) -> TenantFixture:
    tenant = accounts_service.create_tenant(
        session, slug=slug, name=slug.title(), clock=clock, webhook_secret=secret
    )
    tokens = {
        scope: accounts_service.issue_token(
            session, tenant=tenant, scopes=(scope,), name=scope.value, clock=clock
        ).token
        for scope in Scope
    }
    session.commit()
    return TenantFixture(tenant, tokens)
