from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing.money import (
    InvalidAmount,
    Money,
    format_money,
    format_rate,
    line_amount,
    micros_to_rate,
    rate_to_micros,
    round_half_away_from_zero,
)
from billing.periods import next_period, parse_period, period_of, previous_period
from billing.pricing import OutcomeKind, Price, default_price, price_at


@pytest.mark.parametrize(
    ("micros", "cents"),
    [
        (500_000, 1),  # 0.5 cent rounds up, not to even
        (1_500_000, 2),
        (2_500_000, 3),  # Python's round(2.5) would give 2
        (-500_000, -1),  # a half-cent credit rounds away from zero too
        (-2_500_000, -3),
        (499_999, 0),
        (-499_999, 0),
        (0, 0),
    ],
)
def test_rounding_is_half_away_from_zero(micros, cents):
    assert round_half_away_from_zero(micros) == cents


def test_line_rounds_once_not_per_entry():
    # Three drafts at 12.5 cents: per-entry rounding would give 3 x 13 = 39; once per line gives 37.5 -> 38.
    unit = rate_to_micros(Decimal("12.5"))
    assert line_amount(3, unit) == 38
    assert sum(line_amount(1, unit) for _ in range(3)) == 39


def test_credit_line_rounds_symmetrically_with_its_charge():
    unit = rate_to_micros(Decimal("0.5"))
    assert line_amount(1, unit) == 1 and line_amount(-1, unit) == -1


def test_rate_with_more_than_six_decimals_of_a_cent_is_refused():
    with pytest.raises(InvalidAmount):
        rate_to_micros(Decimal("0.0000001"))
    assert rate_to_micros("25") == 25_000_000
    assert micros_to_rate(12_500_000) == Decimal("12.5")
    assert micros_to_rate(25_000_000) == Decimal(25)


def test_money_refuses_floats_and_mixed_currencies():
    with pytest.raises(InvalidAmount):
        Money(0.25, "USD")  # type: ignore[arg-type]
    with pytest.raises(InvalidAmount):
        Money(1, "USD") + Money(1, "EUR")
    assert Money(1, "usd") + Money(2, "USD") == Money(3, "USD")


def test_formatting_keeps_sign_thousands_and_sub_cent_rates():
    assert format_money(123456, "USD") == "USD 1,234.56"
    assert format_money(-50, "usd") == "-USD 0.50"
    assert format_money(500, "JPY") == "JPY 500"
    assert format_rate(25_000_000, "USD") == "USD 0.25"
    assert format_rate(12_500_000, "USD") == "USD 0.125"


def test_default_price_book_is_25_cents_a_draft_and_50_a_resolution_in_usd():
    assert default_price(OutcomeKind.DRAFT) == Price(OutcomeKind.DRAFT, 25_000_000, "USD", None)
    assert default_price(OutcomeKind.RESOLUTION).unit_price_micros == 50_000_000
    with pytest.raises(ValueError):
        default_price(OutcomeKind.RESOLUTION_REVERSAL)


def test_price_book_picks_the_latest_price_effective_at_the_moment():
    jan = datetime(2026, 1, 1, tzinfo=UTC)
    jun = datetime(2026, 6, 1, tzinfo=UTC)
    book = [
        Price(OutcomeKind.DRAFT, 20_000_000, "USD", jan),
        Price(OutcomeKind.DRAFT, 30_000_000, "USD", jun),
    ]
    assert (
        price_at(book, OutcomeKind.DRAFT, datetime(2025, 12, 31, tzinfo=UTC)).unit_price_micros == 25_000_000
    )
    assert price_at(book, OutcomeKind.DRAFT, datetime(2026, 3, 1, tzinfo=UTC)).unit_price_micros == 20_000_000
    assert price_at(book, OutcomeKind.DRAFT, jun).unit_price_micros == 30_000_000
    assert price_at(book, OutcomeKind.RESOLUTION, jun).unit_price_micros == 50_000_000


def test_periods_are_utc_calendar_months():
    assert period_of(datetime(2026, 10, 31, 23, 59, tzinfo=UTC)).isoformat() == "2026-10-01"
    assert next_period(parse_period("2026-12")).isoformat() == "2027-01-01"
    assert previous_period(parse_period("2026-01")).isoformat() == "2025-12-01"
    with pytest.raises(ValueError):
        parse_period("October")
