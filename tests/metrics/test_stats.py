import numpy as np
import pytest

from metrics.stats import (
    CupedStats,
    ErrorCode,
    Proportion,
    RatioStats,
    SampleMean,
    benjamini_hochberg,
    cuped_adjust,
    holm,
    power_analysis,
    quantile_ci,
    quantile_difference_test,
    ratio_test,
    sequential_test,
    srm_check,
    two_proportion_test,
    welch_test,
)

REL = 1e-4
CONTROL_1 = SampleMean(n=3407, sum=1396.87, sum_sq=52377.9767)
TREATMENT_1 = SampleMean(n=3461, sum=2422.7, sum_sq=134698.29)


def sums(values: np.ndarray) -> SampleMean:
    return SampleMean(n=values.size, sum=float(values.sum()), sum_sq=float((values**2).sum()))


def cuped_sums(metric: np.ndarray, covariate: np.ndarray) -> CupedStats:
    return CupedStats(
        n=metric.size,
        metric_sum=float(metric.sum()),
        metric_sum_sq=float((metric**2).sum()),
        covariate_sum=float(covariate.sum()),
        covariate_sum_sq=float((covariate**2).sum()),
        cross_sum=float((metric * covariate).sum()),
    )


def test_welch_relative_lift_matches_gbstats_reference():
    result = welch_test(CONTROL_1, TREATMENT_1, relative=True)

    assert result.error is None
    assert result.estimate == pytest.approx(0.70732, rel=REL)
    assert (result.ci_low, result.ci_high) == pytest.approx((-0.03526, 1.44989), rel=REL)
    assert result.se == pytest.approx(0.37879, rel=REL)
    assert result.p_value == pytest.approx(0.06191, rel=REL)


def test_welch_absolute_difference_matches_gbstats_reference():
    result = welch_test(CONTROL_1, TREATMENT_1, relative=False)

    assert result.estimate == pytest.approx(0.29, rel=REL)
    assert (result.ci_low, result.ci_high) == pytest.approx((0.04538, 0.53462), rel=REL)
    assert result.se == pytest.approx(0.12478, rel=REL)
    assert result.p_value == pytest.approx(0.02016, rel=REL)


def test_two_proportion_relative_lift_matches_gbstats_reference():
    result = two_proportion_test(
        Proportion(n=28, successes=14), Proportion(n=30, successes=16), relative=True
    )

    assert result.estimate == pytest.approx(0.06667, rel=REL)
    assert (result.ci_low, result.ci_high) == pytest.approx((-0.47767, 0.61101), rel=REL)
    assert result.se == pytest.approx(0.2717, rel=REL)
    assert result.p_value == pytest.approx(0.80707, rel=REL)


def test_negative_variance_returns_uninformative_result_with_error_code():
    control = SampleMean(n=2, sum=1396.87, sum_sq=52377.9767)

    result = welch_test(control, TREATMENT_1, relative=True)

    assert result.error == ErrorCode.ZERO_VARIANCE == "zero_variance"
    assert (result.estimate, result.ci_low, result.ci_high, result.p_value) == (0, 0, 0, 1)


def test_sequential_relative_interval_matches_gbstats_reference():
    control = SampleMean(n=3000, sum=1396.87, sum_sq=52377.9767)

    result = sequential_test(control, TREATMENT_1, relative=True, sequential_tuning_parameter=1000)

    assert result.estimate == pytest.approx(0.50336, rel=REL)
    assert (result.ci_low, result.ci_high) == pytest.approx((-0.55844, 1.56516), rel=REL)
    assert result.se == pytest.approx(0.33341, rel=REL)


def test_count_metric_per_user_relative_lift_matches_reference():
    control = SampleMean(n=100, sum=270, sum_sq=848.79)
    treatment = SampleMean(n=120, sum=300, sum_sq=869)

    result = welch_test(control, treatment, relative=True)

    assert (result.control_mean, result.treatment_mean) == pytest.approx((2.7, 2.5), rel=REL)
    assert result.estimate == pytest.approx(-0.074074074, rel=REL)
    assert result.p_value == pytest.approx(0.145219005, rel=REL)


