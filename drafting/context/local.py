"""Demo context sources over the tau2-bench retail and telecom databases, shaped like CRM, billing and usage.

The files are read once into memory; lookups go by e-mail (case-insensitive) or by the dataset's own
customer id given as the requester's external id.
"""

from __future__ import annotations

import gzip
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from drafting.context.base import CustomerRef, Fact
from drafting.context.gather import fact, format_date, format_money, format_number

RETAIL_DB = Path("tau2_bench/retail/db.json.gz")
TELECOM_DB = Path("tau2_bench/telecom/db.toml")
_OPEN_BILL_STATUSES = frozenset({"issued", "overdue"})


@dataclass(frozen=True)
class RetailData:
    """Users and orders of the tau2-bench retail shop."""

    users: Mapping[str, Mapping[str, Any]]
    orders: Mapping[str, Mapping[str, Any]]
    user_id_by_email: Mapping[str, str]

    @classmethod
    def load(cls, data_dir: Path) -> RetailData:
        """Read ``tau2_bench/retail/db.json.gz`` under the shared data directory."""
        with gzip.open(data_dir / RETAIL_DB, "rt", encoding="utf-8") as handle:
            db = json.load(handle)
        users = db["users"]
        return cls(
            users=users,
            orders=db["orders"],
            user_id_by_email={user["email"].lower(): user_id for user_id, user in users.items()},
        )

    def user(self, customer: CustomerRef) -> Mapping[str, Any] | None:
        if customer.external_id and customer.external_id in self.users:
            return self.users[customer.external_id]
        user_id = self.user_id_by_email.get(customer.email.strip().lower())
        return self.users[user_id] if user_id else None


@dataclass(frozen=True)
class TelecomData:
    """Customers, lines, plans and bills of the tau2-bench telecom operator."""

    customers: Sequence[Mapping[str, Any]]
    lines: Mapping[str, Mapping[str, Any]]
    plans: Mapping[str, Mapping[str, Any]]
    bills: Mapping[str, Mapping[str, Any]]

    @classmethod
    def load(cls, data_dir: Path) -> TelecomData:
        """Read ``tau2_bench/telecom/db.toml`` under the shared data directory."""
        db = tomllib.loads((data_dir / TELECOM_DB).read_text(encoding="utf-8"))
        return cls(
            customers=db["customers"],
            lines={line["line_id"]: line for line in db["lines"]},
            plans={plan["plan_id"]: plan for plan in db["plans"]},
            bills={bill["bill_id"]: bill for bill in db["bills"]},
        )

    def customer(self, ref: CustomerRef) -> Mapping[str, Any] | None:
        email = ref.email.strip().lower()
        return next(
            (
                customer
                for customer in self.customers
                if customer["customer_id"] == ref.external_id or customer["email"].lower() == email
            ),
            None,
        )

    def primary_line(self, customer: Mapping[str, Any]) -> Mapping[str, Any] | None:
        lines = [self.lines[line_id] for line_id in customer["line_ids"] if line_id in self.lines]
        # The line carrying the account's contact number is the one the customer most likely writes about.
        return next((line for line in lines if line["phone_number"] == customer["phone_number"]), None) or (
            lines[0] if lines else None
        )


class RetailCustomerSource:
    """CRM-like profile of a retail shopper: name, e-mail, location, payment methods."""

    def __init__(self, data: RetailData, *, name: str = "crm") -> None:
        self.name = name
        self._data = data

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        user = self._data.user(customer)
        if user is None:
            return ()
        first, last = user["name"]["first_name"], user["name"]["last_name"]
        address = user.get("address") or {}
        facts = [
            fact(self.name, "name", "Name", f"{first} {last}"),
            fact(self.name, "first_name", "First name", first),
            fact(self.name, "email", "E-mail", user["email"]),
            fact(self.name, "customer_id", "Customer id", user["user_id"]),
        ]
        if address.get("city"):
            facts.append(
                fact(self.name, "location", "Location", f"{address['city']}, {address.get('state', '')}")
            )
        methods = [_payment_method(method) for method in user.get("payment_methods", {}).values()]
        if methods:
            facts.append(fact(self.name, "payment_methods", "Payment methods", "; ".join(methods)))
        return tuple(facts)


