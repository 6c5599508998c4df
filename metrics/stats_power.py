"""Power and minimum detectable effect for a relative effect, two-sided (gbstats frequentist semantics)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm

from metrics.stats_comparison import ErrorCode


@dataclass(frozen=True)
class PowerResult:
    """Power at the assumed effect and the smallest relative effect detectable at the target power."""

    power: float
    mde: float
    units_per_arm: float
    error: str | None = None


def power_analysis(
    *,
    mean: float,
    variance: float,
    relative_effect: float,
    total_units: float,
    arms: int = 2,
    alpha: float = 0.05,
    target_power: float = 0.8,
) -> PowerResult:
    """Power and MDE when `total_units` split evenly over `arms` and each comparison uses two of them."""
    units_per_arm = total_units / arms
    if units_per_arm < 2:
        return PowerResult(0.0, math.inf, units_per_arm, ErrorCode.TOO_FEW_UNITS)
    if not variance > 0:
        return PowerResult(0.0, math.inf, units_per_arm, ErrorCode.ZERO_VARIANCE)
    if mean == 0:
        return PowerResult(0.0, math.inf, units_per_arm, ErrorCode.ZERO_CONTROL_MEAN)
    # Delta-method variance of the lift with equal arms is scale * (1 + (1 + effect)^2).
    scale = variance / (mean**2 * units_per_arm)
    z_alpha = float(norm.ppf(1 - alpha / 2))
    standardized = relative_effect / math.sqrt(scale * (1 + (1 + relative_effect) ** 2))
    power = float(norm.sf(z_alpha - standardized) + norm.cdf(-z_alpha - standardized))
    # Ignoring the far rejection tail turns "power = target" into the quadratic
    # effect^2 = k * (1 + (1 + effect)^2), solved here for its positive root.
    k = (z_alpha + float(norm.ppf(target_power))) ** 2 * scale
    if k >= 1:
        return PowerResult(power, math.inf, units_per_arm, ErrorCode.MDE_UNREACHABLE)
    mde = (k + math.sqrt(2 * k - k**2)) / (1 - k)
    return PowerResult(power, mde, units_per_arm)
