"""The per-ticket facts aggregation, pushed into SQL (SQLAlchemy Core; SQLite and PostgreSQL).

One pass over the tenant's events groups them by ticket; only one row per ticket comes back, never the
events. A ticket rated more than once counts the share of its ratings that were good.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Float, Select, and_, case, func, null, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement, FunctionElement

from metrics.events import EventName
from metrics.facts import TicketFacts
from metrics.models import TicketArm, TicketEventRow

# Rows are turned into arrays a batch at a time, so a million tickets never sit in memory as Row objects.
FETCH_BATCH = 100_000
REPLIES = (EventName.AGENT_REPLY.value, EventName.AI_REPLY.value)


class epoch_seconds(FunctionElement[float]):
    """Seconds since 1970-01-01 UTC of a UtcDateTime column, as a float, on each backend."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # UtcDateTime is naive UTC text 'YYYY-MM-DD HH:MM:SS.ffffff' on SQLite; whole seconds plus the
    # fraction keeps microseconds exact, where julianday() would round through a day-sized double.
    column = compiler.process(element.clauses, **kw)
    return f"(CAST(strftime('%s', {column}) AS REAL) + CAST(substr({column}, 20) AS REAL))"


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"date_part('epoch', {compiler.process(element.clauses, **kw)})"


# FILTER (WHERE ...) rather than CASE inside the aggregate: every engine we run (SQLite >= 3.30,
# PostgreSQL, DuckDB) skips the row before evaluating the aggregate, which is measurably cheaper.
def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.count().filter(condition)


def facts_statement(
    tenant_id: int,
    *,
    since: datetime | None,
    until: datetime | None,
    ticket_ids: Select[Any] | None = None,
) -> Select[Any]:
    """One row per ticket created in [since, until), from the events that happened before `until`;
    only the tickets `ticket_ids` selects, when given."""
    event = TicketEventRow.__table__.c
    public = func.coalesce(event.public, true())
    is_reply = and_(event.event.in_(REPLIES), public)
    is_human_reply = and_(event.event == EventName.AGENT_REPLY.value, public)
    scope = [event.tenant_id == tenant_id]
    if ticket_ids is not None:
        scope.append(event.ticket_id.in_(ticket_ids))
    if until is not None:
        scope.append(event.occurred_at < until)
    if since is not None:
        # Only tickets with activity in the window can have been created in it; the time index finds them,
        # and HAVING below keeps those whose creation (seen in full, not clipped at `since`) is inside.
        active = select(event.ticket_id).where(*scope, event.occurred_at >= since)
        scope.append(event.ticket_id.in_(active))
    created_at = func.coalesce(
        func.min(event.occurred_at).filter(event.event == EventName.CREATED.value),
        func.min(event.occurred_at),
    )
    last_solved = func.max(event.occurred_at).filter(event.event == EventName.SOLVED.value)
    last_reopened = func.max(event.occurred_at).filter(event.event == EventName.REOPENED.value)
    per_ticket = (
        select(
            event.ticket_id,
            func.min(event.requester_id).label("requester_id"),
            func.max(event.arm).label("event_arm"),
            func.max(event.channel).label("channel"),
            func.max(event.intent).label("intent"),
            func.max(event.priority).label("priority"),
            created_at.label("created_at"),
            func.min(event.occurred_at).filter(is_reply).label("first_reply_at"),
            func.min(event.occurred_at).filter(is_human_reply).label("first_human_reply_at"),
            # A reopen and a solve at the same instant read as reopened-then-solved (e.g. a second resolve).
            case(
                (or_(last_reopened.is_(None), last_reopened <= last_solved), last_solved), else_=null()
            ).label("solved_at"),
            _count(is_reply).label("replies"),
            _count(and_(event.event == EventName.AI_REPLY.value, public)).label("ai_replies"),
            _count(is_human_reply).label("human_replies"),
            _count(event.event == EventName.REOPENED.value).label("reopens"),
            _count(event.event == EventName.ESCALATED.value).label("escalations"),
            func.coalesce(
                func.sum(event.value).filter(event.event == EventName.HANDLE_TIME.value), 0.0
            ).label("handle_seconds"),
            _count(event.event == EventName.DRAFT_DELIVERED.value).label("drafts_delivered"),
            func.avg(event.value).filter(event.event == EventName.CSAT.value).label("csat"),
        )
        .where(*scope)
        .group_by(event.ticket_id)
    )
    if since is not None:
        per_ticket = per_ticket.having(created_at >= since)
    facts = per_ticket.subquery("ticket_facts")
    arm_table = TicketArm.__table__
    arm = arm_table.c
    return (
        select(
            facts.c.ticket_id,
            facts.c.requester_id,
            func.coalesce(arm.unit_id, facts.c.requester_id).label("unit_id"),
            func.coalesce(arm.arm, facts.c.event_arm).label("arm"),
            facts.c.channel,
            facts.c.intent,
            facts.c.priority,
            epoch_seconds(facts.c.created_at).label("created_s"),
            epoch_seconds(facts.c.first_reply_at).label("first_reply_s"),
            epoch_seconds(facts.c.first_human_reply_at).label("first_human_reply_s"),
            epoch_seconds(facts.c.solved_at).label("solved_s"),
            facts.c.replies,
            facts.c.ai_replies,
            facts.c.human_replies,
            facts.c.reopens,
            facts.c.escalations,
            facts.c.handle_seconds,
            facts.c.drafts_delivered,
            facts.c.csat,
        )
        .select_from(facts)
        .outerjoin(arm_table, and_(arm.tenant_id == tenant_id, arm.ticket_id == facts.c.ticket_id))
        # A fixed order makes every float sum, and so the report, identical from run to run.
        .order_by(facts.c.ticket_id)
    )


def ticket_facts(
    session: Session, *, tenant_id: int, since: datetime | None = None, until: datetime | None = None
) -> TicketFacts:
    """Aggregate the tenant's events into per-ticket facts inside the database."""
    statement = facts_statement(tenant_id, since=since, until=until)
    result = session.execute(statement)
    return TicketFacts.from_row_batches(list(result.keys()), result.partitions(FETCH_BATCH))
