"""Drafters behind one small interface: the embedded offline drafter and (optionally) an LLM."""

from collections.abc import Sequence
from typing import Protocol

from drafting.context.base import AccountContext
from drafting.embedded import compose_reply
from drafting.knowledge import Passage
from drafting.llm.drafter import OpenAIDrafter, ReplyRequest
from drafting.schemas import WrittenReply

EMBEDDED_VERSION = "embedded-v1"


class ReplyWriter(Protocol):
    name: str

    async def write(
        self, *, ticket_text: str, intent: str | None, passages: Sequence[Passage], context: AccountContext
    ) -> WrittenReply: ...


class EmbeddedWriter:
    """The default drafter: extractive, offline, every sentence cites a source."""

    name = "embedded"

    async def write(
        self, *, ticket_text: str, intent: str | None, passages: Sequence[Passage], context: AccountContext
    ) -> WrittenReply:
        composed = compose_reply(ticket_text, intent, passages, context)
        return WrittenReply(
            text=composed.text,
            citations=composed.citations,
            sentences=tuple((sentence.text, sentence.source_ids) for sentence in composed.sentences),
            drafter=self.name,
            prompt_version=EMBEDDED_VERSION,
            model=EMBEDDED_VERSION,
        )


class LlmWriter:
    """Any OpenAI-compatible model; its reply is grounded and policed exactly like the embedded one's."""

    name = "llm"

    def __init__(self, drafter: OpenAIDrafter) -> None:
        self._drafter = drafter

    async def write(
        self, *, ticket_text: str, intent: str | None, passages: Sequence[Passage], context: AccountContext
    ) -> WrittenReply:
        draft = await self._drafter.draft(
            ReplyRequest(ticket_text=ticket_text, context=context, passages=tuple(passages), intent=intent)
        )
        return WrittenReply(
            text=draft.text,
            citations=draft.cited_source_ids,
            sentences=((draft.text, draft.cited_source_ids),) if draft.text else (),
            self_confidence=draft.self_confidence,
            drafter=self.name,
            prompt_version=draft.prompt_version,
            model=draft.model,
            prompt_tokens=draft.prompt_tokens,
            completion_tokens=draft.completion_tokens,
            parse_error=draft.parse_error,
        )
