import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from metrics.event_files import EventFileError, read_events_file
from metrics.events import EventName
from plugin.cli import app

HEADER = "ticket_id,requester_id,event,occurred_at,actor,public,value,arm\n"
GOOD_LINES = [
    "t1,r1,created,2026-11-02T09:00:00Z,customer,,,assisted\n",
    "t1,r1,ai_reply,2026-11-02T09:05:00Z,ai,true,,assisted\n",
    "t1,r1,solved,2026-11-02T09:06:00Z,ai,,,assisted\n",
    "t2,r2,created,2026-11-02T10:00:00+01:00,customer,,,control\n",
    "t2,r2,agent_reply,2026-11-02 10:30:00,agent,true,,control\n",
]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_csv_file_becomes_canonical_events(tmp_path):
    events = read_events_file(write(tmp_path, "events.csv", HEADER + "".join(GOOD_LINES)))
    assert [event.event for event in events] == [
        EventName.CREATED,
        EventName.AI_REPLY,
        EventName.SOLVED,
        EventName.CREATED,
        EventName.AGENT_REPLY,
    ]
    assert events[3].occurred_at.isoformat() == "2026-11-02T09:00:00+00:00"
    assert events[4].occurred_at.isoformat() == "2026-11-02T10:30:00+00:00"


def test_unknown_event_fails_naming_the_line(tmp_path):
    lines = [*GOOD_LINES[:2], "t1,r1,teleported,2026-11-02T09:06:00Z,ai,,,assisted\n", *GOOD_LINES[2:]]
    with pytest.raises(EventFileError) as raised:
        read_events_file(write(tmp_path, "events.csv", HEADER + "".join(lines)))
    assert raised.value.line == 4
    assert "line 4" in raised.value.detail and "teleported" in raised.value.detail


def test_bad_timestamp_in_jsonl_fails_naming_the_line(tmp_path):
    documents = [
        {"ticket_id": "t1", "requester_id": "r1", "event": "created", "occurred_at": "2026-11-02T09:00:00Z"},
        {"ticket_id": "t1", "requester_id": "r1", "event": "solved", "occurred_at": "yesterday"},
    ]
    path = tmp_path / "events.jsonl.gz"
    with gzip.open(path, "wt") as stream:
        stream.write("\n".join(json.dumps(document) for document in documents) + "\n")
    with pytest.raises(EventFileError, match="line 2: bad timestamp 'yesterday'"):
        read_events_file(path)


def test_cli_report_with_a_bad_line_fails_with_the_line_number_and_prints_no_report(tmp_path):
    lines = [*GOOD_LINES[:4], "t2,r2,agent_reply,31/12/2026,agent,true,,control\n"]
    path = write(tmp_path, "events.csv", HEADER + "".join(lines))
    result = CliRunner().invoke(app, ["metrics", "report", "--events", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "line 6" in result.stderr


def test_cli_report_prints_the_json_report(tmp_path):
    path = write(tmp_path, "events.csv", HEADER + "".join(GOOD_LINES))
    result = CliRunner().invoke(
        app, ["metrics", "report", "--events", str(path), "--cost-per-agent-hour", "30", "--unit", "ticket"]
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["arms"]["assisted"]["tickets"] == 1
    assert report["arms"]["control"]["tickets"] == 1
    assert set(report["comparisons"]["fcr_rate"]) >= {"diff", "ci_low", "ci_high", "relative_lift", "p_value"}
    assert "p_value" in report["srm"]
