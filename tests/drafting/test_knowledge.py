import gzip
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from drafting.knowledge import (
    AGENT,
    CUSTOMER,
    K1,
    B,
    KnowledgeBase,
    Passage,
    load_abcd_guidelines,
    load_jsonl_documents,
    load_markdown_file,
    split_markdown,
    tokenize,
)
from tests.data import DATA_DIR

DATA = DATA_DIR
BANKING_DOCS = DATA / "tau2_bench/banking_knowledge/documents.jsonl.gz"

POLICY = """# Retail agent policy

Authenticate the user first.

## Cancel pending order

An order can only be cancelled if its status is pending.

## Return delivered order

### Refunds

Refunds go back to the original payment method within 5 to 7 business days.
"""


def reference_bm25(corpus: Sequence[Sequence[str]], query: Sequence[str]) -> list[float]:
    n_docs = len(corpus)
    average_length = sum(len(doc) for doc in corpus) / n_docs
    document_frequency: Counter[str] = Counter(term for doc in corpus for term in set(doc))
    scores = []
    for doc in corpus:
        counts = Counter(doc)
        score = 0.0
        for term in query:
            if term in counts:
                n = document_frequency[term]
                idf = math.log1p((n_docs - n + 0.5) / (n + 0.5))
                tf = counts[term]
                score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * len(doc) / average_length))
        scores.append(score)
    return scores


def test_markdown_splits_into_heading_path_sections() -> None:
    passages = split_markdown("retail-policy", POLICY)
    assert [passage.section for passage in passages] == [
        "Retail agent policy",
        "Retail agent policy > Cancel pending order",
        "Retail agent policy > Return delivered order > Refunds",
    ]
    assert all(passage.title == "Retail agent policy" for passage in passages)


def test_citation_id_uses_doc_id_and_section_slug() -> None:
    passage = split_markdown("retail-policy", POLICY)[1]
    assert passage.citation_id == "kb:retail-policy#retail-agent-policy-cancel-pending-order"


def test_repeated_heading_gets_a_distinct_citation_id() -> None:
    passages = split_markdown("doc", "## Steps\none two three\n## Steps\nfour five six\n")
    assert len({passage.citation_id for passage in passages}) == 2


def test_search_finds_the_section_that_answers() -> None:
    kb = KnowledgeBase(split_markdown("retail-policy", POLICY))
    best = kb.search("when will my refund reach my card?", k=1)[0]
    assert best.section.endswith("Refunds")
    assert best.score > 0


def test_search_without_matching_terms_returns_nothing() -> None:
    kb = KnowledgeBase(split_markdown("retail-policy", POLICY))
    assert kb.search("zebra xylophone", k=3) == []


def test_sparse_scores_match_plain_bm25() -> None:
    passages = split_markdown("retail-policy", POLICY)
    kb = KnowledgeBase(passages)
    corpus = [tokenize(f"{p.title} {p.section} {p.text}") for p in passages]
    query = "cancel a pending order refund"
    assert kb.scores(query).tolist() == pytest.approx(reference_bm25(corpus, tokenize(query)))


def test_passage_lookup_by_citation_id() -> None:
    kb = KnowledgeBase(split_markdown("retail-policy", POLICY))
    passage = kb.passages[2]
    assert kb.passage(passage.citation_id) == passage


def test_jsonl_documents_are_split_by_heading(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl.gz"
    row = {"id": "doc_1", "title": "Fees", "content": "## Wire fee\nA wire costs $25.\n## ATM\nFree."}
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(row) + "\n")
    passages = load_jsonl_documents(path)
    assert [(p.doc_id, p.section, p.title) for p in passages] == [
        ("doc_1", "Wire fee", "Fees"),
        ("doc_1", "ATM", "Fees"),
    ]


def test_bad_jsonl_line_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": "a", "content": "x"}\n{"title": "no id"}\n')
    with pytest.raises(ValueError, match=":2:"):
        load_jsonl_documents(path)


def test_markdown_file_doc_id_defaults_to_stem(tmp_path: Path) -> None:
    path = tmp_path / "policy.md"
    path.write_text(POLICY)
    assert load_markdown_file(path)[0].doc_id == "policy"


def test_abcd_guidelines_give_one_section_per_subflow(tmp_path: Path) -> None:
    guidelines = {
        "Order Issue": {
            "description": "order status",
            "subflows": {
                "Status Service Added": {
                    "instructions": "Check the service status.",
                    "actions": [{"text": "Ask for the order id.", "subtext": ["Order ID"]}],
                }
            },
        }
    }
    (tmp_path / "g.json").write_text(json.dumps(guidelines))
    (tmp_path / "kb.json").write_text(json.dumps({"status_service_added": ["pull-up-account"]}))
    (passage,) = load_abcd_guidelines(tmp_path / "g.json", tmp_path / "kb.json")
    assert passage.citation_id == "kb:abcd-order-issue#status-service-added"
    assert "Required actions: pull-up-account." in passage.text


def test_empty_knowledge_base_returns_nothing() -> None:
    assert KnowledgeBase([]).search("anything") == []


def test_equal_scores_keep_import_order() -> None:
    passages = [Passage(f"d{i}", "", "t", "same words here") for i in range(5)]
    assert [p.doc_id for p in KnowledgeBase(passages).search("words", k=3)] == ["d0", "d1", "d2"]


def test_banking_kb_imports_every_document_and_retrieves_a_named_one() -> None:
    kb = KnowledgeBase(load_jsonl_documents(BANKING_DOCS))
    assert len({p.doc_id for p in kb.passages}) == 698
    hits = kb.search("How do I open a personal savings account?", k=5)
    assert hits[0].title == "Internal: Opening Personal Savings Accounts"


def test_tau2_policies_and_abcd_import() -> None:
    retail = load_markdown_file(DATA / "tau2_bench/retail/policy.md", "retail-policy")
    telecom = load_markdown_file(DATA / "tau2_bench/telecom/main_policy.md", "telecom-policy")
    abcd = load_abcd_guidelines(DATA / "abcd/guidelines.json", DATA / "abcd/kb.json")
    kb = KnowledgeBase([*retail, *telecom, *abcd])
    assert kb.search("return a delivered order", k=1)[0].doc_id == "retail-policy"
    assert len(abcd) >= 50


def test_internal_documents_and_agent_guidelines_are_agent_guidance(tmp_path: Path) -> None:
    banking = load_jsonl_documents(BANKING_DOCS)
    internal = {p.doc_id for p in banking if p.title.startswith("Internal:")}
    assert internal and all(p.audience == AGENT for p in banking if p.doc_id in internal)
    assert all(p.audience == CUSTOMER for p in banking if p.doc_id not in internal)

    rows = [
        {"id": "a", "title": "Escalations", "content": "Page the on-call lead.", "audience": "internal"},
        {"id": "b", "title": "Shipping", "content": "Orders ship in two days.", "audience": "customer"},
        {"id": "c", "title": "Returns", "content": "Returns are free."},
    ]
    path = tmp_path / "kb.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows))
    assert [p.audience for p in load_jsonl_documents(path)] == [AGENT, CUSTOMER, CUSTOMER]
    assert [p.audience for p in load_jsonl_documents(path, audience=AGENT)] == [AGENT, CUSTOMER, AGENT]

    policy = tmp_path / "policy.md"
    policy.write_text(POLICY)
    assert {p.audience for p in load_markdown_file(policy, audience=AGENT)} == {AGENT}
    abcd = load_abcd_guidelines(DATA / "abcd/guidelines.json", DATA / "abcd/kb.json")
    assert {p.audience for p in abcd} == {AGENT}
