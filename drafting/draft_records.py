"""Drafts as stored and as shown: the JSON columns of a draft row and the view built from them."""

import json
from collections.abc import Sequence

from drafting.context.base import AccountContext
from drafting.knowledge import Passage
from drafting.models import Draft
from drafting.schemas import DraftView

PASSAGE_EXCERPT_CHARS = 600


def context_json(context: AccountContext, passages: Sequence[Passage], citations: Sequence[str]) -> str:
    """The draft's context column: the facts, the cited passages, the agent guidance found for the ticket
    and how each source answered."""
    cited = set(citations)
    return json.dumps(
        {
            # What each cited passage said when the draft was written: the sidebar shows it, whatever the
            # knowledge base holds later.
            "passages": [_passage_json(p) for p in passages if p.citation_id in cited],
            # Internal procedures and policies that matched the ticket: for the agent's eyes, never quoted.
            "guidance": [
                _passage_json(p) for p in passages if not p.for_customers and p.citation_id not in cited
            ],
            "facts": [
                {"id": f.id, "key": f.key, "label": f.label, "value": f.value, "source": f.source}
                for f in context.facts
            ],
            "sources": [
                {"name": s.name, "ok": s.ok, "error": s.error, "elapsed_ms": round(s.elapsed_ms, 1)}
                for s in context.statuses
            ],
        }
    )


def to_view(row: Draft) -> DraftView:
    """A stored draft as the API and the pages show it."""
    context = json.loads(row.context)
    return DraftView(
        id=row.id,
        ticket_id=row.ticket_id,
        requester_id=row.requester_id,
        message_id=row.message_id,
        attempt=row.attempt,
        text=row.text,
        sentences=tuple((text, tuple(ids)) for text, ids in json.loads(row.sentences)),
        citations=tuple(json.loads(row.citations)),
        intent=row.intent,
        confidence=row.confidence,
        action=row.action,
        reasons=tuple(json.loads(row.reasons)),
        grounded=row.grounded,
        ungrounded=tuple(json.loads(row.ungrounded)),
        guardrails=tuple(json.loads(row.guardrails)),
        context=tuple(context["facts"]),
        passages=tuple(context.get("passages", ())),
        guidance=tuple(context.get("guidance", ())),
        sources=tuple(context["sources"]),
        context_partial=row.context_partial,
        drafter=row.drafter,
        prompt_version=row.prompt_version,
        model=row.model,
        latency_ms=row.latency_ms,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        billed=row.billed,
    )


def _passage_json(passage: Passage) -> dict[str, str]:
    return {
        "id": passage.citation_id,
        "title": passage.title,
        "section": passage.section,
        "excerpt": _excerpt(passage.text),
    }


def _excerpt(text: str, limit: int = PASSAGE_EXCERPT_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
