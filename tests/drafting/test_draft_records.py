import json

from drafting.context.base import AccountContext
from drafting.draft_records import context_json
from drafting.knowledge import AGENT, Passage

HELP = Passage("bills", "Why your bill changed", "Bills", "Your bill includes every active line.")
PROCEDURE = Passage("internal-bills", "Steps", "Internal: Bills", "Open the billing console.", audience=AGENT)
OTHER_HELP = Passage("plans", "Plans", "Plans", "Plans renew monthly.")


def test_the_context_keeps_cited_passages_and_uncited_agent_guidance_apart():
    stored = json.loads(context_json(AccountContext("c"), [HELP, PROCEDURE, OTHER_HELP], [HELP.citation_id]))
    assert [p["id"] for p in stored["passages"]] == [HELP.citation_id]
    assert [(p["id"], p["title"]) for p in stored["guidance"]] == [(PROCEDURE.citation_id, "Internal: Bills")]
    assert stored["guidance"][0]["excerpt"] == "Open the billing console."
