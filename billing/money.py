"""Money as integer minor units; unit prices as integer micro-units so every sum is exact.

A unit price may be a fraction of a cent (`Decimal("12.5")` cents), so prices and unrounded amounts are
kept in millionths of the minor unit. Rounding happens once per invoice line, half away from zero.
"""

from dataclasses import dataclass
from decimal import Decimal

MICROS_PER_MINOR = 1_000_000
ZERO_DECIMAL_CURRENCIES = frozenset({"BIF", "CLP", "JPY", "KRW", "PYG", "VND", "XAF", "XOF"})


class InvalidAmount(ValueError):
    """A rate or currency that cannot be represented exactly."""


@dataclass(frozen=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidAmount("money amounts are integer minor units")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    def __add__(self, other: "Money") -> "Money":
        if other.currency != self.currency:
            raise InvalidAmount(f"cannot add {other.currency} to {self.currency}")
        return Money(self.amount + other.amount, self.currency)


def normalize_currency(code: str) -> str:
    upper = code.strip().upper()
    if len(upper) != 3 or not upper.isalpha():
        raise InvalidAmount(f"{code!r} is not an ISO 4217 currency code")
    return upper


def rate_to_micros(rate_minor: Decimal | int | str) -> int:
    """A unit price in minor units (e.g. Decimal("12.5") cents) as exact integer micro-units."""
    value = Decimal(str(rate_minor)) if not isinstance(rate_minor, Decimal) else rate_minor
    if not value.is_finite():
        raise InvalidAmount(f"rate {rate_minor!r} is not a number")
    scaled = value * MICROS_PER_MINOR
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(f"rate {rate_minor} has more than 6 decimals of a minor unit")
    return int(scaled)


def micros_to_rate(micros: int) -> Decimal:
    """Integer micro-units back to a Decimal number of minor units, without trailing zeros."""
    rate = Decimal(micros) / MICROS_PER_MINOR
    return rate.quantize(Decimal(1)) if rate == rate.to_integral_value() else rate.normalize()


def round_half_away_from_zero(micros: int) -> int:
    """Micro-units to whole minor units: 0.5 rounds to 1 and -0.5 to -1 (not Python's banker's round)."""
    whole, remainder = divmod(abs(micros), MICROS_PER_MINOR)
    if 2 * remainder >= MICROS_PER_MINOR:
        whole += 1
    return whole if micros >= 0 else -whole


def line_amount(quantity: int, unit_price_micros: int) -> int:
    """The amount of one invoice line in minor units, rounded once."""
    return round_half_away_from_zero(quantity * unit_price_micros)


def minor_exponent(currency: str) -> int:
    return 0 if normalize_currency(currency) in ZERO_DECIMAL_CURRENCIES else 2


def format_money(amount_minor: int, currency: str) -> str:
    """`1234`, `USD` -> `USD 12.34`; negative amounts keep their sign in front."""
    exponent = minor_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    if exponent == 0:
        return f"{sign}{normalize_currency(currency)} {abs(amount_minor):,}"
    major, minor = divmod(abs(amount_minor), 10**exponent)
    return f"{sign}{normalize_currency(currency)} {major:,}.{minor:0{exponent}d}"


def format_rate(unit_price_micros: int, currency: str) -> str:
    """A unit price for display in major units, keeping sub-cent precision (`USD 0.125`)."""
    exponent = minor_exponent(currency)
    major = micros_to_rate(unit_price_micros) / (10**exponent)
    text = (
        f"{major:.{exponent}f}"
        if major == major.quantize(Decimal(10) ** -exponent)
        else f"{major.normalize():f}"
    )
    return f"{normalize_currency(currency)} {text}"
