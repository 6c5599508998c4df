"""Per-process wiring of the drafting collaborators: context sources, knowledge base, classifier, drafter.

Knowledge bases, classifiers and a tenant's own context sources are cached per tenant and rebuilt only
when the tenant's data or connector settings changed; context facts are cached briefly per customer.
"""

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits

from billing.gateway import BillingGateway
from drafting import connectors, training
from drafting.composition import DraftingKit
from drafting.context.base import ContextSource
from drafting.context.gather import ContextCache
from drafting.context.local import RetailData, TelecomData, retail_sources, telecom_sources
from drafting.intent import IntentClassifier
from drafting.knowledge import KnowledgeBase
from drafting.llm.drafter import OpenAIDrafter
from drafting.writers import EmbeddedWriter, LlmWriter, ReplyWriter
from plugin.core.config import Settings

CONNECTOR_RECHECK_SECONDS = 30.0


def build_classifier_pool() -> ThreadPoolExecutor:
    """One thread per core for intent predictions; its threads start on first use."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="intent")


def share_cores_between_drafts() -> None:
    """Give BLAS one thread per call, for the whole process.

    Drafts classify their tickets on the classifier pool, one thread per core, so the cores are already
    shared out between tickets and BLAS's own threads only spin against them. Measured on 2 cores with
    concurrent drafts: ~50 ms of CPU per prediction with one BLAS thread against ~80 ms with two, and
    predictions ten times slower with two once another process keeps the cores busy.
    """
    threadpool_limits(1, user_api="blas")


@dataclass
class KitFactory:
    settings: Settings
    context_cache: ContextCache = field(default_factory=ContextCache)
    classifier_pool: ThreadPoolExecutor = field(default_factory=build_classifier_pool)
    _knowledge: dict[int, tuple[tuple[int, int], KnowledgeBase]] = field(default_factory=dict)
    _classifiers: dict[int, tuple[int, IntentClassifier]] = field(default_factory=dict)
    _tenant_sources: dict[int, tuple[connectors.ConnectorConfig, tuple[ContextSource, ...]]] = field(
        default_factory=dict
    )
    _checked_configs: dict[int, tuple[float, connectors.ConnectorConfig]] = field(default_factory=dict)
    _sources: tuple[ContextSource, ...] | None = None
    _writer: ReplyWriter | None = None

    def kit(self, session: Session, tenant_id: int) -> DraftingKit:
        """The tenant's drafting collaborators, built once per data version."""
        return DraftingKit(
            sources=self.sources(session, tenant_id),
            knowledge=self.knowledge(session, tenant_id),
            writer=self.writer(),
            classifier=self.classifier(session, tenant_id),
            cache=self.context_cache,
            timeout_s=self.settings.context_timeout_seconds,
            classifier_pool=self.classifier_pool,
        )

    def knowledge(self, session: Session, tenant_id: int) -> KnowledgeBase:
        version = training.knowledge_version(session, tenant_id=tenant_id)
        cached = self._knowledge.get(tenant_id)
        if cached is None or cached[0] != version:
            cached = (version, training.load_knowledge(session, tenant_id=tenant_id))
            self._knowledge[tenant_id] = cached
        return cached[1]

    def classifier(self, session: Session, tenant_id: int) -> IntentClassifier | None:
        newest = training.latest_model_version(session, tenant_id=tenant_id)
        if newest == 0:
            return None
        cached = self._classifiers.get(tenant_id)
        if cached is None or cached[0] != newest:
            loaded = training.load_classifier(session, tenant_id=tenant_id)
            if loaded is None:
                return None
            cached = loaded
            self._classifiers[tenant_id] = cached
        return cached[1]

    def sources(self, session: Session, tenant_id: int) -> tuple[ContextSource, ...]:
        """The tenant's own connectors when it has any, else the process's default sources."""
        return self._sources_for(tenant_id, connectors.tenant_config(session, tenant_id=tenant_id))

    def recent_sources(
        self, tenant_id: int, read_config: Callable[[], connectors.ConnectorConfig]
    ) -> tuple[ContextSource, ...]:
        """``sources`` for requests that otherwise touch no database: the tenant's connector settings are
        read again at most every ``CONNECTOR_RECHECK_SECONDS`` (a change shows within that time)."""
        now = time.monotonic()
        checked = self._checked_configs.get(tenant_id)
        if checked is None or now - checked[0] > CONNECTOR_RECHECK_SECONDS:
            checked = (now, read_config())
            self._checked_configs[tenant_id] = checked
        return self._sources_for(tenant_id, checked[1])

    def _sources_for(self, tenant_id: int, config: connectors.ConnectorConfig) -> tuple[ContextSource, ...]:
        if not config:
            self._tenant_sources.pop(tenant_id, None)
            return self.default_sources()
        cached = self._tenant_sources.get(tenant_id)
        if cached is None or cached[0] != config:
            cached = (config, connectors.build_sources(config))
            self._tenant_sources[tenant_id] = cached
        return cached[1]

    def default_sources(self) -> tuple[ContextSource, ...]:
        if self._sources is None:
            self._sources = build_sources(self.settings)
        return self._sources

    def writer(self) -> ReplyWriter:
        if self._writer is None:
            self._writer = build_writer(self.settings)
        return self._writer


def build_sources(settings: Settings) -> tuple[ContextSource, ...]:
    """Real connectors when configured, else the demo's local sources built from the public data."""
    data_dir = Path(settings.data_dir)
    sources: list[ContextSource] = []
    if settings.hubspot_access_token:
        from drafting.context.crm import HubSpotSource

        sources.append(
            HubSpotSource(access_token=settings.hubspot_access_token, base_url=settings.hubspot_base_url)
        )
    if settings.stripe_api_key:
        from drafting.context.stripe_source import StripeSource

        sources.append(StripeSource(api_key=settings.stripe_api_key, base_url=settings.stripe_api_base))
    if settings.usage_api_url:
        from drafting.context.product import HttpUsageSource

        sources.append(HttpUsageSource(base_url=settings.usage_api_url))
    if sources:
        return tuple(sources)
    return (*retail_sources(RetailData.load(data_dir)), *telecom_sources(TelecomData.load(data_dir))[1:])


def build_writer(settings: Settings) -> ReplyWriter:
    """The LLM drafter when an OpenAI-compatible endpoint is configured, else the embedded one."""
    drafter = OpenAIDrafter.from_settings(settings)
    return LlmWriter(drafter) if drafter is not None else EmbeddedWriter()


def build_billing_gateway(settings: Settings) -> BillingGateway | None:
    """Stripe when configured; otherwise invoices stay in our ledger and exports only."""
    if not settings.stripe_api_key:
        return None
    from billing.stripe_gateway import StripeGateway

    return StripeGateway(settings.stripe_api_key, api_base=settings.stripe_api_base)
