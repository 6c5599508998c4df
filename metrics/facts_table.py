"""The maintained per-ticket facts table (SQLAlchemy Core; SQLite and PostgreSQL).

Events are folded in, in the transaction that appends them, by one upsert per batch whose every column
merges as a min, max, count or sum: order, batching and concurrent writers do not change the result, and
only events actually inserted are folded, so a duplicate delivery never counts twice. A report then reads
one row per ticket instead of grouping the event log (facts_query.py stays the reference it must equal).
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Select, and_, case, delete, func, null, or_, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from metrics.events import EventName
from metrics.facts import NUMERIC_COLUMNS, TicketFacts, columns_from_row_batches
from metrics.facts_query import FETCH_BATCH, REPLIES, facts_statement
from metrics.models import TicketArm, TicketEventRow, TicketFactsRow

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Keeps each IN list well under SQLite's and psycopg's bound-parameter limits.
FOLD_CHUNK = 10_000
# Report instants, read from the table in microseconds and handed to TicketFacts in seconds.
INSTANTS = ("created_s", "first_reply_s", "first_human_reply_s", "solved_s")


class epoch_microseconds(FunctionElement[int]):
    """Whole microseconds since 1970-01-01 UTC of a UtcDateTime column, on each backend."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_microseconds, "sqlite")
def _epoch_us_sqlite(element: epoch_microseconds, compiler: Any, **kw: Any) -> str:
    # Naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff': whole seconds, then the six digits after the dot.
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000 + CAST(substr({column}, 21) AS INTEGER))"


@compiles(epoch_microseconds)
def _epoch_us_default(element: epoch_microseconds, compiler: Any, **kw: Any) -> str:
    return f"CAST(extract(epoch FROM {compiler.process(element.clauses, **kw)}) * 1000000 AS BIGINT)"


class least_present(FunctionElement[Any]):
    """The smaller of two values, ignoring NULL (NULL only when both are)."""

    inherit_cache = True


class greatest_present(FunctionElement[Any]):
    """The larger of two values, ignoring NULL (NULL only when both are)."""

    inherit_cache = True


def _present_extreme_sqlite(function: str, element: FunctionElement[Any], compiler: Any, **kw: Any) -> str:
    # SQLite's two-argument min()/max() return NULL if either argument is NULL.
    first, second = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{function}(coalesce({first}, {second}), coalesce({second}, {first}))"


@compiles(least_present, "sqlite")
def _least_sqlite(element: least_present, compiler: Any, **kw: Any) -> str:
    return _present_extreme_sqlite("min", element, compiler, **kw)


@compiles(greatest_present, "sqlite")
def _greatest_sqlite(element: greatest_present, compiler: Any, **kw: Any) -> str:
    return _present_extreme_sqlite("max", element, compiler, **kw)


@compiles(least_present)
def _least_default(element: least_present, compiler: Any, **kw: Any) -> str:
    return f"least({compiler.process(element.clauses, **kw)})"


@compiles(greatest_present)
def _greatest_default(element: greatest_present, compiler: Any, **kw: Any) -> str:
    return f"greatest({compiler.process(element.clauses, **kw)})"


LEAST_COLUMNS = (
    "requester_id",
    "first_event_at_us",
    "created_at_us",
    "first_reply_at_us",
    "first_human_reply_at_us",
)
GREATEST_COLUMNS = (
    "event_arm",
    "channel",
    "intent",
    "priority",
    "last_event_at_us",
    "last_solved_at_us",
    "last_reopened_at_us",
)
SUM_COLUMNS = (
    "replies",
    "ai_replies",
    "human_replies",
    "reopens",
    "escalations",
    "drafts_delivered",
    "handle_seconds",
    "csat_sum",
    "csat_count",
)


def epoch_microseconds_of(instant: datetime) -> int:
    return (instant - EPOCH) // timedelta(microseconds=1)


