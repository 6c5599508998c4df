"""Which helpdesk adapter serves a tenant, and how the demo helpdesk's events re-enter the pipeline."""

import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from plugin.accounts.models import Tenant
from plugin.core.clock import Clock
from plugin.core.db import transaction
from plugin.core.errors import BadRequest
from plugin.helpdesk.base import Helpdesk
from plugin.helpdesk.local import EventSink, LocalHelpdesk
from plugin.helpdesk.service import ai_author_ids, ingest_zendesk_event
from plugin.helpdesk.zendesk import ZendeskHelpdesk
from plugin.pipeline import react


@dataclass
class HelpdeskFactory:
    factory: sessionmaker[Session]
    clock: Clock
    _adapters: dict[int, Helpdesk] = field(default_factory=dict)

    def __call__(self, tenant: Tenant) -> Helpdesk:
        if tenant.id not in self._adapters:
            self._adapters[tenant.id] = self._build(tenant)
        return self._adapters[tenant.id]

    def local(self, tenant: Tenant) -> LocalHelpdesk:
        adapter = self(tenant)
        if not isinstance(adapter, LocalHelpdesk):
            raise BadRequest(f"tenant {tenant.slug!r} uses {tenant.helpdesk}, not the demo helpdesk")
        return adapter

    def _build(self, tenant: Tenant) -> Helpdesk:
        if tenant.helpdesk == "local":
            return LocalHelpdesk(
                self.factory, tenant_id=tenant.id, clock=self.clock, on_event=self._sink(tenant)
            )
        if not (tenant.zendesk_subdomain and tenant.zendesk_email and tenant.zendesk_api_token):
            raise BadRequest(f"tenant {tenant.slug!r} has no Zendesk API credentials configured")
        # A full URL instead of a subdomain points at a proxy or a Zendesk-compatible test server.
        subdomain = tenant.zendesk_subdomain
        base_url = (
            subdomain if subdomain.startswith(("http://", "https://")) else f"https://{subdomain}.zendesk.com"
        )
        return ZendeskHelpdesk(
            base_url,
            email=tenant.zendesk_email,
            api_token=tenant.zendesk_api_token,
            bot_user_id=tenant.bot_user_id,
        )

    def _sink(self, tenant: Tenant) -> EventSink:
        authors = ai_author_ids(tenant)

        def deliver(document: dict[str, Any]) -> None:
            # The demo helpdesk's deliveries take the same path as signed Zendesk webhooks, minus HTTP.
            with transaction(self.factory) as session:
                receipt = ingest_zendesk_event(
                    session,
                    tenant_id=tenant.id,
                    document=document,
                    raw=json.dumps(document),
                    clock=self.clock,
                    ai_author_ids=authors,
                )
                react(session, receipt=receipt, clock=self.clock)

        return deliver
