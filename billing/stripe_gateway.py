"""The Stripe adapter: the only module that imports the `stripe` SDK. Errors become ours here."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe

from billing.errors import DuplicateRejected, StripeRejected
from billing.gateway import (
    METADATA_INVOICE,
    METADATA_LINE,
    METADATA_TENANT,
    RemoteInvoice,
    VerifiedEvent,
    remote_invoice,
)
from plugin.core.errors import InvalidPayload, Unauthorized, UpstreamFailed, UpstreamTimeout

PAGE = 100


class StripeGateway:
    """BillingGateway over `stripe.StripeClient`; the SDK retries timeouts and 5xx with the same key."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        timeout: float = 20.0,
        max_network_retries: int = 3,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout),
        )

    def find_customer(self, *, tenant_id: int) -> str | None:
        with _translated():
            found = self._client.v1.customers.search(
                params={"query": f"metadata['{METADATA_TENANT}']:'{tenant_id}'"}
            )
        return found.data[0].id if found.data else None

    def create_customer(self, *, tenant_id: int, name: str, email: str | None, idempotency_key: str) -> str:
        params: Any = {"name": name, "metadata": {METADATA_TENANT: str(tenant_id)}}
        if email:
            params["email"] = email
        with _translated():
            return self._client.v1.customers.create(
                params=params, options={"idempotency_key": idempotency_key}
            ).id

    def find_invoice(self, *, our_invoice_id: int) -> RemoteInvoice | None:
        with _translated():
            found = self._client.v1.invoices.search(
                params={"query": f"metadata['{METADATA_INVOICE}']:'{our_invoice_id}'"}
            )
        return remote_invoice(found.data[0].to_dict()) if found.data else None

    def retrieve_invoice(self, stripe_invoice_id: str) -> RemoteInvoice:
        with _translated():
            return remote_invoice(self._client.v1.invoices.retrieve(stripe_invoice_id).to_dict())

    def create_invoice(
        self, *, customer_id: str, currency: str, our_invoice_id: int, number: str, idempotency_key: str
    ) -> RemoteInvoice:
        params: Any = {
            "customer": customer_id,
            "currency": currency.lower(),
            "collection_method": "send_invoice",
            "days_until_due": 30,
            "auto_advance": False,
            "pending_invoice_items_behavior": "exclude",
            "description": f"outcomedesk invoice {number}",
            "metadata": {METADATA_INVOICE: str(our_invoice_id), "outcomedesk_number": number},
        }
        with _translated():
            created = self._client.v1.invoices.create(
                params=params, options={"idempotency_key": idempotency_key}
            )
        return remote_invoice(created.to_dict())

    def add_line(
        self,
        *,
        customer_id: str,
        stripe_invoice_id: str,
        amount_cents: int,
        currency: str,
        description: str,
        our_line_id: int,
        idempotency_key: str,
    ) -> None:
        params: Any = {
            "customer": customer_id,
            "invoice": stripe_invoice_id,
            "amount": amount_cents,
            "currency": currency.lower(),
            "description": description,
            "metadata": {METADATA_LINE: str(our_line_id)},
        }
        with _translated():
            self._client.v1.invoice_items.create(params=params, options={"idempotency_key": idempotency_key})

    def finalize_invoice(self, *, stripe_invoice_id: str, idempotency_key: str) -> RemoteInvoice:
        with _translated(duplicate_codes={"invoice_unexpected_status"}):
            finalized = self._client.v1.invoices.finalize_invoice(
                stripe_invoice_id,
                params={"auto_advance": False},
                options={"idempotency_key": idempotency_key},
            )
        return remote_invoice(finalized.to_dict())

    def list_invoices(self, *, customer_id: str) -> list[RemoteInvoice]:
        found: list[RemoteInvoice] = []
        params: Any = {"customer": customer_id, "limit": PAGE}
        while True:
            with _translated():
                page = self._client.v1.invoices.list(params=params)
            found.extend(remote_invoice(item.to_dict()) for item in page.data)
            if not page.has_more or not page.data:
                return found
            params["starting_after"] = page.data[-1].id


def verify_webhook(payload: bytes, signature: str | None, secret: str, *, tolerance: int) -> VerifiedEvent:
    """Check a delivery's `Stripe-Signature` with the SDK and return the event it carries."""
    try:
        event = stripe.Webhook.construct_event(
            payload.decode("utf-8"), signature, secret, tolerance=tolerance
        )
    except stripe.SignatureVerificationError as error:
        raise Unauthorized("Stripe signature is missing, invalid or too old") from error
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidPayload("Stripe webhook body is not a JSON event") from error
    data = event.to_dict()
    return VerifiedEvent(id=data["id"], type=data["type"], data_object=data["data"]["object"])


@contextmanager
def _translated(duplicate_codes: set[str] | None = None) -> Iterator[None]:
    try:
        yield
    except stripe.IdempotencyError as error:
        raise DuplicateRejected(f"Stripe already handled this request: {error.user_message}") from error
    except stripe.InvalidRequestError as error:
        if duplicate_codes and error.code in duplicate_codes:
            raise DuplicateRejected(f"Stripe says it is already done: {error.user_message}") from error
        raise StripeRejected(
            f"Stripe rejected the request: {error.user_message}", extra={"code": error.code}
        ) from error
    except stripe.AuthenticationError as error:
        raise StripeRejected("Stripe rejected our API key") from error
    except stripe.APIConnectionError as error:
        raise UpstreamTimeout("Stripe did not answer in time (after retries)") from error
    except stripe.StripeError as error:
        status = getattr(error, "http_status", None)
        raise UpstreamFailed(f"Stripe failed with status {status} (after retries)") from error