def folded_events(*conditions: ColumnElement[bool]) -> Select[Any]:
    """The facts row of every ticket with events matching `conditions`, from those events alone."""
    event = TicketEventRow.__table__.c
    public = func.coalesce(event.public, true())
    is_reply = and_(event.event.in_(REPLIES), public)

    def first(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.min(event.occurred_at).filter(condition)

    def last(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.max(event.occurred_at).filter(condition)

    def count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.count().filter(condition)

    def total(name: EventName) -> ColumnElement[Any]:
        return func.coalesce(func.sum(event.value).filter(event.event == name.value), 0.0)

    # Instants are aggregated as stored (their text order is time order on SQLite) and converted once.
    per_ticket = (
        select(
            event.tenant_id,
            event.ticket_id,
            func.min(event.requester_id).label("requester_id"),
            func.max(event.arm).label("event_arm"),
            func.max(event.channel).label("channel"),
            func.max(event.intent).label("intent"),
            func.max(event.priority).label("priority"),
            func.min(event.occurred_at).label("first_event_at"),
            func.max(event.occurred_at).label("last_event_at"),
            first(event.event == EventName.CREATED.value).label("created_at"),
            first(is_reply).label("first_reply_at"),
            first(and_(event.event == EventName.AGENT_REPLY.value, public)).label("first_human_reply_at"),
            last(event.event == EventName.SOLVED.value).label("last_solved_at"),
            last(event.event == EventName.REOPENED.value).label("last_reopened_at"),
            count(is_reply).label("replies"),
            count(and_(event.event == EventName.AI_REPLY.value, public)).label("ai_replies"),
            count(and_(event.event == EventName.AGENT_REPLY.value, public)).label("human_replies"),
            count(event.event == EventName.REOPENED.value).label("reopens"),
            count(event.event == EventName.ESCALATED.value).label("escalations"),
            count(event.event == EventName.DRAFT_DELIVERED.value).label("drafts_delivered"),
            total(EventName.HANDLE_TIME).label("handle_seconds"),
            total(EventName.CSAT).label("csat_sum"),
            count(and_(event.event == EventName.CSAT.value, event.value.is_not(None))).label("csat_count"),
        )
        .where(*conditions)
        .group_by(event.tenant_id, event.ticket_id)
        .subquery("per_ticket")
    )
    columns = per_ticket.c
    instants = [
        "first_event_at",
        "last_event_at",
        "created_at",
        "first_reply_at",
        "first_human_reply_at",
        "last_solved_at",
        "last_reopened_at",
    ]
    return (
        select(
            *(column for column in columns if column.name not in instants),
            *(epoch_microseconds(columns[name]).label(f"{name}_us") for name in instants),
        )
        # SQLite needs a WHERE between the SELECT and ON CONFLICT to parse an upsert from a subquery.
        .where(true())
        # One lock order for every writer, so concurrent folds on PostgreSQL wait rather than deadlock.
        .order_by(columns.tenant_id, columns.ticket_id)
    )


def _upsert_folded(session: Session, folded: Select[Any]) -> None:
    table = TicketFactsRow.__table__
    dialect_insert: Any = (
        postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    )
    names = [column.name for column in folded.selected_columns]
    statement = dialect_insert(table).from_select(names, folded)
    current, incoming = table.c, statement.excluded
    merged = {
        **{name: least_present(current[name], incoming[name]) for name in LEAST_COLUMNS},
        **{name: greatest_present(current[name], incoming[name]) for name in GREATEST_COLUMNS},
        **{name: current[name] + incoming[name] for name in SUM_COLUMNS},
    }
    session.execute(statement.on_conflict_do_update(index_elements=["tenant_id", "ticket_id"], set_=merged))


def _chunks(values: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def fold_events(session: Session, event_ids: Sequence[int]) -> None:
    """Fold the events with these ids (just inserted, each once) into their tickets' facts."""
    event = TicketEventRow.__table__.c
    for chunk in _chunks(sorted(event_ids), FOLD_CHUNK):
        _upsert_folded(session, folded_events(event.id.in_(chunk)))


def rebuild_ticket_facts(session: Session, *, tenant_id: int) -> None:
    """Recompute the tenant's facts from its whole event log (after a bulk load that bypassed folding)."""
    session.execute(delete(TicketFactsRow).where(TicketFactsRow.tenant_id == tenant_id))
    _upsert_folded(session, folded_events(TicketEventRow.__table__.c.tenant_id == tenant_id))


def stored_facts_statement(
    tenant_id: int, *, since_us: int | None, settled_before_us: int | None
) -> Select[Any]:
    """Report columns of the tenant's stored facts for tickets created from `since_us` whose last event
    came before `settled_before_us`; instants in microseconds."""
    facts = TicketFactsRow.__table__.c
    arm = TicketArm.__table__.c
    created = func.coalesce(facts.created_at_us, facts.first_event_at_us)
    scope = [facts.tenant_id == tenant_id]
    if since_us is not None:
        scope.append(created >= since_us)
    if settled_before_us is not None:
        scope.append(facts.last_event_at_us < settled_before_us)
    # A reopen and a solve at the same instant read as reopened-then-solved, as in facts_query.py.
    solved = case(
        (
            or_(facts.last_reopened_at_us.is_(None), facts.last_reopened_at_us <= facts.last_solved_at_us),
            facts.last_solved_at_us,
        ),
        else_=null(),
    )
    return (
        select(
            facts.ticket_id,
            facts.requester_id,
            func.coalesce(arm.unit_id, facts.requester_id).label("unit_id"),
            func.coalesce(arm.arm, facts.event_arm).label("arm"),
            facts.channel,
            facts.intent,
            facts.priority,
            created.label("created_us"),
            facts.first_reply_at_us.label("first_reply_us"),
            facts.first_human_reply_at_us.label("first_human_reply_us"),
            solved.label("solved_us"),
            facts.replies,
            facts.ai_replies,
            facts.human_replies,
            facts.reopens,
            facts.escalations,
            facts.handle_seconds,
            facts.drafts_delivered,
            case((facts.csat_count > 0, facts.csat_sum / facts.csat_count), else_=null()).label("csat"),
        )
        .select_from(TicketFactsRow.__table__)
        .outerjoin(TicketArm.__table__, and_(arm.tenant_id == tenant_id, arm.ticket_id == facts.ticket_id))
        .where(*scope)
        .order_by(facts.ticket_id)
    )


def _microseconds_label(instant: str) -> str:
    return instant.removesuffix("_s") + "_us"


def _stored_columns(
    session: Session, tenant_id: int, *, since_us: int | None, settled_before_us: int | None
) -> dict[str, np.ndarray]:
    result = session.execute(
        stored_facts_statement(tenant_id, since_us=since_us, settled_before_us=settled_before_us)
    )
    numeric = {*NUMERIC_COLUMNS, *map(_microseconds_label, INSTANTS)}
    columns = columns_from_row_batches(list(result.keys()), result.partitions(FETCH_BATCH), numeric=numeric)
    for instant in INSTANTS:
        columns[instant] = columns.pop(_microseconds_label(instant)) / 1_000_000
    return columns


def _columns_clipped_at(
    session: Session, tenant_id: int, *, since: datetime | None, until: datetime
) -> dict[str, np.ndarray]:
    """Facts, from the log, of the tickets that began before `until` but have events since."""
    facts = TicketFactsRow.__table__.c
    until_us = epoch_microseconds_of(until)
    straddling = select(facts.ticket_id).where(
        facts.tenant_id == tenant_id, facts.first_event_at_us < until_us, facts.last_event_at_us >= until_us
    )
    result = session.execute(facts_statement(tenant_id, since=since, until=until, ticket_ids=straddling))
    return columns_from_row_batches(
        list(result.keys()), result.partitions(FETCH_BATCH), numeric=NUMERIC_COLUMNS
    )


def stored_ticket_facts(
    session: Session, *, tenant_id: int, since: datetime | None = None, until: datetime | None = None
) -> TicketFacts:
    """The facts of tickets created in [since, until) as of `until`: what facts_query.ticket_facts gives.

    Tickets whose every event came before `until` are read from the table; the few still active at
    `until` are recomputed from their events before it.
    """
    columns = _stored_columns(
        session,
        tenant_id,
        since_us=None if since is None else epoch_microseconds_of(since),
        settled_before_us=None if until is None else epoch_microseconds_of(until),
    )
    if until is not None:
        clipped = _columns_clipped_at(session, tenant_id, since=since, until=until)
        columns = {name: np.concatenate((values, clipped[name])) for name, values in columns.items()}
    return TicketFacts.from_columns(columns)
