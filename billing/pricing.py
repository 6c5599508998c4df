"""The effective-dated price book: which unit price applies to an outcome of a kind at a moment."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from billing.money import normalize_currency, rate_to_micros

DEFAULT_CURRENCY = "USD"


class OutcomeKind(StrEnum):
    DRAFT = "draft"
    RESOLUTION = "resolution"
    RESOLUTION_REVERSAL = "resolution_reversal"


PRICED_KINDS = (OutcomeKind.DRAFT, OutcomeKind.RESOLUTION)
DEFAULT_RATES_MINOR = {OutcomeKind.DRAFT: Decimal(25), OutcomeKind.RESOLUTION: Decimal(50)}


@dataclass(frozen=True)
class Price:
    kind: OutcomeKind
    unit_price_micros: int
    currency: str
    effective_from: datetime | None


def default_price(kind: OutcomeKind, currency: str = DEFAULT_CURRENCY) -> Price:
    if kind not in DEFAULT_RATES_MINOR:
        raise ValueError(f"{kind.value} has no list price; reversals reuse the original entry's price")
    return Price(kind, rate_to_micros(DEFAULT_RATES_MINOR[kind]), normalize_currency(currency), None)


def price_at(
    prices: Iterable[Price], kind: OutcomeKind, moment: datetime, currency: str = DEFAULT_CURRENCY
) -> Price:
    """The price of `kind` in force at `moment`: the latest one effective at or before it, else the default."""
    in_force = [
        price
        for price in prices
        if price.kind == kind and price.effective_from is not None and price.effective_from <= moment
    ]
    if not in_force:
        return default_price(kind, currency)
    return max(in_force, key=lambda price: price.effective_from or moment)
