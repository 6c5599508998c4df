"""Per-ticket facts as columns: what the SQL aggregation hands to the report (pure, numpy only)."""

import gc
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ObjectArray = npt.NDArray[np.object_]

# Epoch seconds (UTC) and counts per ticket; NaN where an instant never happened or nothing was rated.
NUMERIC_COLUMNS = (
    "created_s",
    "first_reply_s",
    "first_human_reply_s",
    "solved_s",
    "replies",
    "ai_replies",
    "human_replies",
    "reopens",
    "escalations",
    "handle_seconds",
    "drafts_delivered",
    "csat",
)
TEXT_COLUMNS = ("ticket_id", "requester_id", "unit_id", "arm", "channel", "intent", "priority")


def dense_codes(labels: Iterable[object]) -> IntArray:
    """0, 1, 2... in order of first appearance; equal labels share a code (one hash per label)."""
    index: dict[object, int] = {}
    return np.array([index.setdefault(label, len(index)) for label in labels], dtype=np.int64)


def next_contacts(requesters: IntArray, created_s: FloatArray, solved_s: FloatArray) -> FloatArray:
    """For each solved ticket, when its requester next opened a ticket after the solve (NaN if never).

    A ticket created at the very instant of the solve does not count, so a ticket solved on creation is
    never its own repeat contact.
    """
    result = np.full(created_s.size, np.nan)
    solved = ~np.isnan(solved_s)
    if not solved.any():
        return result
    # Times become dense ranks so that (requester, time) packs into one sortable int64 key.
    times, ranks = np.unique(np.concatenate((created_s, solved_s[solved])), return_inverse=True)
    created_rank, solved_rank = ranks[: created_s.size], ranks[created_s.size :]
    width = np.int64(times.size + 1)
    created_keys = np.sort(requesters * width + created_rank)
    query = requesters[solved] * width + solved_rank
    position = np.searchsorted(created_keys, query, side="right")
    found = position < created_keys.size
    candidate = created_keys[np.minimum(position, created_keys.size - 1)]
    same_requester = found & (candidate // width == requesters[solved])
    result[np.flatnonzero(solved)[same_requester]] = times[candidate[same_requester] % width]
    return result


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside: millions of row tuples (which form no cycles) would otherwise
    set off repeated full collections, a quarter of the time of reading a million facts."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def columns_from_row_batches(
    names: Sequence[str], batches: Iterable[Sequence[Sequence[Any]]], *, numeric: Collection[str]
) -> dict[str, np.ndarray]:
    """One array per column from batches of rows: floats (NaN for NULL) for `numeric` names, else objects."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    with cyclic_gc_paused():
        for rows in batches:
            for name, column in zip(names, zip(*rows, strict=True), strict=True):
                parts[name].append(np.array(column, dtype=float if name in numeric else object))
    return {
        name: np.concatenate(arrays) if arrays else np.array([], dtype=float if name in numeric else object)
        for name, arrays in parts.items()
    }


@dataclass(frozen=True)
class TicketFacts:
    """One entry per ticket in every array; `solved_s` is set only when the ticket is solved now."""

    ticket_id: ObjectArray
    requester_id: ObjectArray
    unit_id: ObjectArray
    arm: ObjectArray
    channel: ObjectArray
    intent: ObjectArray
    priority: ObjectArray
    created_s: FloatArray
    first_reply_s: FloatArray
    first_human_reply_s: FloatArray
    solved_s: FloatArray
    replies: FloatArray
    ai_replies: FloatArray
    human_replies: FloatArray
    reopens: FloatArray
    escalations: FloatArray
    handle_seconds: FloatArray
    drafts_delivered: FloatArray
    csat: FloatArray
    requester_code: IntArray
    unit_code: IntArray
    next_contact_s: FloatArray

    def __len__(self) -> int:
        return int(self.created_s.size)

    @classmethod
    def from_columns(cls, columns: Mapping[str, Any]) -> "TicketFacts":
        values: dict[str, np.ndarray] = {}
        for name in NUMERIC_COLUMNS:
            values[name] = np.array(columns[name], dtype=float).reshape(-1)
        for name in TEXT_COLUMNS:
            values[name] = np.array(columns[name], dtype=object).reshape(-1)
        values["requester_code"] = dense_codes(values["requester_id"])
        values["unit_code"] = dense_codes(values["unit_id"])
        values["next_contact_s"] = next_contacts(
            values["requester_code"], values["created_s"], values["solved_s"]
        )
        return cls(**values)

    @classmethod
    def from_row_batches(
        cls, names: Sequence[str], batches: Iterable[Sequence[Sequence[Any]]]
    ) -> "TicketFacts":
        """From batches of database rows whose columns are named as the fields."""
        return cls.from_columns(columns_from_row_batches(names, batches, numeric=NUMERIC_COLUMNS))

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Sequence[Sequence[Any]]) -> "TicketFacts":
        """From database rows whose columns are named as the fields."""
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        return cls.from_columns(dict(zip(names, columns, strict=True)))

    def take(self, mask: npt.NDArray[np.bool_]) -> "TicketFacts":
        return TicketFacts(**{field.name: getattr(self, field.name)[mask] for field in fields(self)})
