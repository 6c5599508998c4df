"""Gather account context from every source at once; a slow or failing source leaves a flagged gap.

Also home to the display formatting the adapters share, so money and dates read the same whichever source
they came from (the grounding check compares a reply's amounts and dates against these strings).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Generic, TypeVar

from billing.money import minor_exponent
from drafting.context.base import AccountContext, ContextSource, CustomerRef, Fact, SourceStatus
from plugin.core.clock import Clock, SystemClock
from plugin.core.errors import AppError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 1.5
DEFAULT_CACHE_TTL_S = 60.0

CacheKey = tuple[Hashable, str, str]
ClientT = TypeVar("ClientT")


class ContextCache:
    """A small in-memory TTL cache of one source's facts per (tenant, customer, source)."""

    def __init__(
        self, *, ttl_s: float = DEFAULT_CACHE_TTL_S, clock: Clock | None = None, max_entries: int = 10_000
    ) -> None:
        self._ttl = timedelta(seconds=ttl_s)
        self._clock = clock or SystemClock()
        self._max_entries = max_entries
        self._entries: dict[CacheKey, tuple[datetime, tuple[Fact, ...]]] = {}

    def get(self, key: CacheKey) -> tuple[Fact, ...] | None:
        """The cached facts, or None when absent or older than the TTL."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, facts = entry
        if self._clock.now() >= expires_at:
            del self._entries[key]
            return None
        return facts

    def put(self, key: CacheKey, facts: tuple[Fact, ...]) -> None:
        """Remember a successful fetch until the TTL runs out."""
        now = self._clock.now()
        self._entries.pop(key, None)
        if len(self._entries) >= self._max_entries:
            self._evict(now)
        self._entries[key] = (now + self._ttl, facts)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _evict(self, now: datetime) -> None:
        for key in [key for key, (expires_at, _) in self._entries.items() if now >= expires_at]:
            del self._entries[key]
        # Insertion order is age order, so the first entries are the oldest.
        while len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]


class PerLoop(Generic[ClientT]):
    """One client per event loop, made on first use in that loop.

    Pooled connections belong to the loop that opened them, and one process may run several loops in turn
    (CLI commands and jobs calling ``asyncio.run``); a client carried into the next loop fails there.
    """

    def __init__(self, factory: Callable[[], ClientT], close: Callable[[ClientT], Awaitable[None]]) -> None:
        self._factory = factory
        self._close = close
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: ClientT | None = None

    def get(self) -> ClientT:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client, self._loop = self._factory(), loop
        return self._client

    async def aclose(self) -> None:
        """Close the client of the running loop, if it has one."""
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._close(self._client)
        self._client = self._loop = None


def cache_key(tenant_id: Hashable, customer: CustomerRef, source_name: str) -> CacheKey:
    customer_key = f"{customer.email.strip().lower()}|{customer.external_id or ''}"
    return (tenant_id, customer_key, source_name)


async def gather_context(
    customer: CustomerRef,
    sources: Sequence[ContextSource],
    *,
    tenant_id: Hashable = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    cache: ContextCache | None = None,
) -> AccountContext:
    """Fetch from all sources concurrently; failures and timeouts become flagged statuses, never errors."""
    if cache is not None and tenant_id is None:
        # Without the tenant in the key, a shared cache would serve one tenant's facts to another.
        raise ValueError("gather_context needs a tenant_id when a cache is given")
    results = await asyncio.gather(
        *(
            _fetch(source, customer, tenant_id=tenant_id, timeout_s=timeout_s, cache=cache)
            for source in sources
        )
    )
    return AccountContext(
        customer_ref=customer.email,
        facts=tuple(fact for facts, _ in results for fact in facts),
        statuses=tuple(status for _, status in results),
    )


async def _fetch(
    source: ContextSource,
    customer: CustomerRef,
    *,
    tenant_id: Hashable,
    timeout_s: float,
    cache: ContextCache | None,
) -> tuple[tuple[Fact, ...], SourceStatus]:
    started = time.perf_counter()
    key = cache_key(tenant_id, customer, source.name)
    if cache is not None and (cached := cache.get(key)) is not None:
        return cached, _status(source, started, error=None)
    try:
        async with asyncio.timeout(timeout_s):
            facts = tuple(await source.fetch(customer))
    except TimeoutError:
        return (), _status(source, started, error=f"timed out after {timeout_s:g} s")
    except AppError as exc:
        return (), _status(source, started, error=exc.detail)
    except Exception as exc:
        # Adapters translate the failures they expect; anything else is logged, and only its type is shown
        # because an unexpected message may carry a URL or credential.
        logger.warning("context source %s failed", source.name, exc_info=True)
        return (), _status(source, started, error=f"unexpected {type(exc).__name__}")
    if cache is not None:
        cache.put(key, facts)
    return facts, _status(source, started, error=None)


def _status(source: ContextSource, started: float, *, error: str | None) -> SourceStatus:
    elapsed_ms = (time.perf_counter() - started) * 1000
    return SourceStatus(name=source.name, ok=error is None, error=error, elapsed_ms=round(elapsed_ms, 3))


_CURRENCY_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def format_money(amount: Decimal | int | float | str, currency: str = "USD") -> str:
    """``$49.00``, ``€12.50`` or ``12.50 CAD``: two decimals, half away from zero."""
    code = currency.strip().upper()
    places = Decimal(10) ** -minor_exponent(code)
    value = Decimal(str(amount)).quantize(places, rounding=ROUND_HALF_UP)
    sign, digits = ("-", -value) if value < 0 else ("", value)
    symbol = _CURRENCY_SYMBOLS.get(code)
    return f"{sign}{symbol}{digits:,}" if symbol else f"{sign}{digits:,} {code}"


def format_minor_units(minor_units: int, currency: str = "USD") -> str:
    """Format an integer amount in the currency's minor unit (cents), as Stripe and our ledger keep money."""
    return format_money(Decimal(minor_units).scaleb(-minor_exponent(currency)), currency)


def parse_decimal(value: object) -> Decimal | None:
    """A Decimal from an API's number or numeric string, or None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None


def format_date(value: date | datetime | int | float | str) -> str:
    """ISO date (``2024-03-03``) from a date, a datetime, a Unix timestamp or an ISO string, in UTC."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo is None else value.astimezone(UTC)
        return moment.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).date().isoformat()
    text = value.strip()
    if text.isdigit() and len(text) > 8:
        # HubSpot sends some timestamps as epoch milliseconds in strings.
        return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
    return format_date(datetime.fromisoformat(text.replace("Z", "+00:00")))


def format_number(value: Decimal | float | int) -> str:
    """A plain number without trailing zeros: ``3.2``, ``15``."""
    number = Decimal(str(value)).normalize()
    return f"{number:f}"


def fact(source: str, key: str, label: str, value: object) -> Fact:
    """A Fact with its value as a display string."""
    return Fact(key=key, value=str(value), source=source, label=label)
