"""Two-arm comparisons of means, proportions and ratios from sufficient statistics (gbstats frequentist)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from scipy.stats import t

DEFAULT_SEQUENTIAL_TUNING = 1000.0


class ErrorCode(StrEnum):
    """Why a result is uninformative; results carry it in `error` instead of raising."""

    TOO_FEW_UNITS = "too_few_units"
    ZERO_VARIANCE = "zero_variance"
    ZERO_CONTROL_MEAN = "zero_control_mean"
    ZERO_DENOMINATOR = "zero_denominator"
    QUANTILE_OUT_OF_RANGE = "quantile_out_of_range"
    MDE_UNREACHABLE = "mde_unreachable"


class ArmStatistic(Protocol):
    """What a comparison needs from one arm: units, the metric mean and the per-unit variance."""

    @property
    def n(self) -> int: ...

    @property
    def mean(self) -> float: ...

    @property
    def variance(self) -> float: ...


@dataclass(frozen=True)
class SampleMean:
    """Per-unit metric values aggregated as count, sum and sum of squares."""

    n: int
    sum: float
    sum_sq: float

    @property
    def mean(self) -> float:
        return self.sum / self.n if self.n > 0 else 0.0

    @property
    def variance(self) -> float:
        # Zero rather than a division error: callers see too_few_units before the variance matters.
        if self.n < 2:
            return 0.0
        return (self.sum_sq - self.sum**2 / self.n) / (self.n - 1)


@dataclass(frozen=True)
class Proportion:
    """Binary metric aggregated as units and successes."""

    n: int
    successes: int

    @property
    def mean(self) -> float:
        return self.successes / self.n if self.n > 0 else 0.0

    @property
    def variance(self) -> float:
        # Bernoulli p(1-p) without Bessel's correction, as gbstats' ProportionStatistic (reference #3).
        if self.n < 2:
            return 0.0
        return self.mean * (1.0 - self.mean)


@dataclass(frozen=True)
class RatioStats:
    """Ratio metric sum(numerator) / sum(denominator) over units, with the cross-product (delta method)."""

    n: int
    num_sum: float
    num_sum_sq: float
    den_sum: float
    den_sum_sq: float
    cross_sum: float

    @property
    def mean(self) -> float:
        return self.num_sum / self.den_sum if self.den_sum != 0 else 0.0

    @property
    def variance(self) -> float:
        # Per-unit variance of the ratio by the delta method, so that variance / n is the ratio's variance.
        if self.n < 2 or self.den_sum == 0:
            return 0.0
        num_mean = self.num_sum / self.n
        den_mean = self.den_sum / self.n
        num_var = (self.num_sum_sq - self.num_sum**2 / self.n) / (self.n - 1)
        den_var = (self.den_sum_sq - self.den_sum**2 / self.n) / (self.n - 1)
        covariance = (self.cross_sum - self.num_sum * self.den_sum / self.n) / (self.n - 1)
        return (
            num_var / den_mean**2
            - 2 * covariance * num_mean / den_mean**3
            + num_mean**2 * den_var / den_mean**4
        )


@dataclass(frozen=True)
class TestResult:
    """Treatment versus control: `estimate` is the difference, or the lift when the test is relative."""

    __test__ = False

    estimate: float
    ci_low: float
    ci_high: float
    se: float
    p_value: float
    control_mean: float
    treatment_mean: float
    error: str | None = None


def _uninformative(control: ArmStatistic, treatment: ArmStatistic, error: ErrorCode) -> TestResult:
    return TestResult(0.0, 0.0, 0.0, 0.0, 1.0, control.mean, treatment.mean, error)


def _input_error(control: ArmStatistic, treatment: ArmStatistic, *, relative: bool) -> ErrorCode | None:
    if control.n < 2 or treatment.n < 2:
        return ErrorCode.TOO_FEW_UNITS
    # `not > 0` also rejects NaN; a negative variance comes from sums that do not belong together.
    if not (control.variance > 0 and treatment.variance > 0):
        return ErrorCode.ZERO_VARIANCE
    if relative and control.mean == 0:
        return ErrorCode.ZERO_CONTROL_MEAN
    return None


def _estimate_and_variance(
    control: ArmStatistic, treatment: ArmStatistic, *, relative: bool
) -> tuple[float, float]:
    control_var = control.variance / control.n
    treatment_var = treatment.variance / treatment.n
    if not relative:
        return treatment.mean - control.mean, control_var + treatment_var
    # Delta method for (mean_b / mean_a) - 1 with independent arms.
    lift = treatment.mean / control.mean - 1.0
    variance = treatment_var / control.mean**2 + control_var * treatment.mean**2 / control.mean**4
    return lift, variance


def _welch_dof(control: ArmStatistic, treatment: ArmStatistic) -> float:
    control_var = control.variance / control.n
    treatment_var = treatment.variance / treatment.n
    return (control_var + treatment_var) ** 2 / (
        control_var**2 / (control.n - 1) + treatment_var**2 / (treatment.n - 1)
    )


def welch_test(
    control: ArmStatistic, treatment: ArmStatistic, *, relative: bool, alpha: float = 0.05
) -> TestResult:
    """Welch t-test on the difference (or delta-method lift) of two arms' means."""
    error = _input_error(control, treatment, relative=relative)
    if error is not None:
        return _uninformative(control, treatment, error)
    estimate, variance = _estimate_and_variance(control, treatment, relative=relative)
    se = math.sqrt(variance)
    dof = _welch_dof(control, treatment)
    half_width = float(t.ppf(1 - alpha / 2, dof)) * se
    # Survival function rather than 1 - cdf so that tiny p-values keep their digits.
    p_value = float(2 * t.sf(abs(estimate) / se, dof))
    return TestResult(
        estimate, estimate - half_width, estimate + half_width, se, p_value, control.mean, treatment.mean
    )


