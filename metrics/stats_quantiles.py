"""Quantile (median, p90) intervals from order statistics and their two-arm comparison."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.stats import norm

from metrics.stats_comparison import ErrorCode, TestResult


@dataclass(frozen=True)
class QuantileEstimate:
    """One arm's sample quantile, its order-statistic CI and the SE implied by the CI width."""

    n: int
    q: float
    estimate: float
    ci_low: float
    ci_high: float
    se: float
    error: str | None = None


def quantile_ci(
    sorted_values: npt.NDArray[np.floating] | Sequence[float], q: float, *, alpha: float = 0.05
) -> QuantileEstimate:
    """Distribution-free CI for the q-quantile of an ascending sample: order statistics nq ± z√(nq(1-q))."""
    if not 0 < q < 1:
        raise ValueError(f"quantile must lie strictly between 0 and 1, got {q}")
    values = np.asarray(sorted_values, dtype=float)
    n = int(values.size)
    if n < 2:
        single = float(values[0]) if n == 1 else 0.0
        return QuantileEstimate(n, q, single, single, single, 0.0, ErrorCode.TOO_FEW_UNITS)
    if bool(np.any(np.diff(values) < 0)):
        raise ValueError("sorted_values must be in ascending order")
    # Rounding n*q first stops 100 * 0.9 = 90.00000000000001 from moving the rank by one.
    expected_rank = round(n * q, 9)
    estimate = float(values[max(math.ceil(expected_rank), 1) - 1])
    z = float(norm.ppf(1 - alpha / 2))
    rank_spread = z * math.sqrt(n * q * (1 - q))
    # Outward rounding keeps the coverage at or above 1 - alpha.
    lower_rank = math.floor(expected_rank - rank_spread)
    upper_rank = math.ceil(expected_rank + rank_spread)
    if lower_rank < 1 or upper_rank > n:
        return QuantileEstimate(n, q, estimate, estimate, estimate, 0.0, ErrorCode.QUANTILE_OUT_OF_RANGE)
    ci_low = float(values[lower_rank - 1])
    ci_high = float(values[upper_rank - 1])
    return QuantileEstimate(n, q, estimate, ci_low, ci_high, (ci_high - ci_low) / (2 * z))


def quantile_difference_test(
    control: QuantileEstimate, treatment: QuantileEstimate, *, relative: bool, alpha: float = 0.05
) -> TestResult:
    """Normal approximation: each arm's SE is its CI width / (2z), as gbstats' QuantileStatistic assumes."""
    error = control.error or treatment.error
    if error is None and not (control.se > 0 and treatment.se > 0):
        error = ErrorCode.ZERO_VARIANCE
    if error is None and relative and control.estimate == 0:
        error = ErrorCode.ZERO_CONTROL_MEAN
    if error is not None:
        return TestResult(0.0, 0.0, 0.0, 0.0, 1.0, control.estimate, treatment.estimate, error)
    if relative:
        estimate = treatment.estimate / control.estimate - 1.0
        variance = (
            treatment.se**2 / control.estimate**2
            + control.se**2 * treatment.estimate**2 / control.estimate**4
        )
    else:
        estimate = treatment.estimate - control.estimate
        variance = control.se**2 + treatment.se**2
    se = math.sqrt(variance)
    half_width = float(norm.ppf(1 - alpha / 2)) * se
    p_value = float(2 * norm.sf(abs(estimate) / se))
    return TestResult(
        estimate,
        estimate - half_width,
        estimate + half_width,
        se,
        p_value,
        control.estimate,
        treatment.estimate,
    )
