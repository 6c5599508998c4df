import math

import numpy as np

from drafting.calibration import (
    NEVER,
    choose_threshold,
    clopper_pearson_lower,
    conformal_p_values,
    expected_calibration_error,
    fit_temperature,
    softmax,
)


def _synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0, 1, n)
    return confidence, rng.uniform(0, 1, n) < confidence


def test_chosen_threshold_meets_target_on_its_lower_bound():
    confidence, correct = _synthetic(5000, 1)
    choice = choose_threshold(confidence, correct, target_precision=0.9)
    assert choice.status == "ok"
    selected = confidence >= choice.threshold
    assert choice.precision_lower >= 0.9
    assert choice.precision == correct[selected].mean()
    assert choice.precision_lower == clopper_pearson_lower(int(correct[selected].sum()), int(selected.sum()))
    assert choice.coverage == selected.mean()


def test_chosen_threshold_is_the_lowest_that_qualifies():
    confidence, correct = _synthetic(3000, 2)
    choice = choose_threshold(confidence, correct, target_precision=0.9)
    lower_candidates = np.unique(confidence[confidence < choice.threshold])
    for threshold in lower_candidates[-50:]:
        selected = confidence >= threshold
        assert clopper_pearson_lower(int(correct[selected].sum()), int(selected.sum())) < 0.9


def test_true_precision_above_chosen_threshold_meets_target_in_most_repetitions():
    misses = 0
    for seed in range(40):
        confidence, correct = _synthetic(2000, seed)
        choice = choose_threshold(confidence, correct, target_precision=0.9)
        # With P(correct | c) = c, the true precision above t is (1 + t) / 2.
        misses += (1 + choice.threshold) / 2 < 0.9
    assert misses <= 4


def test_no_qualifying_threshold_auto_resolves_nothing():
    choice = choose_threshold([0.99, 0.98, 0.97], [True, True, True], target_precision=0.95)
    assert choice.status == "no_threshold_meets_target"
    assert choice.threshold == NEVER > 1.0
    assert choice.coverage == 0.0


def test_empty_history_auto_resolves_nothing():
    choice = choose_threshold([], [])
    assert choice.status == "no_history"
    assert choice.threshold > 1.0


def test_ties_are_taken_whole():
    confidence = [0.9] * 100 + [0.5] * 100
    correct = [True] * 100 + [True] * 50 + [False] * 50
    choice = choose_threshold(confidence, correct, target_precision=0.9)
    assert choice.threshold == 0.9
    assert choice.n_selected == 100


def test_clopper_pearson_reference_values():
    # Rule of three: 59 successes of 59 trials give a 95% lower bound just above 0.95.
    assert 0.95 < clopper_pearson_lower(59, 59) < 0.951
    assert clopper_pearson_lower(58, 58) < 0.95
    assert clopper_pearson_lower(0, 10) == 0.0


def test_ece_is_zero_when_perfectly_calibrated_and_large_when_overconfident():
    assert expected_calibration_error([1.0, 1.0, 0.0], [True, True, False]) == 0.0
    assert abs(expected_calibration_error([0.95] * 10, [False] * 10) - 0.95) < 1e-9
    assert expected_calibration_error([], []) == 0.0


def test_threshold_keeps_out_of_scope_history_rate_within_limit():
    confidence = [0.99] * 200 + [0.7] * 20 + [0.6] * 200
    correct = [True] * 200 + [False] * 20 + [True] * 200
    out_of_scope = [False] * 200 + [True] * 20 + [False] * 200
    free = choose_threshold(confidence, correct, target_precision=0.9)
    bounded = choose_threshold(confidence, correct, target_precision=0.9, out_of_scope=out_of_scope)
    assert free.threshold == 0.6
    assert bounded.threshold == 0.99


def test_out_of_scope_share_counts_the_tickets_already_rejected_as_out_of_scope():
    # 100 out-of-scope tickets in the history, 98 rejected by the detector (NaN), 2 confident ones left:
    # 2% of out-of-scope tickets would be auto-resolved, within the 2% limit, so the threshold stays low.
    confidence = [0.99] * 2 + [math.nan] * 98 + [0.9] * 500
    correct = [False] * 100 + [True] * 500
    out_of_scope = [True] * 100 + [False] * 500
    choice = choose_threshold(confidence, correct, target_precision=0.9, out_of_scope=out_of_scope)
    assert choice.threshold == 0.9
    stricter = choose_threshold(
        confidence, correct, target_precision=0.9, out_of_scope=out_of_scope, max_oos_rate=0.01
    )
    assert stricter.threshold == NEVER


def test_softmax_rows_sum_to_one_and_survive_large_scores():
    probabilities = softmax(np.array([[1000.0, 1000.0], [0.0, np.log(3.0)]]))
    np.testing.assert_allclose(probabilities, [[0.5, 0.5], [0.25, 0.75]])


def test_fitted_temperature_recovers_the_generating_one():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(20_000, 4))
    truth = np.array([rng.choice(4, p=p) for p in softmax(scores * 2.0)])
    assert abs(fit_temperature(scores, truth) - 2.0) < 0.1


def test_conformal_p_values_are_smoothed_ranks_among_calibration_scores():
    calibration = np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(
        conformal_p_values(calibration, np.array([0.0, 0.25, 0.4, 9.0])), [0.2, 0.6, 1.0, 1.0]
    )
