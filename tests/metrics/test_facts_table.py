"""The maintained facts table must equal the facts recomputed from the event log (facts_query.py)."""

import itertools
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlalchemy.orm import Session

from metrics import service
from metrics.events import Actor, EventName, TicketEvent
from metrics.facts import NUMERIC_COLUMNS, TEXT_COLUMNS, TicketFacts
from metrics.facts_query import ticket_facts
from metrics.facts_table import rebuild_ticket_facts, stored_ticket_facts
from metrics.models import TicketEventRow, TicketFactsRow
from tests.metrics.builders import ticket

START = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
ACTORS = {
    EventName.AGENT_REPLY: Actor.AGENT,
    EventName.AI_REPLY: Actor.AI,
    EventName.HANDLE_TIME: Actor.AGENT,
    EventName.SOLVED: Actor.AGENT,
}
# Tenant ids no other test uses, one per generated example.
tenant_ids = itertools.count(900_000)

event_names = st.sampled_from(list(EventName))
labels = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))


@st.composite
def ticket_events(draw: st.DrawFn, ticket_id: str) -> list[TicketEvent]:
    """One ticket's events: any names (reopen/solve cycles, several ratings, none answered...) at
    microsecond instants, attributes that may disagree between events."""
    events = []
    for index in range(draw(st.integers(min_value=1, max_value=10))):
        name = draw(event_names)
        value = None
        if name == EventName.CSAT:
            value = draw(st.one_of(st.none(), st.sampled_from([0.0, 1.0])))
        elif name == EventName.HANDLE_TIME:
            value = float(draw(st.integers(min_value=0, max_value=3_600)))
        events.append(
            TicketEvent(
                key=f"{ticket_id}:{index}",
                ticket_id=ticket_id,
                requester_id=draw(st.sampled_from(["ann", "bob"])),
                event=name,
                occurred_at=START
                + timedelta(microseconds=draw(st.integers(min_value=0, max_value=10 * 86_400 * 10**6))),
                actor=ACTORS.get(name, Actor.CUSTOMER),
                public=draw(st.one_of(st.none(), st.booleans())),
                channel=draw(labels),
                intent=draw(labels),
                priority=draw(labels),
                value=value,
                arm=draw(st.one_of(st.none(), st.sampled_from(["assisted", "control"]))),
            )
        )
    return events


@st.composite
def deliveries(draw: st.DrawFn) -> list[list[TicketEvent]]:
    """Several tickets' events, some delivered twice, shuffled and cut into batches."""
    tickets = draw(st.integers(min_value=1, max_value=4))
    events = [event for index in range(tickets) for event in draw(ticket_events(f"T{index}"))]
    duplicates = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    stream = events + duplicates
    random.Random(draw(st.integers())).shuffle(stream)
    cuts = sorted(draw(st.lists(st.integers(min_value=0, max_value=len(stream)), max_size=4)))
    return [stream[start:end] for start, end in itertools.pairwise([0, *cuts, len(stream)])]


def assert_same_facts(stored: TicketFacts, recomputed: TicketFacts) -> None:
    stored_order, recomputed_order = np.argsort(stored.ticket_id), np.argsort(recomputed.ticket_id)
    for name in TEXT_COLUMNS:
        assert list(getattr(stored, name)[stored_order]) == list(
            getattr(recomputed, name)[recomputed_order]
        ), name
    for name in NUMERIC_COLUMNS:
        # Instants may differ in the last bit of their float seconds (microseconds vs text, per engine).
        np.testing.assert_allclose(
            getattr(stored, name)[stored_order],
            getattr(recomputed, name)[recomputed_order],
            rtol=1e-15,
            atol=1e-6,
            err_msg=name,
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    batches=deliveries(),
    since_hours=st.one_of(st.none(), st.integers(0, 240)),
    until_hours=st.one_of(st.none(), st.integers(0, 260)),
)
def test_facts_folded_in_any_order_equal_the_facts_grouped_from_the_log(
    session, clock, batches, since_hours, until_hours
):
    tenant_id = next(tenant_ids)
    savepoint = session.begin_nested()
    for batch in batches:
        service.record_events(session, tenant_id=tenant_id, events=batch, clock=clock)
    since = None if since_hours is None else START + timedelta(hours=since_hours)
    until = None if until_hours is None else START + timedelta(hours=until_hours)
    assert_same_facts(
        stored_ticket_facts(session, tenant_id=tenant_id, since=since, until=until),
        ticket_facts(session, tenant_id=tenant_id, since=since, until=until),
    )
    savepoint.rollback()


def test_a_duplicate_delivery_does_not_count_twice(session, clock):
    events = ticket("T1", created=START, reply_after=timedelta(minutes=5), handle_seconds=300.0, csat=1.0)
    for _ in range(3):
        service.record_events(session, tenant_id=1, events=events, clock=clock)
    facts = stored_ticket_facts(session, tenant_id=1)
    assert (facts.replies[0], facts.handle_seconds[0], facts.csat[0]) == (1, 300.0, 1.0)


def test_rebuilding_from_the_log_gives_the_folded_facts(session, clock):
    events = [
        *ticket("T1", created=START, reply_after=timedelta(minutes=5), solved_after=timedelta(hours=1)),
        *ticket("T2", created=START, solved_after=timedelta(hours=1), reopened_after=timedelta(hours=2)),
    ]
    service.record_events(session, tenant_id=1, events=events, clock=clock)
    folded = stored_ticket_facts(session, tenant_id=1)
    rebuild_ticket_facts(session, tenant_id=1)
    assert_same_facts(stored_ticket_facts(session, tenant_id=1), folded)


def test_concurrent_writers_with_overlapping_deliveries_fold_each_event_once(engine, clock):
    tenant_id = next(tenant_ids)
    events = [
        event
        for index in range(20)
        for event in ticket(
            f"T{index}",
            created=START + timedelta(minutes=index),
            reply_after=timedelta(minutes=5),
            extra_replies=2,
            solved_after=timedelta(hours=1),
            reopened_after=timedelta(hours=2),
            handle_seconds=120.0,
            csat=1.0,
        )
    ]

    def deliver(seed: int) -> None:
        # Every writer delivers every event, in its own order and batches, one transaction per batch;
        # a batch goes in key order, as PostgreSQL needs of overlapping batches (DESIGN §11).
        stream = list(events)
        random.Random(seed).shuffle(stream)
        for start in range(0, len(stream), 7):
            batch = sorted(stream[start : start + 7], key=lambda event: event.key)
            with Session(engine) as session, session.begin():
                service.record_events(session, tenant_id=tenant_id, events=batch, clock=clock)

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(deliver, range(4)))
        with Session(engine) as session:
            stored = stored_ticket_facts(session, tenant_id=tenant_id)
            assert_same_facts(stored, ticket_facts(session, tenant_id=tenant_id))
            assert list(stored.replies) == [3] * 20
    finally:
        with Session(engine) as session, session.begin():
            for table in (TicketEventRow, TicketFactsRow):
                session.execute(delete(table).where(table.tenant_id == tenant_id))
