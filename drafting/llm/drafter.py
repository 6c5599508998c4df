"""The LLM drafter for any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp).

The only module that imports ``openai``. Transport failures (after the SDK's retries) raise
``UpstreamTimeout``/``UpstreamFailed``, because a failed draft is free and simply not delivered; a reply
that arrives but breaks the JSON contract comes back as a draft with ``parse_error`` set instead.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import openai

from drafting.context.base import AccountContext
from drafting.context.gather import PerLoop
from drafting.knowledge import Passage
from drafting.llm.output import ParsedReply, ReplyTextStream, parse_reply
from drafting.llm.prompts import PROMPT_VERSION, build_messages, citable_ids, get_prompt, to_openai_messages
from plugin.core.config import Settings
from plugin.core.errors import UpstreamFailed, UpstreamTimeout

DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_RETRIES = 2


@dataclass(frozen=True)
class ReplyRequest:
    """What the drafter is asked to answer."""

    ticket_text: str
    context: AccountContext
    passages: Sequence[Passage] = ()
    intent: str | None = None


@dataclass(frozen=True)
class LlmDraft:
    """One drafted reply with its provenance and cost; ``parse_error`` set means never auto-resolve."""

    text: str
    cited_source_ids: tuple[str, ...]
    self_confidence: float
    prompt_version: str
    model: str
    latency_ms: float
    prompt_tokens: int
    completion_tokens: int
    parse_error: str | None


class OpenAIDrafter:
    """Drafts replies through the ``openai`` SDK with a versioned prompt, as one JSON answer or a stream."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str = "gpt-4o-mini",
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_retries: int = DEFAULT_MAX_RETRIES,
        temperature: float = 0.2,
        max_tokens: int = 700,
        json_mode: bool = True,
        prompt_version: str = PROMPT_VERSION,
        brand: str = "our company",
    ) -> None:
        self.model = model
        self._prompt = get_prompt(prompt_version)
        # The SDK's connection pool belongs to one event loop; a process may run several loops in turn.
        self._clients = PerLoop(
            lambda: openai.AsyncOpenAI(
                api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=max_retries
            ),
            lambda client: client.close(),
        )
        self._timeout_s = timeout_s
        self._options: dict[str, Any] = {"temperature": temperature, "max_tokens": max_tokens}
        if json_mode:
            # Servers without JSON mode ignore or reject it; json_mode=False leaves the prompt to do the work.
            self._options["response_format"] = {"type": "json_object"}
        self._brand = brand

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIDrafter | None:
        """The configured drafter, or None when neither OPENAI_API_KEY nor OPENAI_BASE_URL is set."""
        if not settings.openai_api_key and not settings.openai_base_url:
            return None
        # Local servers (Ollama, llama.cpp) accept any key, but the SDK insists on one.
        return cls(
            api_key=settings.openai_api_key or "not-needed",
            base_url=settings.openai_base_url,
            model=settings.openai_model,
        )

    @property
    def prompt_version(self) -> str:
        return self._prompt.version

    async def draft(self, request: ReplyRequest) -> LlmDraft:
        """One non-streaming structured call."""
        started = time.perf_counter()
        try:
            response = await self._clients.get().chat.completions.create(
                model=self.model, messages=self._messages(request), **self._options
            )
        except openai.APIError as exc:
            raise self._translate(exc) from exc
        content = response.choices[0].message.content if response.choices else None
        usage = response.usage
        return self._result(
            parse_reply(content, citable_ids(request.context, request.passages)),
            model=response.model or self.model,
            started=started,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )

    def stream(self, request: ReplyRequest) -> DraftStream:
        """A stream of reply-text deltas (for SSE); its ``result`` is the full draft once exhausted."""
        return DraftStream(self, request)

    async def aclose(self) -> None:
        await self._clients.aclose()

    def _messages(self, request: ReplyRequest) -> Any:
        messages = build_messages(
            self._prompt,
            ticket_text=request.ticket_text,
            context=request.context,
            passages=request.passages,
            intent=request.intent,
            brand=self._brand,
        )
        return to_openai_messages(messages)

    async def _chunks(self, request: ReplyRequest) -> AsyncIterator[Any]:
        try:
            stream = await self._clients.get().chat.completions.create(
                model=self.model,
                messages=self._messages(request),
                stream=True,
                stream_options={"include_usage": True},
                **self._options,
            )
            async for chunk in stream:
                yield chunk
        except openai.APIError as exc:
            raise self._translate(exc) from exc

    def _result(
        self, parsed: ParsedReply, *, model: str, started: float, prompt_tokens: int, completion_tokens: int
    ) -> LlmDraft:
        return LlmDraft(
            text=parsed.text,
            cited_source_ids=parsed.cited_source_ids,
            self_confidence=parsed.confidence,
            prompt_version=self._prompt.version,
            model=model,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            parse_error=parsed.error,
        )

    def _translate(self, exc: openai.APIError) -> Exception:
        if isinstance(exc, openai.APITimeoutError):
            return UpstreamTimeout(f"LLM endpoint did not answer within {self._timeout_s:g} s")
        if isinstance(exc, openai.APIConnectionError):
            return UpstreamFailed("LLM endpoint unreachable")
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return UpstreamFailed(f"LLM endpoint rejected the API key (HTTP {exc.status_code})")
        if isinstance(exc, openai.APIStatusError):
            return UpstreamFailed(f"LLM endpoint returned HTTP {exc.status_code}")
        # Mid-stream errors and malformed frames carry no status; their messages may quote the payload.
        return UpstreamFailed(f"LLM endpoint error ({type(exc).__name__})")


class DraftStream:
    """Iterate for reply-text deltas; afterwards ``result`` holds the validated draft."""

    def __init__(self, drafter: OpenAIDrafter, request: ReplyRequest) -> None:
        self._drafter = drafter
        self._request = request
        self._result: LlmDraft | None = None

    @property
    def result(self) -> LlmDraft:
        if self._result is None:
            raise RuntimeError("the draft stream has not been read to the end")
        return self._result

    def __aiter__(self) -> AsyncIterator[str]:
        return self._deltas()

    async def _deltas(self) -> AsyncIterator[str]:
        started = time.perf_counter()
        reply = ReplyTextStream()
        model = self._drafter.model
        prompt_tokens = completion_tokens = 0
        async for chunk in self._drafter._chunks(self._request):
            model = chunk.model or model
            if chunk.usage is not None:
                prompt_tokens, completion_tokens = chunk.usage.prompt_tokens, chunk.usage.completion_tokens
            for choice in chunk.choices:
                if choice.delta is not None and choice.delta.content:
                    text = reply.feed(choice.delta.content)
                    if text:
                        yield text
        self._result = self._drafter._result(
            parse_reply(reply.raw, citable_ids(self._request.context, self._request.passages)),
            model=model,
            started=started,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
