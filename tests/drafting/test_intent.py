import gzip
import io
import json
from collections.abc import Sequence

import joblib
import numpy as np
import pytest

from drafting.intent import IntentClassifier, default_embedder
from drafting.minilm import MiniLMEncoder
from tests.data import DATA_DIR

N_INTENTS, N_TRAIN, N_VAL, N_OOS = 10, 25, 8, 40


class CachingEncoder:
    """The real encoder, each distinct text encoded once for the whole module (keeps the tests fast)."""

    name = MiniLMEncoder.name

    def __init__(self) -> None:
        self.encoder = MiniLMEncoder()
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = sorted({t for t in texts if t not in self.cache})
        if missing:
            self.cache.update(zip(missing, self.encoder.encode(missing), strict=True))
        return np.stack([self.cache[t] for t in texts])


@pytest.fixture(scope="module")
def encoder() -> CachingEncoder:
    return CachingEncoder()


@pytest.fixture(scope="module")
def clinc_subset():
    with gzip.open(DATA_DIR / "clinc150" / "train_val.json.gz", "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    keep = set(sorted({intent for _, intent in data["train"]})[:N_INTENTS])

    def first(rows: list[list[str]], n: int) -> list[tuple[str, str]]:
        taken: dict[str, int] = {}
        out = []
        for text, intent in rows:
            if intent in keep and taken.get(intent, 0) < n:
                taken[intent] = taken.get(intent, 0) + 1
                out.append((text, intent))
        return out

    return {
        "train": first(data["train"], N_TRAIN),
        "val": first(data["val"], N_VAL),
        "oos_train": [(t, None) for t, _ in data["oos_train"][:N_OOS]],
        "oos_val": [t for t, _ in data["oos_val"][:N_OOS]],
    }


@pytest.fixture(scope="module")
def model(clinc_subset, encoder):
    train = clinc_subset["train"]
    return IntentClassifier(n_folds=3, embedder=encoder).fit([t for t, _ in train], [i for _, i in train])


@pytest.fixture(scope="module")
def model_with_oos_examples(clinc_subset, encoder):
    train = clinc_subset["train"] + clinc_subset["oos_train"]
    return IntentClassifier(n_folds=3, embedder=encoder).fit([t for t, _ in train], [i for _, i in train])


def _accuracy(model: IntentClassifier, rows: list[tuple[str, str]]) -> float:
    predictions = model.predict([t for t, _ in rows])
    return float(np.mean([p.intent == i for p, (_, i) in zip(predictions, rows, strict=True)]))


def test_default_embedder_is_the_numpy_minilm_encoder_when_its_package_is_installed():
    assert isinstance(default_embedder(), MiniLMEncoder)


def test_in_scope_tickets_are_classified_accurately(model, clinc_subset):
    assert _accuracy(model, clinc_subset["val"]) >= 0.95
    predictions = model.predict([t for t, _ in clinc_subset["val"]])
    assert np.mean([p.out_of_scope for p in predictions]) <= 0.15


def test_light_model_without_embeddings_still_classifies(clinc_subset):
    train = clinc_subset["train"]
    light = IntentClassifier(n_folds=3, embedder=None).fit([t for t, _ in train], [i for _, i in train])
    assert light.embedder_ is None
    assert _accuracy(light, clinc_subset["val"]) >= 0.85


def test_out_of_scope_tickets_are_mostly_rejected_without_any_oos_training_examples(model, clinc_subset):
    predictions = model.predict(clinc_subset["oos_val"])
    assert np.mean([p.out_of_scope for p in predictions]) >= 0.9


def test_training_on_out_of_scope_examples_rejects_them_and_tightens_the_gate(
    model, model_with_oos_examples, clinc_subset
):
    assert "__oos__" in model_with_oos_examples.classes_
    assert model.gate_alpha_ == model.oos_alpha
    # 40 labelled examples cannot show a pass rate under 2% at 95% confidence: the gate goes to its cap.
    assert model_with_oos_examples.gate_alpha_ == model_with_oos_examples.max_oos_alpha
    predictions = model_with_oos_examples.predict(clinc_subset["oos_val"])
    assert np.mean([p.out_of_scope for p in predictions]) >= 0.9
    assert all(p.intent != "__oos__" for p in predictions)


def test_confidence_is_calibrated_on_held_out_tickets(model, clinc_subset):
    val = clinc_subset["val"]
    predictions = model.predict([t for t, _ in val])
    confidence = np.array([p.confidence for p in predictions])
    correct = np.array([p.intent == i for p, (_, i) in zip(predictions, val, strict=True)])
    assert abs(confidence.mean() - correct.mean()) < 0.08
    assert np.all((confidence >= 0) & (confidence <= 1))


def test_out_of_fold_history_covers_every_training_ticket(model, model_with_oos_examples, clinc_subset):
    assert len(model.oof_predictions_) == len(clinc_subset["train"])
    n_with_oos = len(clinc_subset["train"]) + len(clinc_subset["oos_train"])
    assert len(model_with_oos_examples.oof_predictions_) == n_with_oos


def test_model_round_trips_through_bytes_without_the_encoder_weights(clinc_subset):
    train = clinc_subset["train"]
    # A fresh encoder, so the check is that the reloaded model finds the weights again by itself.
    fitted = IntentClassifier(n_folds=3).fit([t for t, _ in train], [i for _, i in train])
    data = fitted.to_bytes()
    assert len(data) < 5_000_000  # the encoder's weights alone are 90 MB
    restored = IntentClassifier.from_bytes(data)
    assert isinstance(restored.embedder_, MiniLMEncoder)
    texts = [t for t, _ in clinc_subset["val"][:20]]
    assert restored.predict(texts) == fitted.predict(texts)


def test_from_bytes_rejects_foreign_payloads():
    buffer = io.BytesIO()
    joblib.dump({"something": "else"}, buffer)
    with pytest.raises(ValueError):
        IntentClassifier.from_bytes(buffer.getvalue())


def test_fit_needs_two_in_scope_intents():
    with pytest.raises(ValueError):
        IntentClassifier(embedder=None).fit(["a", "b", "c"], ["x", "x", None])


@pytest.mark.parametrize("embedded", [True, False])
def test_rare_intents_and_a_lone_out_of_scope_example_still_fit(embedded, encoder):
    texts = [
        "where is my card",
        "card not arrived",
        "card still missing",
        "reset my pin",
        "forgot pin",
        "what is the weather",
    ]
    classifier = IntentClassifier(embedder=encoder if embedded else None)
    model = classifier.fit(texts, ["card", "card", "card", "pin", "pin", None])
    (prediction,) = model.predict(["my card has not arrived"])
    assert prediction.intent == "card"
    assert len(model.oof_predictions_) == len(texts)