class RetailOrderSource:
    """Orders of a retail shopper: all order ids with status, and details of the latest one."""

    def __init__(self, data: RetailData, *, name: str = "orders") -> None:
        self.name = name
        self._data = data

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        user = self._data.user(customer)
        if user is None:
            return ()
        orders = [
            self._data.orders[order_id]
            for order_id in user.get("orders", [])
            if order_id in self._data.orders
        ]
        facts = [fact(self.name, "order_count", "Orders", len(orders))]
        if not orders:
            return tuple(facts)
        summary = ", ".join(f"{order['order_id']} ({order['status']})" for order in orders)
        facts.append(fact(self.name, "orders", "All orders", summary))
        # The dataset has no order dates; the user's list is in placement order, so the last is the latest.
        latest = orders[-1]
        facts += [
            fact(self.name, "order_id", "Latest order", latest["order_id"]),
            fact(self.name, "order_status", "Latest order status", latest["status"]),
            fact(
                self.name,
                "order_items",
                "Latest order items",
                ", ".join(item["name"] for item in latest["items"]),
            ),
        ]
        paid = sum(p["amount"] for p in latest["payment_history"] if p["transaction_type"] == "payment")
        refunded = sum(p["amount"] for p in latest["payment_history"] if p["transaction_type"] == "refund")
        facts.append(fact(self.name, "order_total", "Latest order total", format_money(paid)))
        if refunded:
            facts.append(
                fact(self.name, "order_refunded", "Refunded on latest order", format_money(refunded))
            )
        tracking = [
            tid for fulfilment in latest.get("fulfillments", []) for tid in fulfilment.get("tracking_id", [])
        ]
        if tracking:
            facts.append(fact(self.name, "order_tracking_id", "Tracking number", ", ".join(tracking)))
        return tuple(facts)


class TelecomCustomerSource:
    """CRM-like profile of a telecom subscriber: name, account status, contact number, customer since."""

    def __init__(self, data: TelecomData, *, name: str = "crm") -> None:
        self.name = name
        self._data = data

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        record = self._data.customer(customer)
        if record is None:
            return ()
        full_name = record["full_name"]
        return (
            fact(self.name, "name", "Name", full_name),
            fact(self.name, "first_name", "First name", full_name.split()[0]),
            fact(self.name, "email", "E-mail", record["email"]),
            fact(self.name, "customer_id", "Customer id", record["customer_id"]),
            fact(self.name, "account_status", "Account status", record["account_status"]),
            fact(self.name, "phone_number", "Contact number", record["phone_number"]),
            fact(self.name, "customer_since", "Customer since", format_date(record["created_at"])),
        )