def two_proportion_test(
    control: Proportion, treatment: Proportion, *, relative: bool, alpha: float = 0.05
) -> TestResult:
    """Compare two rates (gbstats: the Welch test on Bernoulli moments)."""
    return welch_test(control, treatment, relative=relative, alpha=alpha)


def ratio_test(
    control: RatioStats, treatment: RatioStats, *, relative: bool, alpha: float = 0.05
) -> TestResult:
    """Compare ratio metrics whose unit is not the ratio's denominator, by the delta method."""
    if control.den_sum == 0 or treatment.den_sum == 0:
        return _uninformative(control, treatment, ErrorCode.ZERO_DENOMINATOR)
    return welch_test(control, treatment, relative=relative, alpha=alpha)


def sequential_rho(alpha: float, tuning: float) -> float:
    """Mixture parameter that makes the confidence sequence tightest near `tuning` total units."""
    log_term = -2 * math.log(alpha)
    return math.sqrt((log_term + math.log(log_term + 1)) / tuning)


def sequential_test(
    control: ArmStatistic,
    treatment: ArmStatistic,
    *,
    relative: bool,
    alpha: float = 0.05,
    sequential_tuning_parameter: float = DEFAULT_SEQUENTIAL_TUNING,
) -> TestResult:
    """Always-valid interval and p-value (Waudby-Smith et al. normal mixture) that tolerate daily peeking."""
    error = _input_error(control, treatment, relative=relative)
    if error is not None:
        return _uninformative(control, treatment, error)
    estimate, variance = _estimate_and_variance(control, treatment, relative=relative)
    total_units = control.n + treatment.n
    rho_sq = sequential_rho(alpha, sequential_tuning_parameter) ** 2
    spread = total_units * rho_sq + 1
    unit_variance = variance * total_units
    half_width = math.sqrt(
        unit_variance * 2 * spread / (total_units**2 * rho_sq) * math.log(math.sqrt(spread) / alpha)
    )
    # p = 1 / e-value of the same mixture martingale, so p < alpha exactly when the interval excludes 0.
    log_e_value = rho_sq * estimate**2 * total_units**2 / (2 * unit_variance * spread) - 0.5 * math.log(
        spread
    )
    p_value = min(1.0, math.exp(-log_e_value))
    return TestResult(
        estimate,
        estimate - half_width,
        estimate + half_width,
        math.sqrt(variance),
        p_value,
        control.mean,
        treatment.mean,
    )
