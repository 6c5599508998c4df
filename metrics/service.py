import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from metrics import repository
from metrics.assignment import BUCKETS, DEFAULT_ASSISTED_SHARE_BP, Unit, assign_arm
from metrics.business_hours import Schedule
from metrics.events import TicketEvent
from metrics.facts import TicketFacts
from metrics.facts_table import fold_events, stored_ticket_facts
from metrics.models import BusinessSchedule, Experiment, TicketEventRow
from metrics.report import DAY_SECONDS, ReportOptions
from metrics.report_document import assemble_report, price_book_fees
from plugin.core.clock import Clock
from plugin.core.errors import InvalidPayload

FeesByTicket = Callable[[Sequence[str]], Mapping[str, int]]
"""Given ticket ids, the AI fees billed for each in cents (e.g. read from the billing ledger)."""


def event_rows(
    tenant_id: int, events: Sequence[TicketEvent], *, recorded_at: datetime
) -> list[dict[str, Any]]:
    """The log rows of events, as repository.insert_events takes them."""
    return [
        {
            "tenant_id": tenant_id,
            "event_key": event.key,
            "ticket_id": event.ticket_id,
            "requester_id": event.requester_id,
            "event": event.event.value,
            "occurred_at": event.occurred_at,
            "actor": event.actor.value,
            "agent_id": event.agent_id,
            "public": event.public,
            "channel": event.channel,
            "intent": event.intent,
            "priority": event.priority,
            "value": event.value,
            "arm": event.arm,
            "recorded_at": recorded_at,
        }
        for event in events
    ]


def record_events(session: Session, *, tenant_id: int, events: Sequence[TicketEvent], clock: Clock) -> int:
    """Append events to the log and fold the new ones into the ticket facts; events whose key is already
    there are skipped. Returns how many were new."""
    inserted = repository.insert_events(session, event_rows(tenant_id, events, recorded_at=clock.now()))
    fold_events(session, inserted)
    return len(inserted)


def list_ticket_events(session: Session, *, tenant_id: int, ticket_id: str) -> list[TicketEventRow]:
    """The log of one ticket, oldest first."""
    return repository.ticket_events(session, tenant_id, ticket_id)


def list_events(
    session: Session, *, tenant_id: int, since: datetime | None, until: datetime | None, limit: int = 1000
) -> list[TicketEventRow]:
    """The tenant's events in a time window, oldest first."""
    return repository.events_between(session, tenant_id, since=since, until=until, limit=limit)


def _start_experiment(
    session: Session, *, tenant_id: int, version: int, unit: Unit, assisted_share_bp: int, clock: Clock
) -> Experiment:
    repository.insert_experiment(
        session,
        {
            "tenant_id": tenant_id,
            "version": version,
            "unit": unit.value,
            "assisted_share_bp": assisted_share_bp,
            "salt": secrets.token_hex(16),
            "started_at": clock.now(),
        },
    )
    # Another process may have won the insert; whichever row exists is the experiment for everyone.
    experiment = repository.latest_experiment(session, tenant_id)
    assert experiment is not None
    return experiment


def get_experiment(session: Session, *, tenant_id: int, clock: Clock) -> Experiment:
    """The tenant's current experiment, created on first use as 50/50 by requester."""
    experiment = repository.latest_experiment(session, tenant_id)
    if experiment is not None:
        return experiment
    return _start_experiment(
        session,
        tenant_id=tenant_id,
        version=1,
        unit=Unit.REQUESTER,
        assisted_share_bp=DEFAULT_ASSISTED_SHARE_BP,
        clock=clock,
    )