class TelecomBillingSource:
    """Billing view of a telecom subscriber: plan, latest bill, open bills, payment method."""

    def __init__(self, data: TelecomData, *, name: str = "billing") -> None:
        self.name = name
        self._data = data

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        record = self._data.customer(customer)
        if record is None:
            return ()
        data = self._data
        facts = [
            fact(self.name, "subscription_status", "Account status", record["account_status"].lower()),
            fact(
                self.name,
                "known_plans",
                "Plans offered",
                ", ".join(plan["name"] for plan in data.plans.values()),
            ),
        ]
        primary = data.primary_line(record)
        if primary is not None:
            facts.append(fact(self.name, "plan", "Plan", data.plans[primary["plan_id"]]["name"]))
        lines = [data.lines[line_id] for line_id in record["line_ids"] if line_id in data.lines]
        plan_names = dict.fromkeys(data.plans[line["plan_id"]]["name"] for line in lines)
        if len(plan_names) > 1:
            facts.append(fact(self.name, "plans", "Plans on the account", ", ".join(plan_names)))
        bills = sorted(
            (data.bills[bill_id] for bill_id in record["bill_ids"] if bill_id in data.bills),
            key=lambda bill: bill["issue_date"],
        )
        issued = [bill for bill in bills if bill["status"].lower() != "draft"]
        if issued:
            last = issued[-1]
            facts += [
                fact(self.name, "last_invoice_amount", "Last bill amount", format_money(last["total_due"])),
                fact(self.name, "last_invoice_date", "Last bill date", format_date(last["issue_date"])),
                fact(self.name, "last_invoice_status", "Last bill status", last["status"].lower()),
                fact(self.name, "last_invoice_due_date", "Last bill due", format_date(last["due_date"])),
            ]
        unpaid = [bill for bill in bills if bill["status"].lower() in _OPEN_BILL_STATUSES]
        facts.append(fact(self.name, "open_invoices", "Unpaid bills", len(unpaid)))
        if unpaid:
            due = sum(bill["total_due"] for bill in unpaid)
            facts.append(fact(self.name, "amount_due", "Amount due", format_money(due)))
        methods = [
            f"{method['method_type']} ending {method['account_number_last_4']}"
            f" (expires {method['expiration_date']})"
            for method in record.get("payment_methods", [])
        ]
        if methods:
            facts.append(fact(self.name, "payment_methods", "Payment methods", "; ".join(methods)))
        return tuple(facts)


class TelecomUsageSource:
    """Usage view of a telecom subscriber: data used against the plan's allowance, per line."""

    def __init__(self, data: TelecomData, *, name: str = "usage") -> None:
        self.name = name
        self._data = data

    async def fetch(self, customer: CustomerRef) -> tuple[Fact, ...]:
        record = self._data.customer(customer)
        if record is None:
            return ()
        data = self._data
        primary = data.primary_line(record)
        if primary is None:
            return (fact(self.name, "usage_lines", "Lines", 0),)
        plan = data.plans[primary["plan_id"]]
        facts = [
            fact(self.name, "usage_line", "Line", primary["phone_number"]),
            fact(self.name, "usage_line_status", "Line status", primary["status"].lower()),
            fact(self.name, "usage_data_used", "Data used", f"{format_number(primary['data_used_gb'])} GB"),
            fact(
                self.name, "usage_data_limit", "Data allowance", f"{format_number(plan['data_limit_gb'])} GB"
            ),
            fact(self.name, "usage_roaming", "Roaming", "on" if primary["roaming_enabled"] else "off"),
        ]
        lines = [data.lines[line_id] for line_id in record["line_ids"] if line_id in data.lines]
        if len(lines) > 1:
            summary = "; ".join(_line_usage(line, data.plans[line["plan_id"]]) for line in lines)
            facts.append(fact(self.name, "usage_all_lines", "All lines", summary))
        return tuple(facts)


def retail_sources(data: RetailData) -> tuple[RetailCustomerSource, RetailOrderSource]:
    """The demo's retail sources: a CRM-like profile and orders."""
    return RetailCustomerSource(data), RetailOrderSource(data)


def telecom_sources(
    data: TelecomData,
) -> tuple[TelecomCustomerSource, TelecomBillingSource, TelecomUsageSource]:
    """The demo's telecom sources: a CRM-like profile, billing and usage."""
    return TelecomCustomerSource(data), TelecomBillingSource(data), TelecomUsageSource(data)


def _line_usage(line: Mapping[str, Any], plan: Mapping[str, Any]) -> str:
    used, allowance = format_number(line["data_used_gb"]), format_number(plan["data_limit_gb"])
    return f"{line['phone_number']} ({line['status'].lower()}): {used} of {allowance} GB"


def _payment_method(method: Mapping[str, Any]) -> str:
    kind = method.get("source", "")
    if kind == "credit_card":
        return f"{str(method.get('brand', 'card')).capitalize()} ending {method.get('last_four', '????')}"
    if kind == "gift_card":
        balance = method.get("balance")
        return "Gift card" + (f" (balance {format_money(balance)})" if balance is not None else "")
    if kind == "paypal":
        return "PayPal"
    return kind.replace("_", " ") or "Unknown method"
