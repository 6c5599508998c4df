"""Spend caps: warn at 80%, and at 100% nothing more is billed and the AI steps down."""

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from billing import repository
from billing.ledger import ensure_account
from billing.money import MICROS_PER_MINOR, round_half_away_from_zero
from billing.periods import period_of
from billing.pricing import DEFAULT_CURRENCY
from plugin.core.clock import Clock
from plugin.core.errors import InvalidPayload

WARN_NUMERATOR, WARN_DENOMINATOR = 4, 5


class CapState(StrEnum):
    OK = "ok"
    WARN = "warn"
    REACHED = "reached"


class CapMode(StrEnum):
    SUGGEST_ONLY = "suggest_only"
    OFF = "off"


@dataclass(frozen=True)
class SpendStatus:
    period_start: date
    spent_cents: int
    cap_cents: int | None
    state: CapState
    mode: CapMode
    currency: str


def cap_state(spent_micros: int, cap_cents: int | None, *, waived_this_period: bool) -> CapState:
    """Reached once the cap is used up or an outcome was already turned away; warn from 80%."""
    if cap_cents is None:
        return CapState.OK
    cap_micros = cap_cents * MICROS_PER_MINOR
    if waived_this_period or spent_micros >= cap_micros:
        return CapState.REACHED
    if spent_micros * WARN_DENOMINATOR >= cap_micros * WARN_NUMERATOR:
        return CapState.WARN
    return CapState.OK


def spend_status(session: Session, tenant_id: int, now: datetime) -> SpendStatus:
    """What the tenant has spent this period against its cap; drafting's policy reads `state` and `mode`."""
    account = repository.get_account(session, tenant_id)
    period = period_of(now) if account is None else max(period_of(now), account.open_period)
    if account is None:
        return SpendStatus(period, 0, None, CapState.OK, CapMode.SUGGEST_ONLY, DEFAULT_CURRENCY)
    if account.monthly_cap_cents is not None and account.cap_period_start == period:
        spent = account.cap_period_spent_micros
    else:
        spent = repository.period_spend_micros(session, tenant_id, period)
    state = cap_state(
        spent, account.monthly_cap_cents, waived_this_period=account.cap_reached_period == period
    )
    return SpendStatus(
        period,
        round_half_away_from_zero(spent),
        account.monthly_cap_cents,
        state,
        CapMode(account.cap_mode),
        account.currency,
    )


def set_spend_cap(
    session: Session, *, tenant_id: int, cap_cents: int | None, mode: CapMode | str, clock: Clock
) -> SpendStatus:
    """Set or clear the monthly cap; the running counter restarts from the ledger of the open period."""
    if cap_cents is not None and cap_cents < 0:
        raise InvalidPayload("cap_cents must be zero or more (or null for no cap)")
    try:
        cap_mode = CapMode(mode)
    except ValueError as error:
        raise InvalidPayload(f"mode must be one of {[m.value for m in CapMode]}") from error
    now = clock.now()
    ensure_account(session, tenant_id, earliest=now, clock=clock)
    account = repository.get_account(session, tenant_id, lock="update")
    assert account is not None
    period = max(period_of(now), account.open_period)
    account.monthly_cap_cents = cap_cents
    account.cap_mode = cap_mode.value
    account.cap_period_start = period
    account.cap_period_spent_micros = repository.period_spend_micros(session, tenant_id, period)
    account.cap_reached_period = None
    session.flush()
    return spend_status(session, tenant_id, now)