def configure_experiment(
    session: Session, *, tenant_id: int, unit: Unit, assisted_share_bp: int, clock: Clock
) -> Experiment:
    """Start a new experiment version when unit or split change; tickets already assigned keep their arm."""
    if not 0 <= assisted_share_bp <= BUCKETS:
        raise InvalidPayload(f"assisted_share_bp must be between 0 and {BUCKETS}")
    current = get_experiment(session, tenant_id=tenant_id, clock=clock)
    if current.unit == unit.value and current.assisted_share_bp == assisted_share_bp:
        return current
    return _start_experiment(
        session,
        tenant_id=tenant_id,
        version=current.version + 1,
        unit=unit,
        assisted_share_bp=assisted_share_bp,
        clock=clock,
    )


def assign_ticket(
    session: Session,
    *,
    tenant_id: int,
    ticket_id: str,
    requester_id: str,
    agent_id: str | None = None,
    clock: Clock,
) -> str:
    """The ticket's arm ("assisted" or "control"), decided on first call and the same on every later call."""
    known = repository.ticket_arm(session, tenant_id, ticket_id)
    if known is not None:
        return known.arm
    experiment = get_experiment(session, tenant_id=tenant_id, clock=clock)
    unit = Unit(experiment.unit)
    unit_id = {Unit.REQUESTER: requester_id, Unit.TICKET: ticket_id, Unit.AGENT: agent_id}[unit]
    if not unit_id:
        raise InvalidPayload(
            f"the experiment randomizes by {unit.value}; give its id to assign ticket {ticket_id!r}"
        )
    now = clock.now()
    arm = repository.unit_arm(session, tenant_id, experiment.id, unit_id)
    if arm is None:
        repository.insert_assignment(
            session,
            {
                "tenant_id": tenant_id,
                "experiment_id": experiment.id,
                "unit_id": unit_id,
                "arm": assign_arm(experiment.salt, unit_id, experiment.assisted_share_bp).value,
                "assigned_at": now,
            },
        )
        arm = repository.unit_arm(session, tenant_id, experiment.id, unit_id)
        assert arm is not None
    repository.insert_ticket_arm(
        session,
        {
            "tenant_id": tenant_id,
            "ticket_id": ticket_id,
            "experiment_id": experiment.id,
            "unit_id": unit_id,
            "arm": arm,
            "assigned_at": now,
        },
    )
    recorded = repository.ticket_arm(session, tenant_id, ticket_id)
    assert recorded is not None
    return recorded.arm


def get_schedule(session: Session, *, tenant_id: int) -> Schedule:
    """The tenant's business hours (Monday to Friday 09:00-17:00 UTC until configured)."""
    row = repository.schedule(session, tenant_id)
    if row is None:
        return Schedule()
    return Schedule.from_mapping(
        {
            "timezone": row.timezone,
            "hours": json.loads(row.hours_json),
            "holidays": json.loads(row.holidays_json),
        }
    )


def set_schedule(session: Session, *, tenant_id: int, schedule: Schedule, clock: Clock) -> Schedule:
    """Replace the tenant's business hours."""
    document = schedule.to_mapping()
    repository.save_schedule(
        session,
        BusinessSchedule(
            tenant_id=tenant_id,
            timezone=schedule.timezone,
            hours_json=json.dumps(document["hours"]),
            holidays_json=json.dumps(document["holidays"]),
            updated_at=clock.now(),
        ),
    )
    return schedule


def _fees(facts: TicketFacts, fees_by_ticket: FeesByTicket | None) -> np.ndarray:
    if fees_by_ticket is None:
        return price_book_fees(facts)
    billed = fees_by_ticket(list(facts.ticket_id))
    return np.fromiter((billed.get(ticket, 0) for ticket in facts.ticket_id), dtype=float, count=len(facts))