def test_holm_adjustment_matches_reference():
    adjusted = holm([0.01, 0.04, 0.03, 0.005, 0.55, 0.6])

    assert adjusted == pytest.approx((0.05, 0.12, 0.12, 0.03, 1, 1), rel=REL)


def test_benjamini_hochberg_adjustment_matches_reference():
    adjusted = benjamini_hochberg([0.898, 0.138, 0.007, 0.964, 0.538, 0.006, 0.138])

    expected = (0.964, 0.2415, 0.0245, 0.964, 0.7532, 0.0245, 0.2415)
    assert adjusted == pytest.approx(expected, rel=REL)


def test_power_and_mde_for_three_arms_match_gbstats_reference():
    result = power_analysis(
        mean=10, variance=3909.9997749994377, relative_effect=0.05, total_units=400_000, arms=3
    )

    assert result.error is None
    assert result.power == pytest.approx(0.52144, rel=REL)
    assert result.mde == pytest.approx(0.07027, rel=REL)


@pytest.mark.parametrize(
    ("observed", "weights", "expected_p"),
    [
        ([1000, 1100], [0.5, 0.5], 0.029096331741252267),
        ([5000, 5050], [0.5, 0.5], 0.61795),
        ([100, 120, 140], [1 / 3, 1 / 3, 1 / 3], 0.035674),
    ],
)
def test_srm_chi_square_p_value_matches_reference(observed, weights, expected_p):
    result = srm_check(observed, weights)

    assert result.p_value == pytest.approx(expected_p, rel=REL)
    assert not result.flagged


def test_swapping_arms_flips_the_sign_of_the_absolute_difference():
    forward = welch_test(CONTROL_1, TREATMENT_1, relative=False)
    backward = welch_test(TREATMENT_1, CONTROL_1, relative=False)

    assert backward.estimate == pytest.approx(-forward.estimate)
    assert (backward.ci_low, backward.ci_high) == pytest.approx((-forward.ci_high, -forward.ci_low))
    assert backward.p_value == pytest.approx(forward.p_value)


@pytest.mark.parametrize("n", [0, 1])
def test_arm_with_zero_or_one_unit_gives_error_code_not_exception(n):
    tiny = SampleMean(n=n, sum=float(n), sum_sq=float(n))

    for relative in (True, False):
        for result in (
            welch_test(tiny, TREATMENT_1, relative=relative),
            welch_test(TREATMENT_1, tiny, relative=relative),
            sequential_test(tiny, TREATMENT_1, relative=relative),
        ):
            assert result.error == ErrorCode.TOO_FEW_UNITS
            assert result.p_value == 1


@pytest.mark.parametrize("n", [0, 1])
def test_quantile_and_cuped_with_zero_or_one_unit_give_error_code(n):
    values = np.arange(n, dtype=float)
    arm = CupedStats(n=n, metric_sum=0, metric_sum_sq=0, covariate_sum=0, covariate_sum_sq=0, cross_sum=0)

    assert quantile_ci(values, 0.5).error == ErrorCode.TOO_FEW_UNITS
    assert cuped_adjust(arm, arm).error == ErrorCode.TOO_FEW_UNITS


def test_srm_flags_a_heavily_skewed_split():
    result = srm_check([5000, 5600], [0.5, 0.5])

    assert result.flagged
    assert result.p_value < 0.001


@pytest.mark.parametrize("adjust", [holm, benjamini_hochberg])
def test_adjusted_p_values_are_monotone_in_raw_p_and_capped_at_one(adjust):
    raw = np.random.default_rng(7).uniform(0, 1, size=25)
    raw[:3] = [0.999, 0.0001, 0.5]

    adjusted = np.array(adjust(list(raw)))
    order = np.argsort(raw)

    assert np.all(np.diff(adjusted[order]) >= 0)
    assert np.all(adjusted >= raw)
    assert np.all(adjusted <= 1)


