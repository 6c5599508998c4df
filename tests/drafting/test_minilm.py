import pickle

import numpy as np
import pytest

from drafting.minilm import DIMENSION, MiniLMEncoder, encoder_available

CARD_LATE = "My card has not arrived yet."
CARD_LATE_PARAPHRASE = "I am still waiting for my new card to be delivered."
WEATHER = "What is the weather like in Paris tomorrow?"
PIN = "How do I reset my PIN?"


@pytest.fixture(scope="module")
def encoder() -> MiniLMEncoder:
    return MiniLMEncoder()


def test_model_package_is_installed():
    assert encoder_available()


def test_vectors_are_unit_norm_384_dimensional_float32(encoder):
    vectors = encoder.encode([CARD_LATE, WEATHER, "", "a"])
    assert vectors.shape == (4, DIMENSION) == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_vectors_match_sentence_transformers_reference_numbers(encoder):
    # Computed with sentence-transformers 5 / torch 2 on the same packaged model.
    card, paraphrase, weather, pin = encoder.encode([CARD_LATE, CARD_LATE_PARAPHRASE, WEATHER, PIN])
    np.testing.assert_allclose(card[:4], [-0.04362, 0.01893, 0.00089, 0.02291], atol=2e-5)
    assert card @ paraphrase == pytest.approx(0.78777, abs=1e-4)
    assert card @ weather == pytest.approx(0.09300, abs=1e-4)
    assert card @ pin == pytest.approx(0.29173, abs=1e-4)


def test_paraphrases_are_closer_than_unrelated_sentences(encoder):
    card, paraphrase, weather, pin = encoder.encode([CARD_LATE, CARD_LATE_PARAPHRASE, WEATHER, PIN])
    assert card @ paraphrase > max(card @ weather, card @ pin) + 0.3


def test_padding_in_a_batch_does_not_change_a_vector(encoder):
    alone = encoder.encode([PIN])[0]
    batched = encoder.encode([PIN, "a much longer ticket " * 20, CARD_LATE])[0]
    np.testing.assert_allclose(alone, batched, atol=1e-5)


def test_long_text_is_truncated_not_rejected(encoder):
    (vector,) = encoder.encode(["refund " * 2000])
    assert np.isfinite(vector).all()


def test_empty_input_gives_an_empty_matrix(encoder):
    assert encoder.encode([]).shape == (0, DIMENSION)


def test_pickled_encoder_keeps_a_reference_not_the_weights(encoder):
    encoder.encode([PIN])
    data = pickle.dumps(encoder)
    assert len(data) < 2_000
    restored = pickle.loads(data)
    np.testing.assert_array_equal(restored.encode([PIN]), encoder.encode([PIN]))