def build_report(
    session: Session,
    *,
    tenant_id: int,
    since: datetime | None,
    until: datetime | None,
    clock: Clock,
    cost_per_agent_hour_cents: int = 0,
    business_hours: bool = False,
    repeat_contact_days: float = 7.0,
    sequential: bool = False,
    fees_by_ticket: FeesByTicket | None = None,
    include_segments: bool = True,
    include_trends: bool = True,
) -> dict[str, Any]:
    """The §8 report for tickets created in [since, until); AI fees from `fees_by_ticket` or the price book."""
    experiment = get_experiment(session, tenant_id=tenant_id, clock=clock)
    options = ReportOptions(
        cost_per_agent_hour_cents=float(cost_per_agent_hour_cents),
        schedule=get_schedule(session, tenant_id=tenant_id) if business_hours else None,
        repeat_contact_window_s=repeat_contact_days * DAY_SECONDS,
        unit=Unit(experiment.unit),
        assisted_share_bp=experiment.assisted_share_bp,
        sequential=sequential,
        extra={"fees": "billing ledger" if fees_by_ticket is not None else "price book"},
    )
    return report_over_log(
        session,
        tenant_id=tenant_id,
        since=since,
        until=until,
        options=options,
        fees_by_ticket=fees_by_ticket,
        include_segments=include_segments,
        include_trends=include_trends,
        experiments=repository.experiments(session, tenant_id),
    )


def fill_missing_arms(facts: TicketFacts, experiments: Sequence[Experiment]) -> TicketFacts:
    """Arm tickets nobody asked `assign_ticket` about, by the hash of the experiment running at creation.

    The hash is the assignment, so this is exactly the arm the ticket would have been given: the
    analysis stays intention-to-treat even when the drafting path never saw a ticket (e.g. a control
    ticket no agent opened). Agent-unit experiments cannot be reconstructed and stay unassigned.
    """
    missing = [index for index, arm in enumerate(facts.arm) if arm is None]
    if not missing or not experiments:
        return facts
    starts = np.array([experiment.started_at.timestamp() for experiment in experiments])
    arms = facts.arm.copy()
    for index in missing:
        active = experiments[max(int(np.searchsorted(starts, facts.created_s[index], side="right")) - 1, 0)]
        unit = Unit(active.unit)
        if unit == Unit.AGENT:
            continue
        unit_id = facts.requester_id[index] if unit == Unit.REQUESTER else facts.ticket_id[index]
        arms[index] = assign_arm(active.salt, str(unit_id), active.assisted_share_bp).value
    return replace(facts, arm=arms)


def report_over_log(
    session: Session,
    *,
    tenant_id: int,
    since: datetime | None,
    until: datetime | None,
    options: ReportOptions,
    fees_by_ticket: FeesByTicket | None = None,
    include_segments: bool = True,
    include_trends: bool = True,
    experiments: Sequence[Experiment] = (),
) -> dict[str, Any]:
    """The report over the tenant's event log (read from its maintained facts) with explicit options;
    tickets without a recorded arm get their experiment's hashed arm when `experiments` are given."""
    facts = fill_missing_arms(
        stored_ticket_facts(session, tenant_id=tenant_id, since=since, until=until), experiments
    )
    report = assemble_report(
        facts,
        _fees(facts, fees_by_ticket),
        options,
        include_segments=include_segments,
        include_trends=include_trends,
    )
    report["period"] = {
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    return report


def arm_events(
    events: Sequence[TicketEvent], *, salt: str, unit: Unit, assisted_share_bp: int
) -> list[TicketEvent]:
    """Give events without an `arm` the arm of their unit under (salt, split); a given arm is kept."""
    unit_of = {
        Unit.REQUESTER: lambda event: event.requester_id,
        Unit.TICKET: lambda event: event.ticket_id,
        Unit.AGENT: lambda event: event.agent_id or event.requester_id,
    }[unit]
    ticket_arms: dict[str, str] = {event.ticket_id: event.arm for event in events if event.arm is not None}
    arms: list[TicketEvent] = []
    for event in events:
        if event.arm is None and event.ticket_id not in ticket_arms:
            ticket_arms[event.ticket_id] = assign_arm(salt, unit_of(event), assisted_share_bp).value
        arms.append(event if event.arm is not None else replace(event, arm=ticket_arms[event.ticket_id]))
    return arms
