import pytest

from drafting.context.base import AccountContext, Fact
from drafting.grounding import check_grounding
from drafting.knowledge import Passage

CONTEXT = AccountContext(
    customer_ref="sam@example.com",
    facts=(
        Fact("email", "sam@example.com", "crm", "Email"),
        Fact("phone", "555-123-2002", "crm", "Phone"),
        Fact("plan", "Pro", "stripe", "Plan"),
        Fact("known_plans", "Basic, Pro, Enterprise", "stripe", "Plans"),
        Fact("last_invoice_amount", "$12.50", "stripe", "Last invoice amount"),
        Fact("last_invoice_date", "2024-03-03", "stripe", "Last invoice date"),
        Fact("order_id", "#W2611340", "orders", "Order"),
    ),
)
FEES = Passage("doc_fees", "Wire fee", "Fees", "An outgoing wire costs 25.00 USD and arrives within 2 days.")


@pytest.mark.parametrize(
    "reply",
    [
        "Your last invoice was for $12.50.",
        "Your last invoice was for 12.5 USD.",
        "Your last invoice was for $12.50 USD, issued on March 3, 2024.",
        "It was issued on 3 March 2024.",
        "It was issued on 03/03/2024.",
        "A wire costs $25.",
        "Order #W2611340 is on its way.",
        "Order W2611340 is on its way.",
        "We will write to sam@example.com or call +1 (555) 123-2002.",
        "You are on the Pro plan.",
        "Thanks for reaching out, we are looking into it.",
    ],
)
def test_reply_with_sourced_facts_is_grounded(reply: str) -> None:
    assert check_grounding(reply, CONTEXT, [FEES]).grounded


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        ("Your last invoice was for $14.99.", "$14.99"),
        ("We refunded €30 to your card.", "€30"),
        ("Your invoice of 2024-04-01 is overdue.", "2024-04-01"),
        ("It was issued on April 1, 2024.", "April 1, 2024"),
        ("Order #W9999999 has shipped.", "#W9999999"),
        ("We emailed jane@x.com.", "jane@x.com"),
        ("Call us back from 555-987-6543.", "555-987-6543"),
        ("You are on the Enterprise plan.", "Enterprise"),
    ],
)
def test_unsourced_fact_is_reported(reply: str, fragment: str) -> None:
    result = check_grounding(reply, CONTEXT, [FEES])
    assert not result.grounded
    assert fragment in result.ungrounded


def test_amount_only_in_uncited_passage_is_ungrounded() -> None:
    assert not check_grounding("A wire costs $25.", CONTEXT, []).grounded


def test_plan_name_grounded_by_a_cited_passage() -> None:
    passage = Passage("doc_plans", "", "Plans", "The Enterprise plan includes SSO.")
    assert check_grounding("The Enterprise plan includes SSO.", CONTEXT, [passage]).grounded


def test_plan_names_from_argument_are_checked() -> None:
    context = AccountContext("a@b.com", (Fact("plan", "Basic", "stripe", "Plan"),))
    result = check_grounding("Upgrade to Premium today.", context, [], known_plans=["Basic", "Premium"])
    assert result.ungrounded == ("Premium",)


def test_thousands_separator_matches_plain_amount() -> None:
    context = AccountContext("a@b.com", (Fact("last_invoice_amount", "1250.00", "stripe", "Amount"),))
    assert check_grounding("Your invoice was $1,250.", context, []).grounded
