from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from metrics.business_hours import BusinessCalendar, Schedule, business_seconds

ROME = ZoneInfo("Europe/Rome")
HOURS = 3600


def test_frt_across_a_weekend_counts_only_open_hours():
    schedule = Schedule(timezone="Europe/Rome")
    friday_4pm = datetime(2026, 11, 6, 16, 0, tzinfo=ROME)
    monday_10am = datetime(2026, 11, 9, 10, 0, tzinfo=ROME)
    assert business_seconds(friday_4pm, monday_10am, schedule) == 2 * HOURS


def test_frt_across_a_weekend_and_a_holiday_skips_both():
    schedule = Schedule(timezone="Europe/Rome", holidays=frozenset({date(2026, 12, 25)}))
    thursday_4pm = datetime(2026, 12, 24, 16, 0, tzinfo=ROME)
    monday_10am = datetime(2026, 12, 28, 10, 0, tzinfo=ROME)
    assert business_seconds(thursday_4pm, monday_10am, schedule) == 2 * HOURS


def test_time_outside_opening_hours_counts_nothing():
    schedule = Schedule(timezone="UTC")
    saturday = datetime(2026, 11, 7, 10, 0, tzinfo=UTC)
    assert business_seconds(saturday, saturday.replace(hour=15), schedule) == 0
    assert business_seconds(saturday, saturday.replace(hour=9), schedule) == 0


def test_daylight_saving_change_keeps_local_opening_hours():
    schedule = Schedule(timezone="Europe/Rome", weekly=(((time(9), time(17)),),) * 7)
    # 2026-03-29: clocks go forward in Rome; still eight open hours that Sunday.
    start = datetime(2026, 3, 29, 0, 0, tzinfo=ROME)
    assert business_seconds(start, datetime(2026, 3, 30, 0, 0, tzinfo=ROME), schedule) == 8 * HOURS


def test_vectorised_calendar_matches_the_scalar_function():
    schedule = Schedule(timezone="America/New_York", holidays=frozenset({date(2026, 11, 26)}))
    rng = np.random.default_rng(7)
    base = datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    starts = base + rng.uniform(0, 30 * 86_400, 200)
    ends = starts + rng.uniform(0, 10 * 86_400, 200)
    calendar = BusinessCalendar.covering(schedule, np.concatenate((starts, ends)))
    vectorised = calendar.between(starts, ends)
    for start, end, value in zip(starts, ends, vectorised, strict=True):
        expected = business_seconds(
            datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC), schedule
        )
        assert value == pytest.approx(expected, abs=1e-6)


def test_unanswered_stays_nan_in_the_vectorised_calendar():
    calendar = BusinessCalendar.covering(Schedule(), np.array([0.0, 86_400.0 * 10]))
    assert np.isnan(calendar.between([0.0], [np.nan])[0])


def test_schedule_round_trips_through_its_mapping():
    schedule = Schedule(timezone="Europe/Rome", holidays=frozenset({date(2026, 12, 25)}))
    assert Schedule.from_mapping(schedule.to_mapping()) == schedule


def test_schedule_rejects_an_unknown_time_zone():
    with pytest.raises(KeyError):
        Schedule(timezone="Mars/Olympus")
