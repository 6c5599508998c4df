from drafting import training
from drafting.knowledge import AGENT, CUSTOMER, Passage

TENANT = 31


def test_stored_passages_keep_their_audience(session, clock):
    passages = [
        Passage("refunds", "Timing", "Refunds", "Refunds take 5 to 7 business days."),
        Passage("internal-refunds", "Steps", "Internal: Refunds", "Use the refund tool.", audience=AGENT),
    ]
    assert training.import_knowledge(session, tenant_id=TENANT, passages=passages, clock=clock) == 2
    loaded = {p.doc_id: p.audience for p in training.load_knowledge(session, tenant_id=TENANT).passages}
    assert loaded == {"refunds": CUSTOMER, "internal-refunds": AGENT}
