"""`outcomedesk metrics ...`: reports over exported events files."""

import json
import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from metrics.assignment import BUCKETS, Unit
from metrics.business_hours import Schedule
from metrics.file_report import DEFAULT_FILE_SALT, report_from_file
from metrics.report import DAY_SECONDS, ReportOptions
from plugin.core.errors import AppError

app = typer.Typer(help="Metrics commands.", no_args_is_help=True)


def _fail(error: str, detail: str) -> None:
    typer.echo(json.dumps({"error": error, "detail": detail}), err=True)
    raise typer.Exit(code=2)


def _schedule(path: Path | None, timezone: str | None, holidays: list[str]) -> Schedule:
    document: dict[str, object] = json.loads(path.read_text()) if path else {}
    if timezone:
        document["timezone"] = timezone
    if holidays:
        document["holidays"] = [*list(document.get("holidays", []) or []), *holidays]  # type: ignore[call-overload]
    for day in holidays:
        date.fromisoformat(day)
    return Schedule.from_mapping(document)


@app.command("report")
def report(
    events: Annotated[
        Path, typer.Option("--events", help="Canonical events, CSV with a header or JSONL (.gz ok)")
    ],
    cost_per_agent_hour: Annotated[str, typer.Option(help="Loaded cost per agent hour, USD")] = "0",
    business_hours: Annotated[bool, typer.Option("--business-hours", help="Times in business hours")] = False,
    schedule: Annotated[
        Path | None,
        typer.Option(
            help='Business hours JSON: {"timezone", "hours": {"mon": [["09:00","17:00"]]}, "holidays"}'
        ),
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="Time zone of the business hours, e.g. Europe/Rome")
    ] = None,
    holiday: Annotated[list[str] | None, typer.Option(help="A closed date (ISO), repeatable")] = None,
    repeat_contact_days: Annotated[
        float, typer.Option(help="FCR: days after solve a new ticket counts")
    ] = 7.0,
    unit: Annotated[
        Unit, typer.Option(help="Randomization unit: the analysis clusters by it")
    ] = Unit.REQUESTER,
    assisted_share: Annotated[float, typer.Option(help="Planned assisted share (SRM check; hashing)")] = 0.5,
    salt: Annotated[
        str, typer.Option(help="Salt that arms events without an `arm` column")
    ] = DEFAULT_FILE_SALT,
    sequential: Annotated[bool, typer.Option("--sequential", help="Add always-valid intervals")] = False,
    segments: Annotated[bool, typer.Option("--segments/--no-segments")] = True,
    trends: Annotated[bool, typer.Option("--trends/--no-trends")] = True,
    output: Annotated[Path | None, typer.Option(help="Write the JSON here instead of stdout")] = None,
) -> None:
    """Print the assisted-vs-control JSON report (DESIGN §8) for an events file."""
    if not events.is_file():
        _fail("not_found", f"{events}: no such file")
    try:
        cents_per_hour = Decimal(cost_per_agent_hour) * 100
        if not cents_per_hour.is_finite() or cents_per_hour < 0:
            raise InvalidOperation
    except InvalidOperation:
        _fail("invalid_payload", f"--cost-per-agent-hour: {cost_per_agent_hour!r} is not an amount in USD")
        return
    if not 0 <= assisted_share <= 1:
        _fail("invalid_payload", "--assisted-share must be between 0 and 1")
    try:
        hours = _schedule(schedule, timezone, holiday or []) if business_hours else None
    except (ValueError, KeyError, OSError) as error:
        _fail("invalid_payload", f"business hours: {error}")
        return
    options = ReportOptions(
        cost_per_agent_hour_cents=float(cents_per_hour),
        schedule=hours,
        repeat_contact_window_s=repeat_contact_days * DAY_SECONDS,
        unit=unit,
        assisted_share_bp=round(assisted_share * BUCKETS),
        sequential=sequential,
        extra={"fees": "price book", "source": str(events)},
    )
    try:
        document = report_from_file(
            events, options=options, salt=salt, include_segments=segments, include_trends=trends
        )
    except AppError as error:
        _fail(error.error, error.detail)
        return
    text = json.dumps(document, indent=2, allow_nan=False)
    if output:
        output.write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")
