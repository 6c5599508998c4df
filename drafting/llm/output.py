"""Reading the model's JSON answer: strict validation at the end, and the reply text as it streams.

A model's answer is data from outside: anything that is not exactly the promised shape is reported as a
parse error (the policy never auto-resolves such a draft) rather than raised or half-trusted.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Set
from dataclasses import dataclass

_FENCE = re.compile(r"^\s*```(?:json)?\s*(?P<body>.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)
_REPLY_START = re.compile(r'"reply"\s*:\s*"')
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


@dataclass(frozen=True)
class ParsedReply:
    """The validated answer, or what could be salvaged plus the reason it is not valid."""

    text: str
    cited_source_ids: tuple[str, ...]
    confidence: float
    error: str | None


def parse_reply(raw: str | None, allowed_ids: Set[str]) -> ParsedReply:
    """Validate ``{"reply", "cited_source_ids", "confidence"}``; never raises."""
    if raw is None or not raw.strip():
        return ParsedReply(text="", cited_source_ids=(), confidence=0.0, error="empty response")
    fenced = _FENCE.match(raw)
    body = fenced.group("body") if fenced else raw.strip()
    try:
        answer = json.loads(body)
    except json.JSONDecodeError as exc:
        return _invalid(raw, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    if not isinstance(answer, dict):
        return _invalid(raw, "not a JSON object")
    reply = answer.get("reply")
    if not isinstance(reply, str) or not reply.strip():
        return _invalid(raw, '"reply" must be a non-empty string')
    cited = answer.get("cited_source_ids")
    if not isinstance(cited, list) or not all(isinstance(item, str) for item in cited):
        return _invalid(reply, '"cited_source_ids" must be a list of strings')
    confidence = answer.get("confidence")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not math.isfinite(confidence)
    ):
        return _invalid(reply, '"confidence" must be a number')
    if not 0.0 <= confidence <= 1.0:
        return _invalid(reply, '"confidence" must be between 0 and 1')
    ids = tuple(dict.fromkeys(cited))
    unknown = [source_id for source_id in ids if source_id not in allowed_ids]
    if unknown:
        # A citation of something the model was never shown is a fabrication, however good the text reads.
        return ParsedReply(
            text=reply.strip(),
            cited_source_ids=tuple(source_id for source_id in ids if source_id in allowed_ids),
            confidence=0.0,
            error=f"cites unknown sources: {', '.join(unknown[:5])}",
        )
    return ParsedReply(text=reply.strip(), cited_source_ids=ids, confidence=float(confidence), error=None)


def _invalid(text: str, error: str) -> ParsedReply:
    return ParsedReply(text=text.strip(), cited_source_ids=(), confidence=0.0, error=error)


class ReplyTextStream:
    """Decodes the ``"reply"`` string of a JSON answer while it streams in, delta by delta.

    Feed raw content deltas; each call returns the reply text decoded since the previous call, so an agent
    sees the reply grow instead of raw JSON.
    """

    def __init__(self) -> None:
        self._raw = ""
        self._position = 0
        self._state = "seek"
        self._high_surrogate: int | None = None

    @property
    def raw(self) -> str:
        return self._raw

    def feed(self, delta: str) -> str:
        self._raw += delta
        if self._state == "seek":
            match = _REPLY_START.search(self._raw, max(0, self._position - 16))
            if match is None:
                self._position = len(self._raw)
                return ""
            self._position = match.end()
            self._state = "string"
        if self._state == "string":
            return self._decode()
        return ""

    def _decode(self) -> str:
        out: list[str] = []
        raw, index = self._raw, self._position
        while index < len(raw):
            char = raw[index]
            if char == '"':
                self._state = "done"
                index += 1
                break
            if char != "\\":
                out.append(char)
                index += 1
                continue
            if index + 1 >= len(raw):
                break
            code = raw[index + 1]
            if code == "u":
                if index + 6 > len(raw):
                    break
                out.append(self._unicode(raw[index + 2 : index + 6]))
                index += 6
            else:
                out.append(_ESCAPES.get(code, code))
                index += 2
        self._position = index
        return "".join(out)

    def _unicode(self, digits: str) -> str:
        try:
            point = int(digits, 16)
        except ValueError:
            return ""
        if 0xD800 <= point <= 0xDBFF:
            self._high_surrogate = point
            return ""
        if 0xDC00 <= point <= 0xDFFF and self._high_surrogate is not None:
            combined = 0x10000 + ((self._high_surrogate - 0xD800) << 10) + (point - 0xDC00)
            self._high_surrogate = None
            return chr(combined)
        return chr(point)
