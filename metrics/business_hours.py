"""Business time between two instants under a tenant schedule (weekly hours in a time zone, holidays).

Open intervals are laid out on the UTC time line once per local date, so daylight-saving changes and
holidays are exact; many tickets are then answered with one binary search each (`BusinessCalendar`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NINE_TO_FIVE = ((time(9), time(17)),)


@dataclass(frozen=True)
class Schedule:
    """Opening hours per weekday (Monday first) in local time, the zone, and closed dates."""

    timezone: str = "UTC"
    weekly: tuple[tuple[tuple[time, time], ...], ...] = field(default=(NINE_TO_FIVE,) * 5 + ((), ()))
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        ZoneInfo(self.timezone)
        if len(self.weekly) != 7:
            raise ValueError("weekly needs seven entries, Monday first")
        for day in self.weekly:
            for opens, closes in day:
                if not opens < closes:
                    raise ValueError(f"opening {opens} must come before closing {closes}")

    @classmethod
    def from_mapping(cls, document: Mapping[str, object]) -> "Schedule":
        """`{"timezone": "Europe/Rome", "hours": {"mon": [["09:00", "17:00"]], ...}, "holidays": ["2026-12-25"]}`."""
        hours = document.get("hours")
        weekly: list[tuple[tuple[time, time], ...]] = []
        if isinstance(hours, Mapping) and set(hours) - set(WEEKDAYS):
            raise ValueError(
                f"hours: unknown weekdays {sorted(set(hours) - set(WEEKDAYS))}; use {', '.join(WEEKDAYS)}"
            )
        for name in WEEKDAYS:
            if hours is None:
                weekly.append(NINE_TO_FIVE if name not in ("sat", "sun") else ())
                continue
            if not isinstance(hours, Mapping):
                raise ValueError("hours must map weekday names to lists of [open, close]")
            spans = hours.get(name, [])
            if not isinstance(spans, list):
                raise ValueError(f"hours.{name} must be a list of [open, close]")
            weekly.append(tuple((time.fromisoformat(span[0]), time.fromisoformat(span[1])) for span in spans))
        holidays = document.get("holidays", [])
        if not isinstance(holidays, list):
            raise ValueError("holidays must be a list of ISO dates")
        return cls(
            timezone=str(document.get("timezone", "UTC")),
            weekly=tuple(weekly),
            holidays=frozenset(date.fromisoformat(str(day)) for day in holidays),
        )

    def to_mapping(self) -> dict[str, object]:
        return {
            "timezone": self.timezone,
            "hours": {
                name: [[opens.isoformat("minutes"), closes.isoformat("minutes")] for opens, closes in spans]
                for name, spans in zip(WEEKDAYS, self.weekly, strict=True)
            },
            "holidays": sorted(day.isoformat() for day in self.holidays),
        }


def open_intervals(schedule: Schedule, first_day: date, last_day: date) -> list[tuple[datetime, datetime]]:
    """The schedule's open intervals in UTC for local dates first_day..last_day, in time order."""
    zone = ZoneInfo(schedule.timezone)
    intervals = []
    day = first_day
    while day <= last_day:
        if day not in schedule.holidays:
            for opens, closes in schedule.weekly[day.weekday()]:
                start = datetime.combine(day, opens, tzinfo=zone).astimezone(UTC)
                end = datetime.combine(day, closes, tzinfo=zone).astimezone(UTC)
                if end > start:
                    intervals.append((start, end))
        day += timedelta(days=1)
    return intervals


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def business_seconds(start: datetime, end: datetime, schedule: Schedule) -> float:
    """Seconds of open time in [start, end]; zero when end is not after start."""
    if end <= start:
        return 0.0
    zone = ZoneInfo(schedule.timezone)
    first_day = _local_day(start, zone) - timedelta(days=1)
    last_day = _local_day(end, zone) + timedelta(days=1)
    total = 0.0
    for opens, closes in open_intervals(schedule, first_day, last_day):
        overlap = (min(end, closes) - max(start, opens)).total_seconds()
        if overlap > 0:
            total += overlap
    return total


class BusinessCalendar:
    """Cumulative open seconds on a UTC epoch-seconds axis, for vectorised durations."""

    def __init__(self, schedule: Schedule, first: datetime, last: datetime) -> None:
        zone = ZoneInfo(schedule.timezone)
        intervals = open_intervals(
            schedule, _local_day(first, zone) - timedelta(days=1), _local_day(last, zone) + timedelta(days=1)
        )
        self.first = first
        self.last = last
        self._starts = np.array([opens.timestamp() for opens, _ in intervals], dtype=float)
        self._lengths = np.array(
            [(closes - opens).total_seconds() for opens, closes in intervals], dtype=float
        )
        self._before = np.concatenate(([0.0], np.cumsum(self._lengths)))[:-1]

    @classmethod
    def covering(cls, schedule: Schedule, epochs: npt.NDArray[np.float64]) -> "BusinessCalendar":
        """A calendar spanning the given finite epoch seconds (a one-day stub when there are none)."""
        finite = np.asarray(epochs, dtype=float)
        finite = finite[np.isfinite(finite)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        return cls(schedule, datetime.fromtimestamp(low, UTC), datetime.fromtimestamp(high, UTC))

    def open_seconds_until(self, epochs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Open seconds from the calendar's start up to each instant (NaN stays NaN)."""
        values = np.asarray(epochs, dtype=float)
        if self._starts.size == 0:
            return np.where(np.isnan(values), np.nan, 0.0)
        index = np.searchsorted(self._starts, np.nan_to_num(values, nan=-np.inf), side="right") - 1
        safe = np.clip(index, 0, None)
        inside = np.clip(values - self._starts[safe], 0.0, self._lengths[safe])
        cumulative = np.where(index >= 0, self._before[safe] + inside, 0.0)
        return np.where(np.isnan(values), np.nan, cumulative)

    def between(
        self,
        starts: npt.NDArray[np.float64] | Sequence[float],
        ends: npt.NDArray[np.float64] | Sequence[float],
    ) -> npt.NDArray[np.float64]:
        """Open seconds in each [start, end] (NaN when either end is NaN, 0 when end precedes start)."""
        start_values = np.asarray(starts, dtype=float)
        end_values = np.asarray(ends, dtype=float)
        span = self.open_seconds_until(end_values) - self.open_seconds_until(start_values)
        return np.where(np.isnan(span), np.nan, np.maximum(span, 0.0))
