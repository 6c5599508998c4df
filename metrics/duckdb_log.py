"""The per-ticket facts SQL run by DuckDB over an exported or imported event log (columnar and parallel).

The statement is the one SQLite and PostgreSQL run (facts_query.py), rendered in PostgreSQL's dialect,
which DuckDB reads; so the three engines cannot drift apart in what a metric means.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
from sqlalchemy.dialects import postgresql

from metrics.events import TicketEvent
from metrics.facts import NUMERIC_COLUMNS, TEXT_COLUMNS, TicketFacts
from metrics.facts_query import facts_statement

EVENT_TABLE_SQL = """
CREATE TABLE metrics_ticket_event (
    id BIGINT, tenant_id INTEGER, event_key VARCHAR, ticket_id VARCHAR, requester_id VARCHAR, event VARCHAR,
    occurred_at TIMESTAMPTZ, actor VARCHAR, agent_id VARCHAR, public BOOLEAN, channel VARCHAR, intent VARCHAR,
    priority VARCHAR, value DOUBLE, arm VARCHAR
);
CREATE TABLE metrics_ticket_arm (
    id BIGINT, tenant_id INTEGER, ticket_id VARCHAR, experiment_id INTEGER, unit_id VARCHAR, arm VARCHAR,
    assigned_at TIMESTAMPTZ
);
"""


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with empty event and ticket-arm tables shaped like ours."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(EVENT_TABLE_SQL)
    return connection


def load_events(
    connection: duckdb.DuckDBPyConnection, *, tenant_id: int, events: Sequence[TicketEvent]
) -> None:
    """Append events, handed to DuckDB as columns rather than row by row."""
    columns: dict[str, Any] = {
        "ticket_id": np.array([event.ticket_id for event in events], dtype=object),
        "requester_id": np.array([event.requester_id for event in events], dtype=object),
        "event": np.array([event.event.value for event in events], dtype=object),
        "occurred_s": np.array([event.occurred_at.timestamp() for event in events], dtype=float),
        "actor": np.array([event.actor.value for event in events], dtype=object),
        "agent_id": np.array([event.agent_id for event in events], dtype=object),
        "public": np.array([event.public for event in events], dtype=object),
        "channel": np.array([event.channel for event in events], dtype=object),
        "intent": np.array([event.intent for event in events], dtype=object),
        "priority": np.array([event.priority for event in events], dtype=object),
        "value": np.array([event.value for event in events], dtype=object),
        "arm": np.array([event.arm for event in events], dtype=object),
        "event_key": np.array([event.key for event in events], dtype=object),
    }
    connection.register("incoming_events", columns)
    try:
        connection.execute(
            """
            INSERT INTO metrics_ticket_event
            SELECT row_number() OVER () + (SELECT coalesce(max(id), 0) FROM metrics_ticket_event), ?, event_key,
                   ticket_id, requester_id, event, to_timestamp(occurred_s), actor, agent_id,
                   CAST(public AS BOOLEAN), channel, intent, priority, CAST(value AS DOUBLE), arm
            FROM incoming_events
            """,
            [tenant_id],
        )
    finally:
        connection.unregister("incoming_events")


def ticket_facts(
    connection: duckdb.DuckDBPyConnection,
    *,
    tenant_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
) -> TicketFacts:
    """Per-ticket facts computed by DuckDB, fetched column-wise."""
    statement = facts_statement(tenant_id, since=since, until=until)
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    fetched = connection.execute(sql).fetchnumpy()
    columns: dict[str, Any] = {}
    for name in NUMERIC_COLUMNS:
        columns[name] = np.ma.filled(np.ma.asarray(fetched[name], dtype=float), np.nan)
    for name in TEXT_COLUMNS:
        values = np.ma.asarray(fetched[name]).astype(object)
        columns[name] = np.ma.filled(values, None)
    return TicketFacts.from_columns(columns)