def test_quantile_ci_contains_the_sample_median_of_a_known_sample():
    values = np.arange(1.0, 102.0)

    result = quantile_ci(values, 0.5)

    assert result.error is None
    assert result.estimate == 51
    assert result.ci_low < np.median(values) < result.ci_high
    # Ranks 50.5 ± 1.96 * sqrt(101 / 4) = 40.65 and 60.35, rounded outwards to 40 and 61.
    assert (result.ci_low, result.ci_high) == (40, 61)


def test_quantile_ci_for_p90_too_close_to_the_maximum_reports_out_of_range():
    result = quantile_ci(np.arange(10.0), 0.9)

    assert result.error == ErrorCode.QUANTILE_OUT_OF_RANGE


def test_quantile_difference_detects_shifted_median_and_swaps_sign():
    rng = np.random.default_rng(11)
    control = quantile_ci(np.sort(rng.exponential(100.0, 4000)), 0.5)
    treatment = quantile_ci(np.sort(rng.exponential(70.0, 4000)), 0.5)

    forward = quantile_difference_test(control, treatment, relative=False)
    backward = quantile_difference_test(treatment, control, relative=False)

    assert forward.error is None
    assert forward.estimate == pytest.approx(treatment.estimate - control.estimate)
    assert forward.ci_high < 0
    assert forward.p_value < 1e-6
    assert backward.estimate == pytest.approx(-forward.estimate)


def test_ratio_test_by_delta_method_matches_per_unit_means_when_denominators_are_one():
    rng = np.random.default_rng(3)
    numerators = [rng.binomial(1, p, 500).astype(float) for p in (0.6, 0.7)]
    arms = [
        RatioStats(
            n=x.size,
            num_sum=float(x.sum()),
            num_sum_sq=float((x**2).sum()),
            den_sum=float(x.size),
            den_sum_sq=float(x.size),
            cross_sum=float(x.sum()),
        )
        for x in numerators
    ]

    ratio = ratio_test(arms[0], arms[1], relative=True)
    mean = welch_test(sums(numerators[0]), sums(numerators[1]), relative=True)

    assert (ratio.estimate, ratio.se, ratio.p_value) == pytest.approx((mean.estimate, mean.se, mean.p_value))


def test_ratio_test_with_zero_denominator_returns_error_code():
    empty = RatioStats(n=10, num_sum=0, num_sum_sq=0, den_sum=0, den_sum_sq=0, cross_sum=0)

    result = ratio_test(empty, empty, relative=False)

    assert result.error == ErrorCode.ZERO_DENOMINATOR


def test_cuped_with_correlated_covariate_shrinks_the_standard_error():
    rng = np.random.default_rng(5)
    pre = [rng.normal(10, 3, 2000) for _ in range(2)]
    post = [pre[0] + rng.normal(0, 1, 2000), pre[1] + 0.3 + rng.normal(0, 1, 2000)]

    adjusted = cuped_adjust(cuped_sums(post[0], pre[0]), cuped_sums(post[1], pre[1]))
    cuped = welch_test(adjusted.control, adjusted.treatment, relative=False)
    plain = welch_test(sums(post[0]), sums(post[1]), relative=False)

    assert adjusted.error is None
    assert adjusted.theta == pytest.approx(1, abs=0.05)
    assert cuped.se < plain.se / 2
    assert cuped.ci_low < 0.3 < cuped.ci_high


def test_sequential_interval_is_wider_than_fixed_horizon_and_p_value_agrees_with_it():
    fixed = welch_test(CONTROL_1, TREATMENT_1, relative=False)
    sequential = sequential_test(CONTROL_1, TREATMENT_1, relative=False)

    assert sequential.ci_high - sequential.ci_low > fixed.ci_high - fixed.ci_low
    assert (sequential.p_value < 0.05) == (sequential.ci_low > 0 or sequential.ci_high < 0)


def test_power_analysis_with_zero_variance_returns_error_code():
    result = power_analysis(mean=10, variance=0, relative_effect=0.05, total_units=1000)

    assert result.error == ErrorCode.ZERO_VARIANCE
