import re

from drafting.context.base import AccountContext, Fact
from drafting.embedded import compose_reply
from drafting.grounding import check_grounding
from drafting.knowledge import KnowledgeBase, Passage, split_markdown

KB_TEXT = """# Billing help

## Failed payments

When a card payment fails we retry it three times over seven days.
You can update your card in the billing settings to avoid a failed payment.
Use retry_payment_4821 to retry manually.

## Shipping

Orders ship within two business days and tracking is emailed once the order ships.
"""
KB = KnowledgeBase(split_markdown("billing-help", KB_TEXT))

CONTEXT = AccountContext(
    customer_ref="sam@example.com",
    facts=(
        Fact("name", "Sam Lee", "crm", "Name"),
        Fact("email", "sam@example.com", "crm", "Email"),
        Fact("plan", "Pro", "stripe", "Plan"),
        Fact("last_invoice_amount", "$49.00", "stripe", "Last invoice amount"),
        Fact("last_invoice_date", "2024-03-03", "stripe", "Last invoice date"),
        Fact("failed_payments", "1", "stripe", "Failed payments"),
        Fact("order_id", "#W2611340", "orders", "Order"),
        Fact("order_status", "processed", "orders", "Order status"),
    ),
)


def draft(ticket: str, intent: str | None = None, context: AccountContext = CONTEXT):
    return compose_reply(ticket, intent, KB.search(ticket, k=3), context)


def test_every_sentence_cites_a_source() -> None:
    reply = draft("My card payment failed, what happens now?", "payment_failed")
    assert all(sentence.source_ids for sentence in reply.sentences)


def test_greeting_uses_first_name_and_cites_it() -> None:
    greeting = draft("My card payment failed").sentences[0]
    assert greeting.text.startswith("Hi Sam,")
    assert greeting.source_ids == ("template:greeting", "fact:crm:name")


def test_greeting_without_name_cites_only_the_template() -> None:
    greeting = draft("My card payment failed", context=AccountContext("x@y.com")).sentences[0]
    assert greeting.source_ids == ("template:greeting",)


def test_billing_intent_brings_plan_invoice_and_failed_payments() -> None:
    reply = draft("My card payment failed, what happens now?", "payment_failed")
    assert "Pro plan" in reply.text
    assert "$49.00" in reply.text and "2024-03-03" in reply.text
    assert "1 failed payment" in reply.text
    assert {"fact:stripe:plan", "fact:stripe:failed_payments"} <= set(reply.citations)
    assert "#W2611340" not in reply.text


def test_order_intent_brings_order_status_only() -> None:
    reply = draft("Where is my order?", "order_status")
    assert "Order #W2611340 is currently processed." in reply.text
    assert "$49.00" not in reply.text


def test_kb_sentences_overlap_the_ticket_and_cite_their_passage() -> None:
    reply = draft("How often do you retry a failed card payment?", "payment_failed")
    kb_sentences = [s for s in reply.sentences if any(i.startswith("kb:") for i in s.source_ids)]
    assert "When a card payment fails we retry it three times over seven days." in [
        s.text for s in kb_sentences
    ]
    assert all(s.source_ids == ("kb:billing-help#billing-help-failed-payments",) for s in kb_sentences)


def test_agent_only_tool_names_never_reach_the_reply() -> None:
    reply = draft("How do I retry a failed payment manually?", "payment_failed")
    assert "retry_payment_4821" not in reply.text


def test_other_customers_data_in_the_ticket_is_never_echoed() -> None:
    ticket = "What's the order status and invoice for jane@x.com, order #W9999999, phone 555-987-6543?"
    reply = draft(ticket, "order_status")
    for leaked in ("jane@x.com", "#W9999999", "9999999", "555-987-6543"):
        assert leaked not in reply.text
    passages = KB.search(ticket, k=3)
    assert check_grounding(reply.text, CONTEXT, passages).grounded


def test_reply_only_states_values_present_in_the_context() -> None:
    context = AccountContext("sam@example.com", (Fact("plan", "Basic", "stripe", "Plan"),))
    reply = draft("Why was my payment charged $99 on 2024-05-01?", "billing", context)
    assert "$99" not in reply.text and "2024-05-01" not in reply.text
    assert "Basic plan" in reply.text
    assert "invoice" not in reply.text.lower()


def test_composed_reply_passes_the_grounding_check() -> None:
    ticket = "My card payment failed and tracking for my order never arrived"
    passages = KB.search(ticket, k=3)
    reply = compose_reply(ticket, None, passages, CONTEXT)
    assert check_grounding(reply.text, CONTEXT, passages).grounded


def test_nothing_to_say_falls_back_to_an_acknowledgement() -> None:
    reply = compose_reply("zebra xylophone", None, [], AccountContext("x@y.com"))
    assert [s.source_ids for s in reply.sentences] == [
        ("template:greeting",),
        ("template:fallback",),
        ("template:closing",),
    ]
    assert reply.citations == ()


def test_drafting_is_deterministic() -> None:
    ticket = "My card payment failed, what happens now?"
    assert draft(ticket, "payment_failed") == draft(ticket, "payment_failed")


def test_zero_failed_payments_reads_naturally() -> None:
    context = AccountContext("a@b.com", (Fact("failed_payments", "0", "stripe", "Failed payments"),))
    reply = compose_reply("payment question", "billing", [], context)
    assert "We do not see any failed payments on your account." in reply.text


def test_citations_are_unique_and_exclude_templates() -> None:
    reply = draft("My card payment failed, what happens now?", "payment_failed")
    assert len(reply.citations) == len(set(reply.citations))
    assert not any(re.match(r"template:", c) for c in reply.citations)


def test_passage_markdown_markers_are_stripped() -> None:
    passage = Passage("d", "s", "t", "- **Refunds** are sent to the original card within five days.")
    reply = compose_reply("when are refunds sent to my card", None, [passage], AccountContext("x@y.com"))
    assert reply.sentences[1].text == "Refunds are sent to the original card within five days."


def test_agent_guidance_is_never_quoted_even_when_it_matches_best():
    guidance = Passage(
        "internal-failed-payments",
        "Procedure",
        "Internal: Failed payments",
        "Check whether the failed payment was retried three times before you call the card issuer.",
        audience="agent",
    )
    help_text = KB.search("my card payment failed", k=1)[0]
    reply = compose_reply("my card payment failed, was it retried", None, [guidance, help_text], CONTEXT)
    cited = {source for sentence in reply.sentences for source in sentence.source_ids}
    assert guidance.citation_id not in cited and "card issuer" not in reply.text
    assert help_text.citation_id in cited


def test_demo_replies_quote_only_customer_facing_passages():
    import csv

    from plugin.demo import knowledge_passages
    from tests.data import DATA_DIR

    passages = knowledge_passages(DATA_DIR)
    kb = KnowledgeBase(passages)
    agent_only = {p.citation_id for p in passages if not p.for_customers}
    assert len(agent_only) > 100
    with open(DATA_DIR / "banking77" / "train.csv", encoding="utf-8") as handle:
        tickets = [row["text"] for row in csv.DictReader(handle)][::50]
    quoted = {
        source
        for ticket in tickets
        for sentence in compose_reply(ticket, None, kb.search(ticket, k=3), AccountContext("c")).sentences
        for source in sentence.source_ids
    }
    assert any(source.startswith("kb:") for source in quoted)
    assert not quoted & agent_only
