"""Billing facts from Stripe through the ``stripe`` SDK: customer, subscriptions, invoices, failed payments.

The only module in drafting that imports ``stripe``. It makes the SDK's async raw requests over its httpx
client, so a slow Stripe holds no thread; SDK errors become ``UpstreamFailed``/``UpstreamTimeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import stripe

from drafting.context.base import CustomerRef, Fact
from drafting.context.gather import PerLoop, fact, format_date, format_minor_units
from plugin.core.errors import UpstreamFailed, UpstreamTimeout

LIVE_STATUSES = ("active", "trialing", "past_due")
RECENT_INVOICES = 10
RECENT_CHARGES = 20
_MONTHS_PER_INTERVAL = {
    "day": Decimal(12) / Decimal(365),
    "week": Decimal(12) / Decimal(52),
    "month": Decimal(1),
    "year": Decimal(12),
}


class StripeSource:
    """What Stripe knows about the requester, found by e-mail.

    ``known_plans`` adds the tenant's plan catalogue to the plan names seen on the customer's subscriptions,
    so the grounding check recognises any plan name a draft might mention.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None = None,
        name: str = "stripe",
        timeout_s: float = 5.0,
        max_network_retries: int = 1,
        known_plans: Sequence[str] = (),
    ) -> None:
        self.name = name
        self._known_plans = tuple(known_plans)

        def connect() -> _Connection:
            http = stripe.HTTPXClient(timeout=timeout_s)
            client = stripe.StripeClient(
                api_key,
                base_addresses={"api": base_url} if base_url else {},
                http_client=http,
                max_network_retries=max_network_retries,
            )
            return _Connection(client=client, http=http)

        # The SDK's HTTPXClient holds an httpx.AsyncClient, whose pool belongs to one event loop.
        self._connections = PerLoop(connect, lambda connection: connection.http.close_async())

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        client = self._connections.get().client
        try:
            found = await self._customer(client, customer.email)
            if found is None:
                return ()
            subscriptions, invoices, charges = await asyncio.gather(
                _list(client, "/v1/subscriptions", customer=found["id"], status="all", limit=10),
                _list(client, "/v1/invoices", customer=found["id"], limit=RECENT_INVOICES),
                _list(client, "/v1/charges", customer=found["id"], limit=RECENT_CHARGES),
            )
            plan_names = await self._plan_names(client, subscriptions)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return (
            *self._customer_facts(found),
            *self._subscription_facts(subscriptions, plan_names),
            *self._invoice_facts(invoices),
            *self._failed_payment_facts(charges),
        )

    async def aclose(self) -> None:
        await self._connections.aclose()

    async def _customer(self, client: stripe.StripeClient, email: str) -> dict[str, Any] | None:
        # Stripe's e-mail filter is case-sensitive; helpdesks do not always keep the case customers typed.
        for candidate in dict.fromkeys((email.strip(), email.strip().lower())):
            found = await _list(client, "/v1/customers", email=candidate, limit=1)
            if found:
                return found[0]
        return None

    async def _plan_names(
        self, client: stripe.StripeClient, subscriptions: Sequence[dict[str, Any]]
    ) -> dict[str, str]:
        """Display name of every price on the subscriptions: its nickname, else its product's name."""
        names: dict[str, str] = {}
        unnamed: dict[str, str] = {}
        for item in _items(subscriptions):
            price = item.get("price") or item.get("plan") or {}
            product = price.get("product")
            if price.get("nickname"):
                names[price["id"]] = price["nickname"]
            elif isinstance(product, dict) and product.get("name"):
                names[price["id"]] = product["name"]
            elif isinstance(product, str):
                unnamed[price["id"]] = product
        products = await asyncio.gather(
            *(_get(client, f"/v1/products/{product}") for product in set(unnamed.values()))
        )
        product_names = {product["id"]: product["name"] for product in products}
        names.update({price_id: product_names[product_id] for price_id, product_id in unnamed.items()})
        return names

    def _customer_facts(self, customer: dict[str, Any]) -> list[Fact]:
        facts = [fact(self.name, "stripe_customer_id", "Stripe customer", customer["id"])]
        if customer.get("delinquent"):
            facts.append(fact(self.name, "delinquent", "Payment overdue", "yes"))
        balance = customer.get("balance") or 0
        if balance:
            # Stripe's balance is negative when the customer holds credit.
            label = "Account credit" if balance < 0 else "Balance owed"
            facts.append(
                fact(
                    self.name,
                    "account_balance",
                    label,
                    format_minor_units(abs(balance), customer.get("currency") or "usd"),
                )
            )
        return facts

    def _subscription_facts(
        self, subscriptions: Sequence[dict[str, Any]], plan_names: dict[str, str]
    ) -> list[Fact]:
        facts: list[Fact] = []
        live = [sub for sub in subscriptions if sub.get("status") in LIVE_STATUSES]
        primary = live[0] if live else (subscriptions[0] if subscriptions else None)
        if primary is not None:
            names = [plan_names[price_id] for price_id in _price_ids(primary) if price_id in plan_names]
            if names:
                facts.append(fact(self.name, "plan", "Plan", ", ".join(dict.fromkeys(names))))
            facts.append(
                fact(self.name, "subscription_status", "Subscription status", _humanise(primary["status"]))
            )
            period_end = _period_end(primary)
            if primary.get("status") == "canceled" and primary.get("canceled_at"):
                facts.append(
                    fact(self.name, "canceled_on", "Canceled on", format_date(primary["canceled_at"]))
                )
            elif period_end is not None:
                label = "Ends on" if primary.get("cancel_at_period_end") else "Renews on"
                facts.append(fact(self.name, "renewal_date", label, format_date(period_end)))
        if live:
            currency = live[0].get("currency") or "usd"
            facts.append(
                fact(self.name, "mrr", "Monthly recurring revenue", format_minor_units(_mrr(live), currency))
            )
        known = dict.fromkeys([*plan_names.values(), *self._known_plans])
        if known:
            facts.append(fact(self.name, "known_plans", "Known plans", ", ".join(known)))
        return facts

    def _invoice_facts(self, invoices: Sequence[dict[str, Any]]) -> list[Fact]:
        issued = [invoice for invoice in invoices if invoice.get("status") not in ("draft", None)]
        facts: list[Fact] = []
        if issued:
            last = issued[0]
            currency = last.get("currency") or "usd"
            issued_at = (last.get("status_transitions") or {}).get("finalized_at") or last["created"]
            facts += [
                fact(
                    self.name,
                    "last_invoice_amount",
                    "Last invoice amount",
                    format_minor_units(last["amount_due"], currency),
                ),
                fact(self.name, "last_invoice_date", "Last invoice date", format_date(issued_at)),
                fact(self.name, "last_invoice_status", "Last invoice status", last["status"]),
            ]
            if last.get("number"):
                facts.append(fact(self.name, "last_invoice_number", "Last invoice number", last["number"]))
        unpaid = [invoice for invoice in invoices if invoice.get("status") == "open"]
        facts.append(fact(self.name, "open_invoices", "Open invoices", len(unpaid)))
        if unpaid:
            currency = unpaid[0].get("currency") or "usd"
            owed = sum(int(invoice.get("amount_remaining") or 0) for invoice in unpaid)
            facts.append(fact(self.name, "amount_due", "Amount due", format_minor_units(owed, currency)))
        return facts

    def _failed_payment_facts(self, charges: Sequence[dict[str, Any]]) -> list[Fact]:
        failed = [charge for charge in charges if charge.get("status") == "failed"]
        facts = [fact(self.name, "failed_payments", "Failed payments", len(failed))]
        if failed:
            last = failed[0]
            facts += [
                fact(
                    self.name,
                    "last_failed_payment_amount",
                    "Last failed payment",
                    format_minor_units(last["amount"], last.get("currency") or "usd"),
                ),
                fact(
                    self.name,
                    "last_failed_payment_date",
                    "Last failed payment date",
                    format_date(last["created"]),
                ),
            ]
            reason = last.get("failure_message") or (last.get("outcome") or {}).get("seller_message")
            if reason:
                facts.append(fact(self.name, "last_failed_payment_reason", "Decline reason", reason))
        return facts


