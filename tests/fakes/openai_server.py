"""An OpenAI-compatible ``POST /v1/chat/completions`` fake: JSON and SSE streaming, scripted replies.

Tests queue ``Scripted`` answers (content, HTTP status, delay); each request takes the next one, or the
default answer when the queue is empty. Requests are recorded so tests can check what the client sent.
Streams follow OpenAI's format: ``data: {chunk}`` frames, a final usage-only chunk when the client asked
for ``stream_options.include_usage``, then ``data: [DONE]``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.fakes.server import serve_in_thread

API_KEY = "sk-test-openai-key"
VALID_ANSWER = json.dumps({"reply": "Hello! Happy to help.", "cited_source_ids": [], "confidence": 0.8})


@dataclass(frozen=True)
class Scripted:
    """One answer: ``content`` for 200s, an error body for other statuses, after ``delay_s``."""

    content: str = VALID_ANSWER
    status: int = 200
    delay_s: float = 0.0
    prompt_tokens: int = 120
    completion_tokens: int = 30
    chunk_chars: int = 7
    finish_reason: str = "stop"


@dataclass
class FakeOpenAI:
    """The fake's state: the script, the requests seen, the accepted key and the model name it reports."""

    api_key: str = API_KEY
    model: str = "fake-gpt-1"
    script: list[Scripted] = field(default_factory=list)
    default: Scripted = field(default_factory=Scripted)
    requests: list[dict[str, Any]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def then(self, *answers: Scripted) -> FakeOpenAI:
        with self._lock:
            self.script.extend(answers)
        return self

    def _next(self) -> Scripted:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/chat/completions", self._completions, methods=["POST"])])

    async def _completions(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        body = await request.json()
        self.requests.append(body)
        answer = self._next()
        if answer.delay_s:
            await asyncio.sleep(answer.delay_s)
        if answer.status != 200:
            # retry-after-ms keeps the SDK's retry quick in tests; OpenAI sends it on overload too.
            return _error(
                answer.status, "The server had an error.", "server_error", None, {"retry-after-ms": "5"}
            )
        completion_id = f"chatcmpl-fake{next(self._ids)}"
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            return StreamingResponse(
                self._chunks(completion_id, answer, include_usage), media_type="text/event-stream"
            )
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": 1_790_000_000,
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": answer.finish_reason,
                    }
                ],
                "usage": _usage(answer),
                "system_fingerprint": "fp_fake",
            }
        )

    async def _chunks(
        self, completion_id: str, answer: Scripted, include_usage: bool
    ) -> AsyncIterator[bytes]:
        def frame(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
            chunk = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": 1_790_000_000,
                "model": self.model,
                "system_fingerprint": "fp_fake",
                "choices": choices,
            }
            if include_usage:
                chunk["usage"] = usage
            return f"data: {json.dumps(chunk)}\n\n".encode()

        yield frame([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        content = answer.content
        for start in range(0, len(content), answer.chunk_chars):
            piece = content[start : start + answer.chunk_chars]
            yield frame([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
            await asyncio.sleep(0)
        yield frame([{"index": 0, "delta": {}, "finish_reason": answer.finish_reason}])
        if include_usage:
            yield frame([], _usage(answer))
        yield b"data: [DONE]\n\n"


def _usage(answer: Scripted) -> dict[str, int]:
    return {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
    }


def _error(
    status: int, message: str, kind: str, code: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


@contextmanager
def running_openai(fake: FakeOpenAI | None = None) -> Iterator[tuple[str, FakeOpenAI]]:
    """Serve the fake on 127.0.0.1; yields (base_url ending in /v1, fake)."""
    fake = fake or FakeOpenAI()
    with serve_in_thread(fake.app()) as base_url:
        yield f"{base_url}/v1", fake
