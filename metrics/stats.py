"""Experiment statistics engine: the public import path, plus the checks that span a whole experiment.

Pure module in the style of gbstats: frozen dataclasses in and out, sufficient statistics that SQL can
aggregate, and degenerate input answered with an `error` code rather than an exception.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

from metrics.stats_comparison import (
    DEFAULT_SEQUENTIAL_TUNING,
    ArmStatistic,
    ErrorCode,
    Proportion,
    RatioStats,
    SampleMean,
    TestResult,
    ratio_test,
    sequential_rho,
    sequential_test,
    two_proportion_test,
    welch_test,
)
from metrics.stats_cuped import CupedResult, CupedStats, cuped_adjust
from metrics.stats_power import PowerResult, power_analysis
from metrics.stats_quantiles import QuantileEstimate, quantile_ci, quantile_difference_test

__all__ = [
    "DEFAULT_SEQUENTIAL_TUNING",
    "SRM_THRESHOLD",
    "ArmStatistic",
    "CupedResult",
    "CupedStats",
    "ErrorCode",
    "PowerResult",
    "Proportion",
    "QuantileEstimate",
    "RatioStats",
    "SampleMean",
    "SrmResult",
    "TestResult",
    "benjamini_hochberg",
    "cuped_adjust",
    "holm",
    "power_analysis",
    "quantile_ci",
    "quantile_difference_test",
    "ratio_test",
    "sequential_rho",
    "sequential_test",
    "srm_check",
    "two_proportion_test",
    "welch_test",
]

# Strict on purpose: the check runs on every look at every experiment, and a broken assignment pipeline
# shows up as a p-value far below this, while a looser threshold would cry wolf daily.
SRM_THRESHOLD = 0.001


@dataclass(frozen=True)
class SrmResult:
    """Chi-square goodness of fit of the observed arm sizes to the planned split."""

    p_value: float
    chi_square: float
    flagged: bool
    error: str | None = None


def srm_check(
    observed: Sequence[int], expected_weights: Sequence[float], *, threshold: float = SRM_THRESHOLD
) -> SrmResult:
    """Sample-ratio-mismatch check: flagged when the split departs from the weights with p < threshold."""
    if len(observed) != len(expected_weights) or len(observed) < 2:
        raise ValueError("observed and expected_weights need the same length, at least two arms")
    weights = np.asarray(expected_weights, dtype=float)
    if bool(np.any(weights <= 0)):
        raise ValueError("expected_weights must all be positive")
    counts = np.asarray(observed, dtype=float)
    total = counts.sum()
    if total <= 0:
        return SrmResult(1.0, 0.0, False, ErrorCode.TOO_FEW_UNITS)
    expected = total * weights / weights.sum()
    chi_square = float(((counts - expected) ** 2 / expected).sum())
    p_value = float(chi2.sf(chi_square, len(counts) - 1))
    return SrmResult(p_value, chi_square, p_value < threshold)


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm step-down adjusted p-values (family-wise error), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return tuple(float(value) for value in adjusted)


def benjamini_hochberg(p_values: Sequence[float]) -> tuple[float, ...]:
    """Benjamini-Hochberg step-up adjusted p-values (false discovery rate), in the input order."""
    p = np.asarray(p_values, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    stepped = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return tuple(float(value) for value in adjusted)
