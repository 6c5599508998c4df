"""A small Stripe-compatible HTTP API for tests: the real `stripe` SDK talks to it over loopback.

Faithful where our code depends on it: form-encoded bodies with bracket notation, Bearer auth, Stripe's
error bodies, `Idempotency-Key` replay (same key and same params replay the first response with
`Idempotent-Replayed: true`; the same key with other params is a 400 `idempotency_error`), list objects
(`object: "list"`, `data`, `has_more`, newest first, `limit`/`starting_after`) and search results
(`object: "search_result"`). Failures are injected with `fail_next`.

Public API (other domains' tests use it; keep it stable):
    with running_stripe() as (base_url, fake):
        fake.seed_customer(email=..., name=...),
        fake.seed_subscription(customer_id, nickname=..., amount=..., product_name=None),
        fake.seed_invoice(customer_id, amount_due=...), fake.seed_failed_payment(customer_id, amount=...),
        fake.fail_next(status=500 | "timeout", count=1, path=None, method=None), fake.heal(),
        fake.sign_webhook(payload, secret), fake.event(type, object), fake.processed(method, path)
"""

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import serve_in_thread

API_KEY_PREFIXES = ("sk_test_", "sk_live_", "rk_test_")
SEARCH_CLAUSE = re.compile(
    r"""^\s*(?P<field>[a-z_]+(?:\[['"][^'"]+['"]\])?)\s*:\s*['"](?P<value>[^'"]*)['"]\s*$"""
)


@dataclass
class Injected:
    status: int | str
    count: int
    path: str | None
    method: str | None = None


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    replayed: bool


