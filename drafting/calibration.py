"""Calibration (pure): temperature scaling, conformal p-values, calibration error, the auto-resolve threshold.

The lower confidence bound on precision is the one-sided Clopper-Pearson (exact binomial) bound. It is
conservative: its coverage is at least the nominal level for every sample size and every precision,
including the regime that matters here (precision near 1, a few dozen items above a high threshold),
where Wilson's interval can undercover. Auto-resolution is the costly mistake, so the exact bound is
worth the slightly lower coverage it buys.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import beta

NEVER = math.nextafter(1.0, 2.0)
"""A threshold above every confidence in [0, 1]: auto-resolves nothing and still serialises to JSON."""


@dataclass(frozen=True)
class ThresholdChoice:
    threshold: float
    precision: float
    precision_lower: float
    coverage: float
    n_selected: int
    n_total: int
    status: str
    """``ok``, ``no_threshold_meets_target`` or ``no_history``."""


def clopper_pearson_lower(successes: int, trials: int, confidence_level: float = 0.95) -> float:
    """One-sided lower bound of a binomial proportion at ``confidence_level``; 0 with no trials."""
    if trials <= 0 or successes <= 0:
        return 0.0
    return float(beta.ppf(1.0 - confidence_level, successes, trials - successes + 1))


def expected_calibration_error(
    confidences: Sequence[float], correct: Sequence[bool], n_bins: int = 15
) -> float:
    """Weighted mean |accuracy - mean confidence| over equal-width confidence bins; 0 with no items."""
    conf = np.clip(np.asarray(confidences, dtype=float), 0.0, 1.0)
    hits = np.asarray(correct, dtype=float)
    if conf.size == 0:
        return 0.0
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    error = 0.0
    for b in np.unique(bins):
        members = bins == b
        error += members.sum() * abs(hits[members].mean() - conf[members].mean())
    return float(error / conf.size)


def choose_threshold(
    confidences: Sequence[float],
    correct: Sequence[bool],
    *,
    target_precision: float = 0.95,
    confidence_level: float = 0.95,
    out_of_scope: Sequence[bool] | None = None,
    max_oos_rate: float = 0.02,
) -> ThresholdChoice:
    """Lowest threshold whose lower precision bound among items at or above it meets the target.

    ``correct`` is whether auto-resolving that item would have been right (an out-of-scope item is
    never right). Coverage is the share of all history items at or above the threshold.
    When ``out_of_scope`` marks the history's out-of-scope items, the threshold must also keep the share
    of those items at or above it within ``max_oos_rate``: a rate among out-of-scope tickets, so it
    holds whatever their share of traffic becomes, unlike precision.
    """
    conf = np.asarray(confidences, dtype=float)
    hits = np.asarray(correct, dtype=bool)
    oos = np.zeros(conf.shape, bool) if out_of_scope is None else np.asarray(out_of_scope, dtype=bool)
    if conf.shape != hits.shape or conf.shape != oos.shape:
        raise ValueError("confidences, correct and out_of_scope differ in length")
    n_total = int(conf.size)
    # Items without a confidence are never auto-resolved, yet they are part of every share's denominator.
    n_oos = int(oos.sum())
    keep = ~np.isnan(conf)
    conf, hits, oos = conf[keep], hits[keep], oos[keep]
    if conf.size == 0:
        return ThresholdChoice(NEVER, 0.0, 0.0, 0.0, 0, n_total, "no_history")

    order = np.argsort(-conf, kind="stable")
    conf, hits, oos = conf[order], hits[order], oos[order]
    selected = np.arange(1, conf.size + 1)
    successes = np.cumsum(hits)
    # Only the last item of each run of ties is a valid cut: ">= threshold" takes the whole run.
    last_of_tie = np.append(conf[1:] != conf[:-1], True)
    lower = np.where(
        successes > 0, beta.ppf(1.0 - confidence_level, successes, selected - successes + 1), 0.0
    )
    oos_rate = np.cumsum(oos) / max(n_oos, 1)
    passing = np.flatnonzero(last_of_tie & (lower >= target_precision) & (oos_rate <= max_oos_rate))
    if passing.size == 0:
        return ThresholdChoice(NEVER, 0.0, 0.0, 0.0, 0, n_total, "no_threshold_meets_target")
    cut = int(passing[-1])
    return ThresholdChoice(
        threshold=float(conf[cut]),
        precision=float(successes[cut] / selected[cut]),
        precision_lower=float(lower[cut]),
        coverage=float(selected[cut] / n_total),
        n_selected=int(selected[cut]),
        n_total=n_total,
        status="ok",
    )


def softmax(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of a (rows, classes) score matrix."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def fit_temperature(scores: np.ndarray, truth: np.ndarray) -> float:
    """Factor t minimising the log loss of ``softmax(t * scores)`` against class indices ``truth``."""
    rows = np.arange(len(truth))
    if rows.size == 0:
        return 1.0

    def nll(log_t: float) -> float:
        z = scores * np.exp(log_t)
        z = z - z.max(axis=1, keepdims=True)
        log_p = z[rows, truth] - np.log(np.exp(z).sum(axis=1))
        return float(-log_p.mean())

    result = minimize_scalar(nll, bounds=(-3.0, 5.0), method="bounded")
    return float(np.exp(result.x))


def conformal_p_values(calibration: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Share of the sorted ``calibration`` scores at or below each value, +1 smoothed (small = unusual)."""
    return np.asarray((np.searchsorted(calibration, values, side="right") + 1) / (calibration.size + 1))
