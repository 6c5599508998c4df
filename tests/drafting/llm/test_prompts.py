import json

import pytest

from drafting.context.base import AccountContext, Fact
from drafting.knowledge import Passage
from drafting.llm.prompts import (
    MAX_PASSAGES,
    PROMPT_VERSION,
    build_messages,
    citable_ids,
    get_prompt,
    reply_payload,
    to_openai_messages,
)

CONTEXT = AccountContext(
    customer_ref="ann@example.com",
    facts=(
        Fact(key="plan", value="Pro", source="stripe", label="Plan"),
        Fact(key="known_plans", value="Starter, Pro", source="stripe", label="Known plans"),
    ),
)
PASSAGES = tuple(Passage(doc_id=f"doc{n}", section="Top", title=f"Doc {n}", text="Text.") for n in range(8))


def test_current_version_is_registered():
    assert get_prompt().version == PROMPT_VERSION == "reply-v2"
    assert get_prompt("reply-v1").version == "reply-v1"  # drafts made with it still say what produced them


def test_unknown_version_is_a_configuration_error():
    with pytest.raises(ValueError, match="reply-v0"):
        get_prompt("reply-v0")


def test_ticket_braces_are_passed_through_as_data_not_template_fields():
    messages = to_openai_messages(
        build_messages(get_prompt(), ticket_text="My {plan} is {wrong}", context=CONTEXT, brand="Acme")
    )

    assert "Acme" in str(messages[0]["content"])
    assert json.loads(str(messages[1]["content"]))["ticket"] == "My {plan} is {wrong}"


def test_plan_catalogue_stays_out_of_the_prompt_and_the_citable_ids():
    messages = to_openai_messages(build_messages(get_prompt(), ticket_text="Hi", context=CONTEXT))
    payload = json.loads(str(messages[1]["content"]))

    assert [fact["id"] for fact in payload["account_facts"]] == ["fact:stripe:plan"]
    assert "fact:stripe:known_plans" not in citable_ids(CONTEXT, ())


def test_only_the_first_passages_are_sent_and_citable():
    messages = to_openai_messages(
        build_messages(get_prompt(), ticket_text="Hi", context=CONTEXT, passages=PASSAGES)
    )
    payload = json.loads(str(messages[1]["content"]))

    assert len(payload["knowledge"]) == MAX_PASSAGES
    assert PASSAGES[-1].citation_id not in citable_ids(CONTEXT, PASSAGES)


def test_passages_travel_with_their_audience_and_the_prompt_says_agent_guidance_is_never_quoted():
    guidance = Passage(
        "internal-refunds", "Steps", "Internal: Refunds", "Use refund_tool_4821.", audience="agent"
    )
    help_text = Passage("refunds", "Timing", "Refunds", "Refunds take 5 to 7 business days.")
    payload = json.loads(
        reply_payload(
            ticket_text="refund?", context=AccountContext("c"), passages=[guidance, help_text], intent=None
        )
    )
    assert [(p["id"], p["audience"]) for p in payload["knowledge"]] == [
        (guidance.citation_id, "agent"),
        (help_text.citation_id, "customer"),
    ]

    def system(version: str) -> str:
        return str(get_prompt(version).template.format_messages(brand="Acme", payload="{}")[0].content)

    assert "never quote them" in system(PROMPT_VERSION)
    assert "never quote them" not in system("reply-v1")
