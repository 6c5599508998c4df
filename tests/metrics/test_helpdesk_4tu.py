"""The report on the real 4TU help-desk log equals a plain, independent computation of the same definitions."""

import csv
import gzip
import math
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metrics.assignment import Unit, assign_arm
from metrics.file_report import report_from_events
from metrics.importers.helpdesk_4tu import SALT, read_helpdesk_4tu
from metrics.report import ReportOptions
from plugin.core.config import get_settings

LOG = get_settings().data_dir / "helpdesk_eventlog" / "helpdesk_4tu.csv.gz"
WEEK = 7 * 86_400


def seconds(text: str) -> float:
    local = datetime.strptime(text, "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=ZoneInfo("Europe/Rome"))
    return local.astimezone(UTC).timestamp()


def lower_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(round(len(ordered) * q, 9)), 1) - 1]


def plain_figures(path: Path) -> dict[str, dict[str, float]]:
    """Walk each case's activities and apply the documented definitions, one ticket at a time."""
    cases: dict[str, list[list[str]]] = defaultdict(list)
    with gzip.open(path, "rt", newline="") as stream:
        for row in list(csv.reader(stream))[1:]:
            cases[row[0]].append(row)
    tickets = []
    for rows in cases.values():
        created = seconds(rows[0][3])
        first_reply = None
        replies = reopens = escalations = 0
        solved_at = None
        for row in rows:
            activity, moment = row[1], seconds(row[3])
            if solved_at is not None and activity not in {
                "Closed",
                "VERIFIED",
                "RESOLVED",
                "INVALID",
                "DUPLICATE",
            }:
                reopens += 1
                solved_at = None
            if activity == "Take in charge ticket":
                replies += 1
                first_reply = moment if first_reply is None else first_reply
            elif activity == "Resolve ticket" or (activity == "Closed" and solved_at is None):
                solved_at = moment
            elif activity in {"Require upgrade", "Create SW anomaly"}:
                escalations += 1
        tickets.append(
            {
                "customer": rows[0][8],
                "arm": assign_arm(SALT, rows[0][8]).value,
                "created": created,
                "frt": None if first_reply is None else first_reply - created,
                "solved": solved_at,
                "replies": replies,
                "reopens": reopens,
                "escalations": escalations,
            }
        )
    by_customer = defaultdict(list)
    for item in tickets:
        by_customer[item["customer"]].append(item["created"])
    figures = {}
    for arm in ("assisted", "control"):
        mine = [item for item in tickets if item["arm"] == arm]
        fcr = 0
        for item in mine:
            if item["solved"] is None or item["replies"] > 1 or item["reopens"]:
                continue
            if any(
                item["solved"] < other <= item["solved"] + WEEK for other in by_customer[item["customer"]]
            ):
                continue
            fcr += 1
        answered = [item["frt"] for item in mine if item["frt"] is not None]
        figures[arm] = {
            "tickets": len(mine),
            "frt_median_s": lower_quantile(answered, 0.5),
            "frt_p90_s": lower_quantile(answered, 0.9),
            "resolution_median_s": lower_quantile(
                [item["solved"] - item["created"] for item in mine if item["solved"] is not None], 0.5
            ),
            "fcr_rate": fcr / len(mine),
            "one_touch_rate": sum(1 for item in mine if item["solved"] is not None and item["replies"] == 1)
            / len(mine),
            "replies_per_ticket": sum(item["replies"] for item in mine) / len(mine),
            "reopen_rate": sum(1 for item in mine if item["reopens"]) / len(mine),
            "escalation_rate": sum(1 for item in mine if item["escalations"]) / len(mine),
            "unanswered": len(mine) - len(answered),
        }
    return figures


def test_report_on_the_4tu_log_matches_a_plain_computation():
    events = read_helpdesk_4tu(LOG)
    report = report_from_events(
        events, options=ReportOptions(unit=Unit.REQUESTER), include_segments=False, include_trends=False
    )
    expected = plain_figures(LOG)
    assert report["tickets"] == 4_580
    for arm, figures in expected.items():
        for name, value in figures.items():
            assert report["arms"][arm][name] == pytest.approx(value, rel=1e-12, abs=1e-6), (arm, name)


def test_the_database_log_gives_the_same_4tu_report_as_duckdb(session, clock):
    from metrics import service
    from tests.builders import make_tenant

    tenant = make_tenant(session, clock)
    events = read_helpdesk_4tu(LOG)
    options = ReportOptions(unit=Unit.REQUESTER, cost_per_agent_hour_cents=3_000)
    service.record_events(session, tenant_id=tenant.id, events=events, clock=clock)
    from_database = service.report_over_log(
        session, tenant_id=tenant.id, since=None, until=None, options=options, include_trends=False
    )
    from_duckdb = report_from_events(events, options=options, include_trends=False)
    for arm in ("assisted", "control"):
        for name, value in from_duckdb["arms"][arm].items():
            expected = value if value is None else pytest.approx(value, rel=1e-9, abs=1e-6)
            assert from_database["arms"][arm][name] == expected, (arm, name)
    for metric, comparison in from_duckdb["comparisons"].items():
        assert from_database["comparisons"][metric]["p_value"] == pytest.approx(
            comparison["p_value"], rel=1e-6
        )
    assert from_database["srm"]["p_value"] == pytest.approx(from_duckdb["srm"]["p_value"])
