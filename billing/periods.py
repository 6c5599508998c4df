"""Billing periods are calendar months in UTC, named by their first day."""

from datetime import UTC, date, datetime, time, timedelta

DEFAULT_GRACE = timedelta(days=3)


def period_of(moment: datetime) -> date:
    utc = moment.astimezone(UTC)
    return date(utc.year, utc.month, 1)


def next_period(period: date) -> date:
    return date(period.year + period.month // 12, period.month % 12 + 1, 1)


def previous_period(period: date) -> date:
    return date(period.year - (period.month == 1), (period.month - 2) % 12 + 1, 1)


def period_start_at(period: date) -> datetime:
    return datetime.combine(period, time(), tzinfo=UTC)


def period_end_at(period: date) -> datetime:
    return period_start_at(next_period(period))


def parse_period(text: str) -> date:
    """`2026-10` -> date(2026, 10, 1)."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError as error:
        raise ValueError(f"period {text!r} must look like YYYY-MM") from error


def periods_between(first: date, last: date) -> list[date]:
    """Every period from `first` through `last`, in order."""
    found = []
    current = first
    while current <= last:
        found.append(current)
        current = next_period(current)
    return found
