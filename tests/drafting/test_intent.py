import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from drafting.intent import IntentClassifier

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "clinc150" / "train_val.json.gz"
pytestmark = pytest.mark.skipif(not DATA.exists(), reason="shared/data/clinc150 is not beside the repo")


@pytest.fixture(scope="module")
def clinc_subset():
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    intents = sorted({intent for _, intent in data["train"]})[:20]
    keep = set(intents)
    return {
        "train": [(t, i) for t, i in data["train"] if i in keep],
        "val": [(t, i) for t, i in data["val"] if i in keep],
        "oos_train": [(t, None) for t, _ in data["oos_train"]],
        "oos_val": [t for t, _ in data["oos_val"]],
    }


@pytest.fixture(scope="module")
def model(clinc_subset):
    train = clinc_subset["train"]
    return IntentClassifier(n_folds=3).fit([t for t, _ in train], [i for _, i in train])


def test_in_scope_tickets_are_classified_accurately(model, clinc_subset):
    val = clinc_subset["val"]
    predictions = model.predict([t for t, _ in val])
    accuracy = np.mean([p.intent == i for p, (_, i) in zip(predictions, val, strict=True)])
    assert accuracy >= 0.9
    assert np.mean([p.out_of_scope for p in predictions]) <= 0.12


def test_out_of_scope_tickets_are_mostly_rejected_without_any_oos_training_examples(model, clinc_subset):
    predictions = model.predict(clinc_subset["oos_val"])
    assert np.mean([p.out_of_scope for p in predictions]) >= 0.7


def test_training_on_out_of_scope_examples_rejects_more_of_them(clinc_subset):
    train = clinc_subset["train"] + clinc_subset["oos_train"]
    model = IntentClassifier(n_folds=3).fit([t for t, _ in train], [i for _, i in train])
    assert "__oos__" in model.classes_
    predictions = model.predict(clinc_subset["oos_val"])
    assert np.mean([p.out_of_scope for p in predictions]) >= 0.8
    assert all(p.intent != "__oos__" for p in predictions)


def test_confidence_is_calibrated_on_held_out_tickets(model, clinc_subset):
    val = clinc_subset["val"]
    predictions = model.predict([t for t, _ in val])
    confidence = np.array([p.confidence for p in predictions])
    correct = np.array([p.intent == i for p, (_, i) in zip(predictions, val, strict=True)])
    assert abs(confidence.mean() - correct.mean()) < 0.08
    assert np.all((confidence >= 0) & (confidence <= 1))


def test_out_of_fold_history_covers_every_training_ticket(model, clinc_subset):
    assert len(model.oof_predictions_) == len(clinc_subset["train"])


def test_model_round_trips_through_bytes(model, clinc_subset):
    texts = [t for t, _ in clinc_subset["val"][:20]]
    restored = IntentClassifier.from_bytes(model.to_bytes())
    assert restored.predict(texts) == model.predict(texts)


def test_from_bytes_rejects_foreign_payloads():
    import io

    import joblib

    buffer = io.BytesIO()
    joblib.dump({"something": "else"}, buffer)
    with pytest.raises(ValueError):
        IntentClassifier.from_bytes(buffer.getvalue())


def test_fit_needs_two_in_scope_intents():
    with pytest.raises(ValueError):
        IntentClassifier().fit(["a", "b", "c"], ["x", "x", None])


def test_rare_intents_and_a_lone_out_of_scope_example_still_fit():
    texts = [
        "where is my card",
        "card not arrived",
        "card still missing",
        "reset my pin",
        "forgot pin",
        "what is the weather",
    ]
    model = IntentClassifier().fit(texts, ["card", "card", "card", "pin", "pin", None])
    (prediction,) = model.predict(["my card has not arrived"])
    assert prediction.intent == "card"
