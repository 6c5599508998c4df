"""The 4TU.ResearchData "Helpdesk" event log (an Italian software company, 2010-2014) as canonical events.

Source: doi:10.4121/uuid:0c60edf1-6f83-4e75-9367-4c63b3e9d5bb, CC BY 4.0. Mapping (docs/helpdesk_4tu_mapping.md):
- a case is a ticket; `customer` is the requester, `product` the intent, `seriousness_2` the priority;
- the case's first activity (usually "Assign seriousness" or "Insert ticket") -> `created`;
- "Take in charge ticket" -> a public `agent_reply` by the resource (the first-reply proxy);
- "Resolve ticket" -> `solved`; "Closed" -> `solved` only if the ticket is not solved already;
- "Require upgrade", "Create SW anomaly" -> `escalated` (handed to development);
- any work activity while the ticket is solved (e.g. taken in charge or resolved again) -> `reopened` at
  that activity's time, before the activity's own event; "Closed" and the bug-tracker statuses
  (VERIFIED, RESOLVED, INVALID, DUPLICATE) are not work and never reopen;
- "Wait", "Resolve SW anomaly", "Schedule intervention", "Assign seriousness", "Insert ticket" carry no
  event of their own;
- timestamps are local time in Italy (Europe/Rome), converted to UTC;
- the log has no arms: customers are split 50/50 by the deterministic hash (an A/A comparison).
"""

import csv
import gzip
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from metrics.assignment import assign_arm
from metrics.events import Actor, EventName, TicketEvent

LOCAL_ZONE = ZoneInfo("Europe/Rome")
SALT = "helpdesk-4tu"
CHANNEL = "helpdesk"
REPLY = "Take in charge ticket"
RESOLVE = "Resolve ticket"
CLOSE = "Closed"
ESCALATIONS = frozenset({"Require upgrade", "Create SW anomaly"})
NOT_WORK = frozenset({CLOSE, "VERIFIED", "RESOLVED", "INVALID", "DUPLICATE"})


def parse_local(text: str) -> datetime:
    return datetime.strptime(text, "%Y/%m/%d %H:%M:%S.%f").replace(tzinfo=LOCAL_ZONE).astimezone(UTC)


def _cases(path: Path) -> Iterator[list[tuple[int, list[str]]]]:
    with gzip.open(path, "rt", newline="") if path.suffix == ".gz" else path.open(newline="") as stream:
        reader = csv.reader(stream)
        next(reader)
        case: list[tuple[int, list[str]]] = []
        for row in reader:
            if case and case[0][1][0] != row[0]:
                yield case
                case = []
            case.append((reader.line_num, row))
        if case:
            yield case


def case_events(case: list[tuple[int, list[str]]]) -> list[TicketEvent]:
    """The canonical events of one case (rows in file order, which is time order within a case)."""
    first_line, first = case[0]
    requester_id = first[8]
    common: dict[str, Any] = {
        "ticket_id": first[0].removeprefix("Case ").strip(),
        "requester_id": requester_id,
        "channel": CHANNEL,
        "intent": first[9],
        "priority": first[11],
        "arm": assign_arm(SALT, requester_id).value,
    }
    events = [
        TicketEvent(
            key=f"4tu:{first_line}:created",
            event=EventName.CREATED,
            occurred_at=parse_local(first[3]),
            actor=Actor.CUSTOMER,
            **common,
        )
    ]
    solved = False
    for line, row in case:
        activity, resource = row[1], row[2]
        at = {"occurred_at": parse_local(row[3]), **common}
        if solved and activity not in NOT_WORK:
            events.append(
                TicketEvent(key=f"4tu:{line}:reopened", event=EventName.REOPENED, actor=Actor.CUSTOMER, **at)
            )
            solved = False
        if activity == REPLY:
            events.append(
                TicketEvent(
                    key=f"4tu:{line}:reply",
                    event=EventName.AGENT_REPLY,
                    actor=Actor.AGENT,
                    agent_id=resource,
                    public=True,
                    **at,
                )
            )
        elif activity == RESOLVE or (activity == CLOSE and not solved):
            events.append(
                TicketEvent(
                    key=f"4tu:{line}:solved",
                    event=EventName.SOLVED,
                    actor=Actor.AGENT,
                    agent_id=resource,
                    **at,
                )
            )
            solved = True
        elif activity in ESCALATIONS:
            events.append(
                TicketEvent(
                    key=f"4tu:{line}:escalated",
                    event=EventName.ESCALATED,
                    actor=Actor.AGENT,
                    agent_id=resource,
                    **at,
                )
            )
    return events


def read_helpdesk_4tu(path: Path) -> list[TicketEvent]:
    """Every case of the log as canonical events."""
    return [event for case in _cases(path) for event in case_events(case)]
