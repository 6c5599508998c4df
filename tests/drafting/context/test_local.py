import asyncio

import pytest

from drafting.context.base import AccountContext, CustomerRef
from drafting.context.gather import gather_context
from drafting.context.local import RetailData, TelecomData, retail_sources, telecom_sources
from plugin.core.config import Settings

DATA_DIR = Settings().data_dir


@pytest.fixture(scope="module")
def retail() -> RetailData:
    return RetailData.load(DATA_DIR)


@pytest.fixture(scope="module")
def telecom() -> TelecomData:
    return TelecomData.load(DATA_DIR)


def values(context: AccountContext) -> dict[str, str]:
    return {f"{fact.source}.{fact.key}": fact.value for fact in context.facts}


def test_retail_shopper_found_by_email_has_profile_and_latest_order(retail):
    context = asyncio.run(
        gather_context(CustomerRef(email="Noah.Brown7922@example.com"), retail_sources(retail))
    )
    facts = values(context)

    assert facts["crm.name"] == "Noah Brown"
    assert facts["crm.payment_methods"] == "PayPal; Mastercard ending 9212"
    assert facts["orders.order_id"] == "#W7678072"
    assert facts["orders.order_status"] == "delivered"
    assert facts["orders.orders"] == "#W7678072 (delivered)"
    assert facts["orders.order_total"] == "$514.48"
    assert not context.partial


def test_retail_shopper_found_by_user_id(retail):
    customer = CustomerRef(email="someone-else@example.com", external_id="noah_brown_6181")

    context = asyncio.run(gather_context(customer, retail_sources(retail)))

    assert values(context)["crm.email"] == "noah.brown7922@example.com"


def test_retail_cancelled_latest_order_shows_its_refund(retail):
    customer = CustomerRef(email="", external_id="isabella_sanchez_2068")
    refunded = sum(
        p["amount"]
        for p in retail.orders["#W4277243"]["payment_history"]
        if p["transaction_type"] == "refund"
    )

    context = asyncio.run(gather_context(customer, retail_sources(retail)))
    facts = values(context)

    assert facts["orders.order_count"] == "3"
    assert facts["orders.order_status"] == "cancelled"
    assert facts["orders.order_refunded"] == f"${refunded:,.2f}"


def test_telecom_subscriber_has_plan_bills_and_usage(telecom):
    context = asyncio.run(
        gather_context(CustomerRef(email="john.smith@example.com"), telecom_sources(telecom))
    )
    facts = values(context)

    assert facts["crm.name"] == "John Smith"
    assert facts["crm.account_status"] == "Active"
    assert facts["billing.plan"] == "Premium Plan"
    assert facts["billing.plans"] == "Basic Plan, Premium Plan"
    assert facts["billing.last_invoice_amount"] == "$150.00"
    assert facts["billing.last_invoice_date"] == "2025-02-05"
    assert facts["billing.open_invoices"] == "1"
    assert "Unlimited Plus" in facts["billing.known_plans"]
    assert facts["usage.usage_data_used"] == "8.7 GB"
    assert facts["usage.usage_data_limit"] == "15 GB"
    assert facts["usage.usage_all_lines"].startswith("555-123-2001 (active): 3.2 of 5 GB")


def test_telecom_overdue_bill_is_the_amount_due(telecom):
    context = asyncio.run(
        gather_context(CustomerRef(email="", external_id="C1002"), telecom_sources(telecom))
    )
    facts = values(context)

    assert facts["billing.last_invoice_status"] == "overdue"
    assert facts["billing.amount_due"] == "$425.00"
    assert facts["billing.plan"] == "Unlimited Plus"


def test_telecom_subscriber_without_lines_has_no_usage_figures(telecom):
    context = asyncio.run(gather_context(CustomerRef(email="emma.w@example.com"), telecom_sources(telecom)))
    facts = values(context)

    assert facts["usage.usage_lines"] == "0"
    assert "billing.plan" not in facts


def test_unknown_customer_gives_an_empty_but_complete_context(telecom, retail):
    sources = [*telecom_sources(telecom), *retail_sources(retail)]

    context = asyncio.run(gather_context(CustomerRef(email="nobody@example.com"), sources))

    assert context.facts == ()
    assert not context.partial
