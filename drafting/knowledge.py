"""Per-tenant knowledge base: Markdown, JSONL and ABCD guideline import, BM25 retrieval over sections.

Scoring is BM25 (Okapi, k1=1.5, b=0.75, the rank-bm25 defaults) kept as a precomputed term-by-passage
sparse matrix, so a query costs one row slice and one sparse-vector product instead of a Python loop
over every passage as in ``rank_bm25.BM25Okapi.get_scores``. The idf is the non-negative Lucene form
``log(1 + (N - n + 0.5) / (n + 0.5))``: terms present in most passages still count a little rather
than going negative, which matters for small tenant KBs.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import sparse

K1 = 1.5
B = 0.75
CUSTOMER = "customer"
AGENT = "agent"
"""Audiences: help-center text may be quoted to customers; agent guidance (internal procedures, agent
policies and guidelines) informs the agent and the drafter but is never quoted in a reply."""
_AGENT_MARKERS = frozenset({"agent", "internal"})

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_TOKEN = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


@dataclass(frozen=True)
class Passage:
    """One retrievable section of a document; ``score`` is 0.0 until returned by a search."""

    doc_id: str
    section: str
    title: str
    text: str
    score: float = 0.0
    audience: str = CUSTOMER

    @property
    def for_customers(self) -> bool:
        return self.audience == CUSTOMER

    @property
    def citation_id(self) -> str:
        """Stable citation id, ``kb:<doc_id>#<section-slug>``."""
        return f"kb:{self.doc_id}#{slugify(self.section) or 'top'}"


