"""Grounding check: every checkable fact in a reply must come from the account context or a cited passage.

Checked: money amounts, dates, order ids, e-mail addresses, phone numbers and plan names. Each is
normalised before comparison (12.5 == 12.50 == 12.50 USD; March 3, 2024 == 2024-03-03) so wording
differences between the drafter (or an LLM) and the sources do not count as ungrounded. Currencies are
not compared because adapters often carry the currency in a separate fact. The ticket text is not a
source: it is untrusted and may name another customer's data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from drafting.context.base import AccountContext
from drafting.knowledge import Passage

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"

_AMOUNT = re.compile(
    rf"(?:[$€£]|\b(?:USD|EUR|GBP|CAD|AUD)\s?)\s?(?P<a>{_NUMBER})"
    rf"|(?P<b>{_NUMBER})\s?(?:€|£|\b(?:USD|EUR|GBP|CAD|AUD|dollars?|euros?|pounds?)\b)",
    re.IGNORECASE,
)
_PLAIN_NUMBER = re.compile(rf"(?<![\w.])(?:{_NUMBER})(?![\w])")
_ISO_DATE = re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")
_MONTH_FIRST = re.compile(
    rf"\b{_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})\b", re.IGNORECASE
)
_DAY_FIRST = re.compile(
    rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\s+(?P<y>\d{{4}})\b", re.IGNORECASE
)
_SLASH_DATE = re.compile(r"\b(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>\d{4})\b")
_ORDER_ID = re.compile(
    r"#[A-Z]{0,3}\d{4,}\b|\b[A-Z]{1,3}\d{6,}\b|\b(?:ORD|INV|ORDER)-?\d{3,}\b", re.IGNORECASE
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"(?<![\w-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{3}\)|\d{3})[\s.-]?\d{3}[\s.-]?\d{4}(?![\w-])")


@dataclass(frozen=True)
class GroundingResult:
    """Whether the reply is grounded, and the reply fragments that were not."""

    grounded: bool
    ungrounded: tuple[str, ...]


def check_grounding(
    reply_text: str,
    context: AccountContext,
    passages: Sequence[Passage],
    known_plans: Iterable[str] = (),
) -> GroundingResult:
    """Check that every amount, date, id, contact detail and plan name in the reply has a source."""
    source_text = "\n".join(
        [
            # The catalogue of plan names says which plans exist, not which one this customer has.
            *(fact.value for fact in context.facts if fact.key != "known_plans"),
            *(f"{passage.title}\n{passage.section}\n{passage.text}" for passage in passages),
        ]
    )
    sources = _entities(source_text)
    source_numbers = sources["amount"] | {
        value
        for match in _PLAIN_NUMBER.finditer(source_text)
        if (value := _decimal(match.group())) is not None
    }
    ungrounded: list[str] = []
    for kind, raw, normalised in _mentions(reply_text):
        pool = source_numbers if kind == "amount" else sources[kind]
        if not normalised or not (normalised & pool):
            ungrounded.append(raw)
    for plan in sorted(_plans(context, known_plans)):
        pattern = re.compile(rf"\b{re.escape(plan)}\b", re.IGNORECASE)
        if pattern.search(reply_text) and not pattern.search(source_text):
            ungrounded.append(plan)
    unique = tuple(dict.fromkeys(ungrounded))
    return GroundingResult(grounded=not unique, ungrounded=unique)


def _plans(context: AccountContext, known_plans: Iterable[str]) -> set[str]:
    plans = {plan.strip() for plan in known_plans if plan.strip()}
    for fact in context.facts:
        if fact.key == "known_plans":
            plans.update(name.strip() for name in fact.value.split(",") if name.strip())
    return plans


def _mentions(text: str) -> list[tuple[str, str, set[str]]]:
    mentions: list[tuple[str, str, set[str]]] = []
    for match in _AMOUNT.finditer(text):
        value = _decimal(match.group("a") or match.group("b"))
        mentions.append(("amount", match.group().strip(), {value} if value else set()))
    for raw, dates in _date_matches(text):
        mentions.append(("date", raw, dates))
    for match in _ORDER_ID.finditer(text):
        mentions.append(("order", match.group(), {_order_key(match.group())}))
    for match in _EMAIL.finditer(text):
        mentions.append(("email", match.group(), {match.group().lower()}))
    for match in _PHONE.finditer(text):
        mentions.append(("phone", match.group().strip(), {_phone_key(match.group())}))
    return mentions


def _entities(text: str) -> dict[str, set[str]]:
    entities: dict[str, set[str]] = {kind: set() for kind in ("amount", "date", "order", "email", "phone")}
    for kind, _, values in _mentions(text):
        entities[kind].update(values)
    return entities


def _decimal(raw: str) -> str | None:
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None
    # normalize() turns 12.50 into 12.5 and 100 into 1E+2; the fixed format keeps 100 readable.
    return format(value.normalize(), "f")


def _order_key(raw: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", raw.upper())


def _phone_key(raw: str) -> str:
    # The last ten digits ignore an optional country code, so +1 555-123-2002 matches 555-123-2002.
    return re.sub(r"\D", "", raw)[-10:]


def _iso(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _date_matches(text: str) -> list[tuple[str, set[str]]]:
    found: list[tuple[str, set[str]]] = []
    for match in _ISO_DATE.finditer(text):
        found.append((match.group(), _present(_iso(int(match["y"]), int(match["m"]), int(match["d"])))))
    for pattern in (_MONTH_FIRST, _DAY_FIRST):
        for match in pattern.finditer(text):
            month = _MONTHS[match["month"].lower()]
            found.append((match.group(), _present(_iso(int(match["y"]), month, int(match["d"])))))
    for match in _SLASH_DATE.finditer(text):
        first, second, year = int(match["a"]), int(match["b"]), int(match["y"])
        # 03/04/2024 is March 4 in the US and 3 April elsewhere; either reading grounds it.
        found.append((match.group(), _present(_iso(year, first, second), _iso(year, second, first))))
    return found


def _present(*values: str | None) -> set[str]:
    return {value for value in values if value}
