"""CUPED: variance reduction with a pre-period covariate and one pooled adjustment coefficient."""

from __future__ import annotations

from dataclasses import dataclass

from metrics.stats_comparison import ErrorCode, SampleMean


@dataclass(frozen=True)
class CupedStats:
    """One arm's metric and pre-period covariate sums, with their cross-product, as SQL aggregates them."""

    n: int
    metric_sum: float
    metric_sum_sq: float
    covariate_sum: float
    covariate_sum_sq: float
    cross_sum: float


@dataclass(frozen=True)
class CupedResult:
    """Adjusted arms as SampleMean equivalents (same mean and variance) ready for welch_test."""

    control: SampleMean
    treatment: SampleMean
    theta: float
    error: str | None = None


def _covariance(n: int, cross_sum: float, first_sum: float, second_sum: float) -> float:
    return (cross_sum - first_sum * second_sum / n) / (n - 1)


def _adjusted_arm(arm: CupedStats, theta: float, pooled_covariate_mean: float) -> SampleMean:
    metric_var = _covariance(arm.n, arm.metric_sum_sq, arm.metric_sum, arm.metric_sum)
    covariate_var = _covariance(arm.n, arm.covariate_sum_sq, arm.covariate_sum, arm.covariate_sum)
    cross_cov = _covariance(arm.n, arm.cross_sum, arm.metric_sum, arm.covariate_sum)
    # Centring on the pooled covariate mean keeps the adjusted means on the metric's scale, so a relative
    # lift still divides by something close to the control mean.
    mean = arm.metric_sum / arm.n - theta * (arm.covariate_sum / arm.n - pooled_covariate_mean)
    variance = metric_var + theta**2 * covariate_var - 2 * theta * cross_cov
    return SampleMean(arm.n, mean * arm.n, variance * (arm.n - 1) + arm.n * mean**2)


def cuped_adjust(control: CupedStats, treatment: CupedStats) -> CupedResult:
    """Regression-adjust both arms with theta = pooled cov(metric, covariate) / pooled var(covariate)."""
    unadjusted_control = SampleMean(control.n, control.metric_sum, control.metric_sum_sq)
    unadjusted_treatment = SampleMean(treatment.n, treatment.metric_sum, treatment.metric_sum_sq)
    if control.n < 2 or treatment.n < 2:
        return CupedResult(unadjusted_control, unadjusted_treatment, 0.0, ErrorCode.TOO_FEW_UNITS)
    # One theta for both arms (estimated on the pooled sample) keeps the adjustment from depending on
    # treatment, so the adjusted difference stays unbiased.
    n = control.n + treatment.n
    covariate_sum = control.covariate_sum + treatment.covariate_sum
    pooled_covariate_var = _covariance(
        n, control.covariate_sum_sq + treatment.covariate_sum_sq, covariate_sum, covariate_sum
    )
    if not pooled_covariate_var > 0:
        # A constant covariate carries no information: the unadjusted analysis is the right one.
        return CupedResult(unadjusted_control, unadjusted_treatment, 0.0)
    pooled_cross_cov = _covariance(
        n,
        control.cross_sum + treatment.cross_sum,
        control.metric_sum + treatment.metric_sum,
        covariate_sum,
    )
    theta = pooled_cross_cov / pooled_covariate_var
    pooled_covariate_mean = covariate_sum / n
    return CupedResult(
        _adjusted_arm(control, theta, pooled_covariate_mean),
        _adjusted_arm(treatment, theta, pooled_covariate_mean),
        theta,
    )
