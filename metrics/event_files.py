"""Canonical events files (DESIGN §5): CSV with a header or JSON Lines, optionally gzip-compressed.

Columns: `ticket_id, requester_id, event, occurred_at` (required), `actor, agent_id, public, channel,
intent, priority, value, arm, key` (optional). Timestamps are ISO 8601; without an offset they are UTC.
The whole file is validated before anything is used, and the first bad line is named.
"""

import csv
import gzip
import io
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from metrics.assignment import Arm
from metrics.events import Actor, EventName, TicketEvent
from plugin.core.errors import InvalidPayload

REQUIRED = ("ticket_id", "requester_id", "event", "occurred_at")
DEFAULT_ACTOR = {
    EventName.CREATED: Actor.CUSTOMER,
    EventName.CUSTOMER_MESSAGE: Actor.CUSTOMER,
    EventName.REOPENED: Actor.CUSTOMER,
    EventName.CSAT: Actor.CUSTOMER,
    EventName.AI_REPLY: Actor.AI,
    EventName.DRAFT_DELIVERED: Actor.AI,
}
TRUE_WORDS = {"true", "1", "yes", "t", "y"}
FALSE_WORDS = {"false", "0", "no", "f", "n"}


class EventFileError(InvalidPayload):
    """A line of an events file that cannot be read; nothing from the file is used."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}", extra={"line": line})
        self.line = line


def _text(record: Mapping[str, Any], name: str, limit: int) -> str | None:
    raw = record.get(name)
    if raw is None:
        return None
    value = str(raw).strip()
    if len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")
    return value or None


def _timestamp(raw: Any) -> datetime:
    text = str(raw or "").strip()
    if not text:
        raise ValueError("occurred_at is missing")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"bad timestamp {text!r} (want ISO 8601, e.g. 2026-01-31T09:15:00Z)") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _boolean(raw: Any) -> bool | None:
    if raw is None or isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"public must be true or false, got {raw!r}")


def _number(raw: Any) -> float | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        return float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"value must be a number, got {raw!r}") from None


def parse_record(record: Mapping[str, Any], line: int) -> TicketEvent:
    """One file line as a canonical event; raises EventFileError naming the line."""
    try:
        missing = [name for name in REQUIRED if not _text(record, name, 200)]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        name = str(record["event"]).strip()
        try:
            event = EventName(name)
        except ValueError:
            raise ValueError(f"unknown event {name!r}") from None
        actor_name = _text(record, "actor", 16)
        try:
            actor = Actor(actor_name) if actor_name else DEFAULT_ACTOR.get(event, Actor.AGENT)
        except ValueError:
            raise ValueError(f"unknown actor {actor_name!r}") from None
        arm = _text(record, "arm", 16)
        if arm is not None and arm not in {member.value for member in Arm}:
            raise ValueError(f"arm must be assisted or control, got {arm!r}")
        return TicketEvent(
            key=_text(record, "key", 200) or f"file:{line}",
            ticket_id=str(_text(record, "ticket_id", 64)),
            requester_id=str(_text(record, "requester_id", 64)),
            event=event,
            occurred_at=_timestamp(record.get("occurred_at")),
            actor=actor,
            agent_id=_text(record, "agent_id", 64),
            public=_boolean(record.get("public")),
            channel=_text(record, "channel", 32),
            intent=_text(record, "intent", 100),
            priority=_text(record, "priority", 16),
            value=_number(record.get("value")),
            arm=arm,
        )
    except ValueError as error:
        raise EventFileError(line, str(error)) from None


def _jsonl_records(stream: IO[str]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise EventFileError(number, f"not valid JSON ({error.msg})") from None
        if not isinstance(document, dict):
            raise EventFileError(number, "each line must be a JSON object")
        yield number, document


def _csv_records(stream: IO[str]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(stream)
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        raise EventFileError(1, f"the header lacks {', '.join(missing)}")
    for record in reader:
        if None in record:
            raise EventFileError(reader.line_num, "more fields than the header names")
        yield reader.line_num, record


def parse_stream(stream: IO[str], *, jsonl: bool) -> list[TicketEvent]:
    """Every event of a CSV or JSONL stream, or an EventFileError for the first bad line."""
    records = _jsonl_records(stream) if jsonl else _csv_records(stream)
    return [parse_record(record, number) for number, record in records]


def read_events_file(path: Path) -> list[TicketEvent]:
    """Read a `.csv`/`.jsonl` (optionally `.gz`) events file; JSONL is also recognised by its first byte."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as stream:
        text = stream.read()
    stem = path.name.removesuffix(".gz")
    jsonl = stem.endswith((".jsonl", ".ndjson", ".json")) or text.lstrip().startswith("{")
    return parse_stream(io.StringIO(text, newline=""), jsonl=jsonl)