def slugify(text: str) -> str:
    """Lower-case, hyphen-separated ASCII slug of a heading path."""
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    # A few suffix rules are enough to make "refunds"/"refunded"/"refunding" meet; a real stemmer would
    # add a dependency for little retrieval gain on short support texts.
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            if suffix == "s" and word.endswith("ss"):
                return word
            return word[: -len(suffix)]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop-word-free, lightly stemmed tokens; shared by indexing, queries and the drafter."""
    return [_stem(token) for token in _TOKEN.findall(text.lower()) if token not in _STOPWORDS]


def split_markdown(
    doc_id: str, text: str, title: str | None = None, audience: str = CUSTOMER
) -> tuple[Passage, ...]:
    """Split Markdown into one passage per heading; the section is the heading path joined by " > "."""
    passages: list[Passage] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False
    doc_title = title

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            section = " > ".join(heading for _, heading in path)
            passages.append(Passage(doc_id, section, doc_title or doc_id, body, audience=audience))
        lines.clear()

    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match is None:
            lines.append(line)
            continue
        flush()
        level, heading = len(match.group(1)), match.group(2).strip()
        if doc_title is None and level == 1:
            doc_title = heading
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading))
    flush()
    return _unique_sections(passages)


def _unique_sections(passages: list[Passage]) -> tuple[Passage, ...]:
    # Repeated headings ("Eligibility Requirements" twice in one banking doc) would otherwise share a
    # citation id and make citations ambiguous.
    seen: Counter[str] = Counter()
    unique: list[Passage] = []
    for passage in passages:
        seen[passage.citation_id] += 1
        count = seen[passage.citation_id]
        unique.append(passage if count == 1 else replace(passage, section=f"{passage.section} ({count})"))
    return tuple(unique)


def _read_text(path: Path) -> str:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return handle.read()
    return path.read_text(encoding="utf-8")


def load_markdown_file(
    path: str | Path, doc_id: str | None = None, audience: str = CUSTOMER
) -> tuple[Passage, ...]:
    """Passages of one Markdown file (e.g. a tau2 policy.md); doc id defaults to the file stem."""
    source = Path(path)
    return split_markdown(doc_id or source.stem, _read_text(source), audience=audience)


def load_jsonl_documents(path: str | Path, audience: str = CUSTOMER) -> tuple[Passage, ...]:
    """Passages of a JSONL file of ``{"id", "title", "content"}`` documents (plain or gzipped).

    A document is agent guidance when its row says ``"audience": "agent"`` (or ``"internal"``) or its title
    starts with "Internal:" (the tau2-bench convention); otherwise it has the file's ``audience``.
    """
    passages: list[Passage] = []
    for line_number, line in enumerate(_read_text(Path(path)).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            doc_id, content = str(row["id"]), str(row["content"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{line_number}: not a document line ({exc})") from exc
        title = str(row.get("title") or doc_id)
        passages.extend(
            split_markdown(doc_id, content, title=title, audience=_row_audience(row, title, audience))
        )
    return tuple(passages)


def _row_audience(row: dict[str, object], title: str, default: str) -> str:
    marked = str(row.get("audience") or "").strip().lower()
    if marked in _AGENT_MARKERS or title.lower().startswith("internal:"):
        return AGENT
    if marked == CUSTOMER:
        return CUSTOMER
    return default


def load_abcd_guidelines(
    guidelines_path: str | Path, kb_path: str | Path | None = None
) -> tuple[Passage, ...]:
    """Passages of the ABCD agent guidelines (agent guidance): one document per flow, one section per subflow."""
    guidelines = json.loads(Path(guidelines_path).read_text(encoding="utf-8"))
    required: dict[str, list[str]] = {}
    if kb_path is not None:
        required = json.loads(Path(kb_path).read_text(encoding="utf-8"))
    passages: list[Passage] = []
    for flow, body in guidelines.items():
        doc_id = f"abcd-{slugify(flow)}"
        title = f"{flow}: {body.get('description', '')}".rstrip(": ")
        for subflow, detail in body.get("subflows", {}).items():
            lines = [str(detail.get("instructions", "")).strip()] if detail.get("instructions") else []
            for action in detail.get("actions", []):
                lines.append(str(action.get("text", "")).strip())
                lines.extend(f"- {str(item).strip()}" for item in action.get("subtext", []))
            actions = required.get(_abcd_key(subflow))
            if actions:
                lines.append("Required actions: " + ", ".join(actions) + ".")
            text = "\n".join(line for line in lines if line)
            if text:
                passages.append(Passage(doc_id, subflow, title, text, audience=AGENT))
    return _unique_sections(passages)


def _abcd_key(subflow: str) -> str:
    return "_".join(re.findall(r"[a-z0-9]+", subflow.lower()))


class KnowledgeBase:
    """An immutable BM25 index over one tenant's passages."""

    def __init__(self, passages: Iterable[Passage]) -> None:
        self._passages: tuple[Passage, ...] = tuple(passages)
        self._by_citation = {passage.citation_id: passage for passage in self._passages}
        self._vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        lengths = np.zeros(len(self._passages), dtype=np.float64)
        for column, passage in enumerate(self._passages):
            # The title is indexed with every section so "Gold card" finds the fee table of that document.
            tokens = tokenize(f"{passage.title} {passage.section} {passage.text}")
            lengths[column] = len(tokens)
            for term, count in Counter(tokens).items():
                rows.append(self._vocabulary.setdefault(term, len(self._vocabulary)))
                cols.append(column)
                counts.append(count)
        n_terms, n_docs = len(self._vocabulary), len(self._passages)
        tf = sparse.csr_matrix((np.asarray(counts, dtype=np.float64), (rows, cols)), shape=(n_terms, n_docs))
        document_frequency = np.diff(tf.indptr)
        idf = np.log1p((n_docs - document_frequency + 0.5) / (document_frequency + 0.5))
        average_length = float(lengths.mean()) if n_docs else 0.0
        norm = K1 * (1 - B + B * lengths / average_length) if n_docs else lengths
        tf_coo = tf.tocoo()
        weights = idf[tf_coo.row] * tf_coo.data * (K1 + 1) / (tf_coo.data + norm[tf_coo.col])
        self._weights = sparse.csr_matrix((weights, (tf_coo.row, tf_coo.col)), shape=(n_terms, n_docs))

    @property
    def passages(self) -> tuple[Passage, ...]:
        """All indexed passages in import order."""
        return self._passages

    def __len__(self) -> int:
        return len(self._passages)

    def passage(self, citation_id: str) -> Passage | None:
        """The passage behind a citation id, or None."""
        return self._by_citation.get(citation_id)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage for the query, in passage order."""
        query_terms = Counter(
            self._vocabulary[token] for token in tokenize(query) if token in self._vocabulary
        )
        if not query_terms:
            return np.zeros(len(self._passages))
        term_ids = np.fromiter(query_terms.keys(), dtype=np.int64)
        multiplicity = np.fromiter(query_terms.values(), dtype=np.float64)
        return np.asarray(self._weights[term_ids].T @ multiplicity).ravel()

    def search(self, query: str, k: int = 3) -> list[Passage]:
        """Top-k passages with a positive score, best first; ties keep import order."""
        if k <= 0 or not self._passages:
            return []
        scores = self.scores(query)
        if len(scores) > k:
            candidates = np.argpartition(-scores, k - 1)[:k]
            # argpartition may cut a tie arbitrarily; widen to every passage tied with the k-th best.
            floor = scores[candidates].min()
            candidates = np.flatnonzero(scores >= floor)
        else:
            candidates = np.arange(len(scores))
        ranked = sorted((int(index) for index in candidates), key=lambda index: (-scores[index], index))
        return [
            replace(self._passages[index], score=float(scores[index]))
            for index in ranked[:k]
            if scores[index] > 0
        ]


def build_knowledge_base(sources: Sequence[Iterable[Passage]]) -> KnowledgeBase:
    """One index over several imported sources (e.g. a policy file plus a JSONL export)."""
    return KnowledgeBase(passage for source in sources for passage in source)