@dataclass(frozen=True)
class _Connection:
    client: stripe.StripeClient
    http: stripe.HTTPXClient


async def _get(client: stripe.StripeClient, path: str, **params: Any) -> dict[str, Any]:
    # The typed service methods build a StripeObject of every record, which the facts would only turn back
    # into dicts; the raw request keeps the SDK's auth, retries and errors and hands over the JSON as it came.
    response = await client.raw_request_async("get", path, **params)
    if not isinstance(response.data, dict):
        raise UpstreamFailed("Stripe returned an unexpected JSON shape")
    return response.data


async def _list(client: stripe.StripeClient, path: str, **params: Any) -> list[dict[str, Any]]:
    return list((await _get(client, path, **params)).get("data") or [])


def _items(subscriptions: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for sub in subscriptions for item in (sub.get("items") or {}).get("data", [])]


def _price_ids(subscription: dict[str, Any]) -> list[str]:
    return [(item.get("price") or item.get("plan") or {}).get("id", "") for item in _items([subscription])]


def _period_end(subscription: dict[str, Any]) -> int | None:
    # Since API version 2025-03-31 the billing period lives on the items, not on the subscription.
    ends = [item["current_period_end"] for item in _items([subscription]) if item.get("current_period_end")]
    return max(ends) if ends else subscription.get("current_period_end")


def _mrr(subscriptions: Sequence[dict[str, Any]]) -> int:
    """Monthly recurring revenue in minor units, each price's amount normalised to one month."""
    total = Decimal(0)
    for item in _items(subscriptions):
        price = item.get("price") or item.get("plan") or {}
        amount = price.get("unit_amount", price.get("amount"))
        if not isinstance(amount, int):
            continue
        recurring = price.get("recurring") or {"interval": price.get("interval"), "interval_count": 1}
        interval = recurring.get("interval")
        if interval not in _MONTHS_PER_INTERVAL:
            continue
        per_interval = (
            Decimal(amount) * int(item.get("quantity") or 1) / int(recurring.get("interval_count") or 1)
        )
        total += per_interval / _MONTHS_PER_INTERVAL[interval]
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _humanise(status: str) -> str:
    return status.replace("_", " ")


def _translate(exc: stripe.StripeError) -> Exception:
    if isinstance(exc, stripe.APIConnectionError):
        if isinstance(exc.__cause__, httpx.TimeoutException):
            return UpstreamTimeout("Stripe did not answer in time")
        return UpstreamFailed("Stripe unreachable")
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return UpstreamFailed(f"Stripe rejected the API key (HTTP {exc.http_status})")
    if isinstance(exc, stripe.RateLimitError):
        return UpstreamFailed("Stripe rate limit reached (HTTP 429)")
    # Stripe's own messages can echo request parameters; the status and error type are enough here.
    kind = getattr(exc.error, "type", None) or type(exc).__name__
    return UpstreamFailed(f"Stripe returned HTTP {exc.http_status} ({kind})")
