"""`outcomedesk metrics report --events FILE`: the same report over an exported events file.

The file is validated as a whole first; then DuckDB runs the very facts SQL that serves tenants on
SQLite and PostgreSQL (see duckdb_log.py) over the file's events, and the report is assembled as usual.
AI fees come from the price book (report_document.price_book_fees).
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metrics import duckdb_log
from metrics.event_files import read_events_file
from metrics.events import TicketEvent
from metrics.report import ReportOptions
from metrics.report_document import assemble_report, price_book_fees
from metrics.service import arm_events

FILE_TENANT_ID = 0
DEFAULT_FILE_SALT = "outcomedesk-file"


def unique_by_key(events: Sequence[TicketEvent]) -> list[TicketEvent]:
    """The first event of each key, as the log's unique (tenant, key) would keep it."""
    first: dict[str, TicketEvent] = {}
    for event in events:
        first.setdefault(event.key, event)
    return list(first.values())


def report_from_events(
    events: Sequence[TicketEvent],
    *,
    options: ReportOptions,
    salt: str = DEFAULT_FILE_SALT,
    include_segments: bool = True,
    include_trends: bool = True,
) -> dict[str, Any]:
    """The §8 report for a list of canonical events; events without an arm get one by hashing their unit."""
    armed = arm_events(
        unique_by_key(events), salt=salt, unit=options.unit, assisted_share_bp=options.assisted_share_bp
    )
    connection = duckdb_log.connect()
    try:
        duckdb_log.load_events(connection, tenant_id=FILE_TENANT_ID, events=armed)
        facts = duckdb_log.ticket_facts(connection, tenant_id=FILE_TENANT_ID)
    finally:
        connection.close()
    return assemble_report(
        facts,
        price_book_fees(facts),
        options,
        include_segments=include_segments,
        include_trends=include_trends,
    )


def report_from_file(
    path: Path,
    *,
    options: ReportOptions,
    salt: str = DEFAULT_FILE_SALT,
    include_segments: bool = True,
    include_trends: bool = True,
) -> dict[str, Any]:
    """Read, validate and report on an events file; a bad line raises EventFileError and nothing is used."""
    events = read_events_file(path)
    return report_from_events(
        events, options=options, salt=salt, include_segments=include_segments, include_trends=include_trends
    )