@dataclass
class FakeStripe:
    """In-memory Stripe state; every object is a plain dict shaped like Stripe's JSON."""

    timeout_delay: float = 1.5
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoice_items: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    _idempotency: dict[tuple[str, str], tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    _injected: list[Injected] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _clock: Iterator[int] = field(default_factory=lambda: itertools.count(1_790_000_000, 60))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- test controls -------------------------------------------------------------------------------
    def fail_next(
        self, *, status: int | str = 500, count: int = 1, path: str | None = None, method: str | None = None
    ) -> None:
        """Fail the next `count` requests (optionally only those whose path starts with `path`, or by method).

        A numeric status answers with a Stripe `api_error` body before doing anything. "timeout" does the
        work and records its idempotent result, then holds the response past the client's timeout, as
        when a response is lost on the way back.
        """
        with self._lock:
            self._injected.append(Injected(status=status, count=count, path=path, method=method))

    def heal(self) -> None:
        """Drop every failure still waiting to be injected."""
        with self._lock:
            self._injected.clear()

    def processed(self, method: str, path_prefix: str) -> list[RecordedRequest]:
        """Requests that reached the handler (not replays, not injected failures)."""
        return [
            r
            for r in self.requests
            if r.method == method and r.path.startswith(path_prefix) and not r.replayed
        ]

    def sign_webhook(self, payload: str, secret: str, timestamp: int | None = None) -> str:
        """A `Stripe-Signature` header value for `payload`, as Stripe computes it."""
        moment = int(time.time()) if timestamp is None else timestamp
        digest = hmac.new(secret.encode(), f"{moment}.{payload}".encode(), hashlib.sha256).hexdigest()
        return f"t={moment},v1={digest}"

    def event(
        self, event_type: str, data_object: dict[str, Any], event_id: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": event_id or self._new_id("evt"),
            "object": "event",
            "api_version": "2024-06-20",
            "created": next(self._clock),
            "type": event_type,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": data_object},
        }

    # -- seeding -------------------------------------------------------------------------------------
    def seed_customer(
        self, *, email: str | None = None, name: str | None = None, metadata: dict[str, str] | None = None
    ) -> dict[str, Any]:
        with self._lock:
            return self._create_customer({"email": email, "name": name, "metadata": metadata or {}})

    def seed_subscription(
        self,
        customer_id: str,
        *,
        nickname: str | None,
        amount: int,
        currency: str = "usd",
        interval: str = "month",
        status: str = "active",
        quantity: int = 1,
        product_name: str | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            created = next(self._clock)
            product = {
                "id": self._new_id("prod"),
                "object": "product",
                "active": True,
                "created": created,
                "name": product_name or nickname or "Subscription",
                "metadata": {},
                "livemode": False,
            }
            self.products[product["id"]] = product
            price = {
                "id": self._new_id("price"),
                "object": "price",
                "active": True,
                "currency": currency,
                "nickname": nickname,
                "product": product["id"],
                "recurring": {"interval": interval, "interval_count": 1, "usage_type": "licensed"},
                "type": "recurring",
                "unit_amount": amount,
            }
            plan = {
                "id": price["id"],
                "object": "plan",
                "active": True,
                "amount": amount,
                "currency": currency,
                "interval": interval,
                "interval_count": 1,
                "nickname": nickname,
                "product": price["product"],
            }
            subscription_id = self._new_id("sub")
            period_end = created + 30 * 86400
            item = {
                "id": self._new_id("si"),
                "object": "subscription_item",
                "price": price,
                "plan": plan,
                "quantity": quantity,
                "subscription": subscription_id,
                "current_period_start": created,
                "current_period_end": period_end,
            }
            subscription = {
                "id": subscription_id,
                "object": "subscription",
                "customer": customer_id,
                "status": status,
                "currency": currency,
                "created": created,
                "start_date": created,
                "current_period_start": created,
                "current_period_end": period_end,
                "cancel_at_period_end": False,
                "canceled_at": created if status == "canceled" else None,
                "items": _list([item], f"/v1/subscription_items?subscription={subscription_id}"),
                "plan": plan,
                "quantity": quantity,
                "metadata": {},
                "livemode": False,
            }
            self.subscriptions[subscription_id] = subscription
            return subscription

    def seed_invoice(
        self,
        customer_id: str,
        *,
        amount_due: int,
        status: str = "paid",
        currency: str = "usd",
        number: str | None = None,
        description: str = "Subscription",
    ) -> dict[str, Any]:
        with self._lock:
            invoice = self._new_invoice(customer_id, currency, {}, "send_invoice")
            item = self._new_invoice_item(
                {
                    "customer": customer_id,
                    "amount": amount_due,
                    "currency": currency,
                    "description": description,
                }
            )
            self._attach(invoice, item)
            invoice["status"] = status
            invoice["number"] = number or f"FAKE-{len(self.invoices):04d}"
            if status in ("open", "paid"):
                invoice["status_transitions"]["finalized_at"] = invoice["created"]
            if status == "paid":
                self._mark_paid(invoice)
            return invoice

    def seed_failed_payment(
        self,
        customer_id: str,
        *,
        amount: int,
        currency: str = "usd",
        failure_code: str = "card_declined",
        failure_message: str = "Your card was declined.",
        decline_code: str = "insufficient_funds",
    ) -> dict[str, Any]:
        """A failed charge and its payment intent left in `requires_payment_method`; returns the charge."""
        with self._lock:
            created = next(self._clock)
            intent_id = self._new_id("pi")
            charge = {
                "id": self._new_id("ch"),
                "object": "charge",
                "amount": amount,
                "amount_captured": 0,
                "amount_refunded": 0,
                "currency": currency,
                "customer": customer_id,
                "created": created,
                "status": "failed",
                "paid": False,
                "captured": False,
                "refunded": False,
                "failure_code": failure_code,
                "failure_message": failure_message,
                "outcome": {
                    "type": "issuer_declined",
                    "network_status": "declined_by_network",
                    "reason": decline_code,
                    "seller_message": "The bank did not return any further details with this decline.",
                },
                "payment_intent": intent_id,
                "invoice": None,
                "livemode": False,
                "metadata": {},
            }
            self.charges[charge["id"]] = charge
            self.payment_intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": 0,
                "currency": currency,
                "customer": customer_id,
                "created": created,
                "status": "requires_payment_method",
                "latest_charge": charge["id"],
                "last_payment_error": {
                    "type": "card_error",
                    "code": failure_code,
                    "decline_code": decline_code,
                    "message": failure_message,
                    "charge": charge["id"],
                },
                "livemode": False,
                "metadata": {},
            }
            return charge

    def mark_invoice_paid(self, invoice_id: str) -> dict[str, Any]:
        with self._lock:
            invoice = self.invoices[invoice_id]
            self._mark_paid(invoice)
            return invoice

    # -- the HTTP app --------------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/v1/{path:path}", self._handle, methods=["GET", "POST", "DELETE"])])

    async def _handle(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip()
        if not auth.startswith("Bearer ") or not key.startswith(API_KEY_PREFIXES):
            return _error(401, "invalid_request_error", "You did not provide an API key.")
        path = "/v1/" + request.path_params["path"]
        body = (await request.body()).decode()
        raw = list(parse_qsl(request.url.query, keep_blank_values=True)) + list(
            parse_qsl(body, keep_blank_values=True)
        )
        params = _nest(raw)
        idempotency_key = request.headers.get("idempotency-key") if request.method == "POST" else None

        injected = self._take_injection(request.method, path)
        if isinstance(injected, int):
            return _error(injected, "api_error", "Something went wrong on Stripe's end (injected).")

        with self._lock:
            if idempotency_key is not None:
                fingerprint = json.dumps([request.method, path, params], sort_keys=True)
                stored = self._idempotency.get((key, idempotency_key))
                if stored is not None:
                    if stored[0] != fingerprint:
                        return _error(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters they were "
                            f"first used with. Try using a key other than '{idempotency_key}' if you meant to "
                            "execute a different request.",
                        )
                    self.requests.append(RecordedRequest(request.method, path, params, idempotency_key, True))
                    return JSONResponse(
                        stored[2], status_code=stored[1], headers={"Idempotent-Replayed": "true"}
                    )
            self.requests.append(RecordedRequest(request.method, path, params, idempotency_key, False))
            status, payload = self._dispatch(request.method, path, params)
            if idempotency_key is not None and status < 500:
                self._idempotency[(key, idempotency_key)] = (fingerprint, status, payload)

        if injected == "timeout":
            await asyncio.sleep(self.timeout_delay)
        headers = {"Request-Id": self._new_id("req")}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return JSONResponse(payload, status_code=status, headers=headers)

    def _take_injection(self, method: str, path: str) -> int | str | None:
        with self._lock:
            for injected in self._injected:
                wanted = (injected.path is None or path.startswith(injected.path)) and (
                    injected.method is None or injected.method == method
                )
                if injected.count > 0 and wanted:
                    injected.count -= 1
                    status = injected.status
                    self._injected = [i for i in self._injected if i.count > 0]
                    return status
        return None

    def _dispatch(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")[1:]
        resource, rest = parts[0], parts[1:]
        collections = {
            "customers": self.customers,
            "subscriptions": self.subscriptions,
            "invoices": self.invoices,
            "invoiceitems": self.invoice_items,
            "charges": self.charges,
            "payment_intents": self.payment_intents,
            "products": self.products,
        }
        if resource not in collections:
            return _error_body(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")
        objects = collections[resource]
        if rest == ["search"] and method == "GET":
            return self._search(objects, path, params)
        if not rest:
            if method == "GET":
                return 200, _page(_filter(objects.values(), resource, params), path, params)
            if method == "POST":
                return self._create(resource, params)
        object_id = rest[0]
        found = objects.get(object_id)
        if found is None:
            noun = {"invoiceitems": "invoiceitem", "payment_intents": "payment_intent"}.get(
                resource, resource[:-1]
            )
            return _error_body(
                404,
                "invalid_request_error",
                f"No such {noun}: '{object_id}'",
                code="resource_missing",
                param="id",
            )
        if len(rest) == 1 and method == "GET":
            return 200, found
        if resource == "invoices" and rest[1:] == ["finalize"] and method == "POST":
            return self._finalize(found)
        return _error_body(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path}).")

    def _create(self, resource: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if resource == "customers":
            return 200, self._create_customer(params)
        if resource == "invoices":
            customer = params.get("customer")
            if customer not in self.customers:
                return _error_body(
                    400, "invalid_request_error", f"No such customer: '{customer}'", param="customer"
                )
            invoice = self._new_invoice(
                customer,
                params.get("currency", "usd"),
                params.get("metadata") or {},
                params.get("collection_method", "charge_automatically"),
            )
            invoice["description"] = params.get("description")
            if params.get("days_until_due"):
                invoice["due_date"] = invoice["created"] + int(params["days_until_due"]) * 86400
            if params.get("pending_invoice_items_behavior") == "include":
                for item in self.invoice_items.values():
                    if item["customer"] == customer and item["invoice"] is None:
                        self._attach(invoice, item)
            return 200, invoice
        if resource == "invoiceitems":
            customer = params.get("customer")
            if customer not in self.customers:
                return _error_body(
                    400, "invalid_request_error", f"No such customer: '{customer}'", param="customer"
                )
            if "amount" not in params:
                return _error_body(
                    400, "invalid_request_error", "Missing required param: amount.", param="amount"
                )
            target = params.get("invoice")
            if target is not None:
                invoice = self.invoices.get(target)
                if invoice is None:
                    return _error_body(
                        400, "invalid_request_error", f"No such invoice: '{target}'", param="invoice"
                    )
                if invoice["status"] != "draft":
                    return _error_body(
                        400,
                        "invalid_request_error",
                        f"You can only add invoice items to draft invoices; invoice {target} is {invoice['status']}.",
                        code="invoice_not_editable",
                    )
            item = self._new_invoice_item(params)
            if target is not None:
                self._attach(self.invoices[target], item)
            return 200, item
        return _error_body(404, "invalid_request_error", f"Unrecognized request URL (POST: /v1/{resource}).")

    def _finalize(self, invoice: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if invoice["status"] != "draft":
            return _error_body(
                400,
                "invalid_request_error",
                "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
                code="invoice_unexpected_status",
            )
        invoice["status"] = "open"
        invoice["number"] = f"FAKE-{sum(1 for i in self.invoices.values() if i['number']) + 1:04d}"
        invoice["status_transitions"]["finalized_at"] = next(self._clock)
        if invoice["amount_due"] == 0:
            self._mark_paid(invoice)
        return 200, invoice

    def _search(
        self, objects: dict[str, dict[str, Any]], path: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        query = str(params.get("query", ""))
        clauses = []
        for clause in re.split(r"\s+AND\s+", query):
            match = SEARCH_CLAUSE.match(clause)
            if match is None:
                return _error_body(
                    400, "invalid_request_error", f"Invalid search query: {query}", param="query"
                )
            clauses.append((match["field"], match["value"]))

        def matches(obj: dict[str, Any]) -> bool:
            for name, value in clauses:
                if name.startswith("metadata["):
                    if (obj.get("metadata") or {}).get(name[10:-2]) != value:
                        return False
                elif str(obj.get(name) if obj.get(name) is not None else "").lower() != value.lower():
                    return False
            return True

        found = sorted((o for o in objects.values() if matches(o)), key=lambda o: o["created"], reverse=True)
        limit = int(params.get("limit", 10))
        return 200, {
            "object": "search_result",
            "data": found[:limit],
            "has_more": len(found) > limit,
            "next_page": None,
            "url": path,
            "total_count": len(found),
        }

    # -- object factories ----------------------------------------------------------------------------
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):08d}"

    def _create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        customer = {
            "id": self._new_id("cus"),
            "object": "customer",
            "email": params.get("email"),
            "name": params.get("name"),
            "description": params.get("description"),
            "metadata": params.get("metadata") or {},
            "created": next(self._clock),
            "currency": None,
            "balance": 0,
            "delinquent": False,
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return customer

    def _new_invoice(
        self, customer_id: str, currency: str, metadata: dict[str, Any], collection_method: str
    ) -> dict[str, Any]:
        created = next(self._clock)
        invoice_id = self._new_id("in")
        invoice = {
            "id": invoice_id,
            "object": "invoice",
            "customer": customer_id,
            "status": "draft",
            "currency": currency,
            "collection_method": collection_method,
            "auto_advance": False,
            "amount_due": 0,
            "amount_paid": 0,
            "amount_remaining": 0,
            "subtotal": 0,
            "total": 0,
            "number": None,
            "description": None,
            "metadata": metadata,
            "created": created,
            "period_start": created,
            "period_end": created,
            "due_date": None,
            "paid": False,
            "hosted_invoice_url": None,
            "status_transitions": {"finalized_at": None, "paid_at": None, "voided_at": None},
            "lines": _list([], f"/v1/invoices/{invoice_id}/lines"),
            "livemode": False,
        }
        self.invoices[invoice_id] = invoice
        return invoice

    def _new_invoice_item(self, params: dict[str, Any]) -> dict[str, Any]:
        item = {
            "id": self._new_id("ii"),
            "object": "invoiceitem",
            "customer": params["customer"],
            "amount": int(params["amount"]),
            "currency": params.get("currency", "usd"),
            "description": params.get("description"),
            "metadata": params.get("metadata") or {},
            "invoice": None,
            "quantity": 1,
            "date": next(self._clock),
            "livemode": False,
        }
        self.invoice_items[item["id"]] = item
        return item

    def _attach(self, invoice: dict[str, Any], item: dict[str, Any]) -> None:
        item["invoice"] = invoice["id"]
        invoice["lines"]["data"].append(
            {
                "id": self._new_id("il"),
                "object": "line_item",
                "amount": item["amount"],
                "currency": item["currency"],
                "description": item["description"],
                "metadata": item["metadata"],
                "quantity": 1,
                "invoice": invoice["id"],
                "invoice_item": item["id"],
            }
        )
        total = sum(line["amount"] for line in invoice["lines"]["data"])
        invoice.update(subtotal=total, total=total, amount_due=total, amount_remaining=total)

    def _mark_paid(self, invoice: dict[str, Any]) -> None:
        invoice.update(status="paid", paid=True, amount_paid=invoice["amount_due"], amount_remaining=0)
        invoice["status_transitions"]["paid_at"] = next(self._clock)


def _list(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "url": url}


def _filter(objects: Any, resource: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(objects)
    for name in ("customer", "email", "invoice"):
        if name in params:
            found = [o for o in found if o.get(name) == params[name]]
    status = params.get("status")
    if status is not None and status != "all":
        found = [o for o in found if o.get("status") == status]
    elif resource == "subscriptions" and status is None:
        found = [o for o in found if o.get("status") != "canceled"]
    return sorted(found, key=lambda o: (o.get("created") or o.get("date") or 0, o["id"]), reverse=True)


def _page(found: list[dict[str, Any]], path: str, params: dict[str, Any]) -> dict[str, Any]:
    after = params.get("starting_after")
    if after is not None:
        ids = [o["id"] for o in found]
        found = found[ids.index(after) + 1 :] if after in ids else []
    limit = min(int(params.get("limit", 10)), 100)
    return {"object": "list", "data": found[:limit], "has_more": len(found) > limit, "url": path}


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding: `metadata[k]=v`, `expand[]=x`, `lines[0][amount]=5` -> nested values."""
    result: dict[str, Any] = {}
    for raw_key, value in pairs:
        head = raw_key.split("[", 1)[0]
        names = [head, *re.findall(r"\[([^\]]*)\]", raw_key[len(head) :])]
        cursor: Any = result
        for position, name in enumerate(names[:-1]):
            following = names[position + 1]
            cursor = cursor.setdefault(name, [] if following == "" else {})
        if names[-1] == "":
            cursor.append(value)
        else:
            cursor[names[-1]] = value
    return result


def _error_body(
    status: int, error_type: str, message: str, *, code: str | None = None, param: str | None = None
) -> tuple[int, dict[str, Any]]:
    error: dict[str, Any] = {"type": error_type, "message": message}
    if code is not None:
        error["code"] = code
    if param is not None:
        error["param"] = param
    return status, {"error": error}


def _error(status: int, error_type: str, message: str) -> JSONResponse:
    headers = {"Stripe-Should-Retry": "true"} if status >= 500 else {}
    return JSONResponse(_error_body(status, error_type, message)[1], status_code=status, headers=headers)


@contextmanager
def running_stripe(timeout_delay: float = 1.5) -> Iterator[tuple[str, FakeStripe]]:
    """Start a fake Stripe on 127.0.0.1; yields (base_url, fake)."""
    fake = FakeStripe(timeout_delay=timeout_delay)
    with serve_in_thread(fake.app()) as base_url:
        yield base_url, fake
