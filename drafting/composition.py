"""Composing a draft: from the ticket text and its requester to a checked reply, before anything is stored.

The intent depends only on the ticket text, so it is predicted in a worker thread while the context sources
answer: the classifier's numpy work releases the GIL, another core runs it, and the event loop stays free
for other tickets' I/O instead of queueing them behind ~50 ms of embedding per ticket. The shell gives the
kit a pool with one thread per core: more predictions at once than cores only thrash the caches and starve
the event loop.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Hashable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

from drafting.context.base import AccountContext, ContextSource, CustomerRef
from drafting.context.gather import ContextCache, gather_context
from drafting.grounding import GroundingResult, check_grounding
from drafting.guardrails import detect_guardrails
from drafting.intent import IntentClassifier, IntentPrediction
from drafting.knowledge import KnowledgeBase, Passage
from drafting.schemas import WrittenReply
from drafting.writers import ReplyWriter

PASSAGES_PER_DRAFT = 3


@dataclass(frozen=True)
class DraftingKit:
    """A tenant's drafting collaborators, assembled by the shell."""

    sources: Sequence[ContextSource]
    knowledge: KnowledgeBase
    writer: ReplyWriter
    classifier: IntentClassifier | None = None
    cache: ContextCache | None = None
    timeout_s: float = 1.5
    classifier_pool: Executor | None = None
    """Threads the intent is predicted on (the event loop's default executor when None)."""


@dataclass(frozen=True)
class ComposedDraft:
    """Everything a draft is made of: its context, intent, passages, reply and the checks on that reply."""

    context: AccountContext
    prediction: IntentPrediction | None
    passages: Sequence[Passage]
    written: WrittenReply
    grounding: GroundingResult
    guardrails: tuple[str, ...]


async def compose_draft(
    *, text: str, customer: CustomerRef, kit: DraftingKit, tenant_id: Hashable = None
) -> ComposedDraft:
    """Gather the customer's context while classifying the ticket, then write and check the reply."""
    context, prediction = await _context_and_prediction(text, customer, kit, tenant_id)
    intent = None if prediction is None or prediction.out_of_scope else prediction.intent
    passages = kit.knowledge.search(text, k=PASSAGES_PER_DRAFT)
    written = await kit.writer.write(ticket_text=text, intent=intent, passages=passages, context=context)
    known_plans = [plan.strip() for plan in (context.value("known_plans") or "").split(",") if plan.strip()]
    return ComposedDraft(
        context=context,
        prediction=prediction,
        passages=passages,
        written=written,
        grounding=check_grounding(written.text, context, passages, known_plans),
        guardrails=detect_guardrails(text, context),
    )


async def _context_and_prediction(
    text: str, customer: CustomerRef, kit: DraftingKit, tenant_id: Hashable
) -> tuple[AccountContext, IntentPrediction | None]:
    gather = functools.partial(
        gather_context, customer, kit.sources, tenant_id=tenant_id, timeout_s=kit.timeout_s, cache=kit.cache
    )
    if kit.classifier is None:
        return await gather(), None
    predicting = asyncio.get_running_loop().run_in_executor(
        kit.classifier_pool, kit.classifier.predict, [text]
    )
    try:
        context = await gather()
    except BaseException:
        # A prediction still queued is dropped; one already running finishes in its thread, unread.
        predicting.cancel()
        await asyncio.wait([predicting])
        if not predicting.cancelled():
            predicting.exception()
        raise
    return context, (await predicting)[0]
