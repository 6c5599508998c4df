"""The assisted-vs-control report from per-ticket facts (DESIGN §8): pure, numpy and the stats module.

Rates use every ticket of the arm as denominator (conditioning on "solved" would compare different
populations once the AI changes which tickets get solved); CSAT uses the rated tickets. When the
randomization unit is not the ticket, per-ticket metrics are ratios over units (delta method).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from metrics import stats
from metrics.assignment import DEFAULT_ASSISTED_SHARE_BP, Arm, Unit
from metrics.business_hours import BusinessCalendar, Schedule
from metrics.facts import FloatArray, TicketFacts

DAY_SECONDS = 86_400.0
ARMS = (Arm.ASSISTED, Arm.CONTROL)
QUANTILE_METRICS = {
    "frt_median_s": ("frt", 0.5),
    "frt_p90_s": ("frt", 0.9),
    "frt_human_median_s": ("frt_human", 0.5),
    "resolution_median_s": ("resolution", 0.5),
}
MEAN_METRICS = (
    "fcr_rate",
    "one_touch_rate",
    "aht_mean_s",
    "replies_per_ticket",
    "reopen_rate",
    "escalation_rate",
    "csat",
    "cost_per_conversation_cents",
    "answered_within_1h_rate",
    "answered_within_24h_rate",
)
BINARY_METRICS = frozenset(
    {
        "fcr_rate",
        "one_touch_rate",
        "reopen_rate",
        "escalation_rate",
        "csat",
        "answered_within_1h_rate",
        "answered_within_24h_rate",
    }
)
REPORT_METRICS = (*QUANTILE_METRICS, *MEAN_METRICS)


@dataclass(frozen=True)
class ReportOptions:
    """How to read the facts: costs, clock, FCR window, the randomization unit and the planned split."""

    cost_per_agent_hour_cents: float = 0.0
    schedule: Schedule | None = None
    repeat_contact_window_s: float = 7 * DAY_SECONDS
    unit: Unit = Unit.REQUESTER
    assisted_share_bp: int = DEFAULT_ASSISTED_SHARE_BP
    sequential: bool = False
    alpha: float = 0.05
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TicketValues:
    """Per-ticket metric values derived once from the facts (times already in the chosen clock)."""

    frt: FloatArray
    frt_human: FloatArray
    resolution: FloatArray
    means: dict[str, FloatArray]
    clusters: npt.NDArray[np.int64]

    def take(self, mask: npt.NDArray[np.bool_]) -> "TicketValues":
        return TicketValues(
            self.frt[mask],
            self.frt_human[mask],
            self.resolution[mask],
            {name: values[mask] for name, values in self.means.items()},
            self.clusters[mask],
        )


def ticket_values(facts: TicketFacts, fees_cents: FloatArray, options: ReportOptions) -> TicketValues:
    """Every metric's per-ticket value; NaN where the ticket does not count (unanswered, unrated...)."""
    duration: Callable[[FloatArray, FloatArray], FloatArray]
    if options.schedule is not None:
        instants = np.concatenate((facts.created_s, facts.first_reply_s, facts.solved_s))
        calendar = BusinessCalendar.covering(options.schedule, instants[~np.isnan(instants)])
        duration = calendar.between
    else:

        def duration(starts: FloatArray, ends: FloatArray) -> FloatArray:
            return np.maximum(ends - starts, 0.0)

    frt = duration(facts.created_s, facts.first_reply_s)
    solved = ~np.isnan(facts.solved_s)
    repeat = (facts.next_contact_s - facts.solved_s) <= options.repeat_contact_window_s
    fcr = solved & (facts.replies <= 1) & (facts.reopens == 0) & ~repeat
    cost = facts.handle_seconds / 3600.0 * options.cost_per_agent_hour_cents + fees_cents
    with np.errstate(invalid="ignore"):
        means = {
            "fcr_rate": fcr.astype(float),
            "one_touch_rate": (solved & (facts.replies == 1)).astype(float),
            "aht_mean_s": facts.handle_seconds,
            "replies_per_ticket": facts.replies,
            "reopen_rate": (facts.reopens > 0).astype(float),
            "escalation_rate": (facts.escalations > 0).astype(float),
            "csat": facts.csat,
            "cost_per_conversation_cents": cost,
            "answered_within_1h_rate": (frt <= 3600.0).astype(float),
            "answered_within_24h_rate": (frt <= DAY_SECONDS).astype(float),
        }
    clusters = np.arange(len(facts), dtype=np.int64) if options.unit == Unit.TICKET else facts.unit_code
    return TicketValues(
        frt=frt,
        frt_human=duration(facts.created_s, facts.first_human_reply_s),
        resolution=duration(facts.created_s, facts.solved_s),
        means=means,
        clusters=clusters,
    )


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class ArmSummary:
    tickets: int
    units: int
    metrics: dict[str, float | int | None]
    quantiles: dict[str, stats.QuantileEstimate]
    statistics: dict[str, stats.SampleMean | stats.Proportion | stats.RatioStats]


def _mean_statistic(
    values: FloatArray, clusters: tuple[npt.NDArray[np.int64], FloatArray] | None, *, binary: bool
) -> stats.SampleMean | stats.Proportion | stats.RatioStats:
    """Ticket-level sums, or per-unit numerator/denominator sums when `clusters` (dense codes and each
    unit's ticket count) is given."""
    counted = ~np.isnan(values)
    complete = bool(counted.all())
    present = values if complete else values[counted]
    if clusters is None:
        if binary:
            return stats.Proportion(int(present.size), int(present.sum()))
        return stats.SampleMean(int(present.size), float(present.sum()), float(np.dot(present, present)))
    codes, tickets_per_unit = clusters
    size = tickets_per_unit.size
    if complete:
        numerators = np.bincount(codes, weights=present, minlength=size)
        denominators = tickets_per_unit
    else:
        numerators = np.bincount(codes[counted], weights=present, minlength=size)
        denominators = np.bincount(codes[counted], minlength=size).astype(float)
        rated = denominators > 0
        numerators, denominators = numerators[rated], denominators[rated]
    return stats.RatioStats(
        n=int(numerators.size),
        num_sum=float(numerators.sum()),
        num_sum_sq=float(np.dot(numerators, numerators)),
        den_sum=float(denominators.sum()),
        den_sum_sq=float(np.dot(denominators, denominators)),
        cross_sum=float(np.dot(numerators, denominators)),
    )


def summarize_arm(values: TicketValues, options: ReportOptions) -> ArmSummary:
    """One arm's headline numbers, plus the sufficient statistics its comparisons need."""
    tickets = int(values.frt.size)
    clustered = options.unit != Unit.TICKET
    sorted_times = {
        name: np.sort(series[~np.isnan(series)])
        for name, series in (
            ("frt", values.frt),
            ("frt_human", values.frt_human),
            ("resolution", values.resolution),
        )
    }
    quantiles = {
        metric: stats.quantile_ci(sorted_times[source], q, alpha=options.alpha)
        for metric, (source, q) in QUANTILE_METRICS.items()
    }
    _, dense = np.unique(values.clusters, return_inverse=True)
    tickets_per_unit = np.bincount(dense).astype(float)
    units = int(tickets_per_unit.size)
    statistics = {
        metric: _mean_statistic(
            values.means[metric],
            (dense, tickets_per_unit) if clustered else None,
            binary=metric in BINARY_METRICS,
        )
        for metric in MEAN_METRICS
    }
    metrics: dict[str, float | int | None] = {}
    for metric, estimate in quantiles.items():
        metrics[metric] = estimate.estimate if estimate.n > 0 else None
    for metric, statistic in statistics.items():
        empty = statistic.n == 0 or (isinstance(statistic, stats.RatioStats) and statistic.den_sum == 0)
        metrics[metric] = None if empty else _finite(statistic.mean)
    metrics["unanswered"] = int(np.isnan(values.frt).sum())
    return ArmSummary(tickets, units, metrics, quantiles, statistics)


def _test_payload(absolute: stats.TestResult, relative: stats.TestResult) -> dict[str, Any]:
    return {
        "diff": _finite(absolute.estimate),
        "ci_low": _finite(absolute.ci_low),
        "ci_high": _finite(absolute.ci_high),
        "relative_lift": _finite(relative.estimate) if relative.error is None else None,
        "relative_ci_low": _finite(relative.ci_low) if relative.error is None else None,
        "relative_ci_high": _finite(relative.ci_high) if relative.error is None else None,
        "p_value": _finite(absolute.p_value),
        "error": absolute.error,
    }


def compare_arms(
    assisted: ArmSummary, control: ArmSummary, options: ReportOptions
) -> dict[str, dict[str, Any]]:
    """Assisted minus control for every metric, with 95% CIs and p-values (`error` when uninformative)."""
    comparisons: dict[str, dict[str, Any]] = {}
    for metric in QUANTILE_METRICS:
        pair = (control.quantiles[metric], assisted.quantiles[metric])
        comparisons[metric] = _test_payload(
            stats.quantile_difference_test(*pair, relative=False, alpha=options.alpha),
            stats.quantile_difference_test(*pair, relative=True, alpha=options.alpha),
        )
    for metric in MEAN_METRICS:
        base, treated = control.statistics[metric], assisted.statistics[metric]
        test = stats.ratio_test if isinstance(base, stats.RatioStats) else stats.welch_test
        payload = _test_payload(
            test(base, treated, relative=False, alpha=options.alpha),  # type: ignore[arg-type]
            test(base, treated, relative=True, alpha=options.alpha),  # type: ignore[arg-type]
        )
        if options.sequential:
            sequential = stats.sequential_test(base, treated, relative=False, alpha=options.alpha)
            payload["sequential_ci_low"] = _finite(sequential.ci_low)
            payload["sequential_ci_high"] = _finite(sequential.ci_high)
            payload["sequential_p_value"] = _finite(sequential.p_value)
        power = stats.power_analysis(
            mean=base.mean, variance=base.variance, relative_effect=0.05, total_units=base.n + treated.n
        )
        payload["mde_relative"] = _finite(power.mde) if power.error is None else None
        comparisons[metric] = payload
    return comparisons


def srm_payload(assisted: ArmSummary, control: ArmSummary, options: ReportOptions) -> dict[str, Any]:
    share = options.assisted_share_bp / 10_000
    observed = {"assisted": assisted.units, "control": control.units}
    if not 0 < share < 1:
        return {
            "p_value": None,
            "flagged": False,
            "observed_units": observed,
            "expected_assisted_share": share,
        }
    result = stats.srm_check([assisted.units, control.units], [share, 1 - share])
    return {
        "p_value": result.p_value,
        "chi_square": result.chi_square,
        "flagged": result.flagged,
        "observed_units": observed,
        "expected_assisted_share": share,
        "error": result.error,
    }


def arm_masks(facts: TicketFacts) -> dict[Arm, npt.NDArray[np.bool_]]:
    return {arm: facts.arm == arm.value for arm in ARMS}


def comparison_block(
    values: TicketValues, masks: dict[Arm, npt.NDArray[np.bool_]], options: ReportOptions
) -> dict[str, Any]:
    """Arms, comparisons and SRM for one population of tickets (the whole report or a segment)."""
    summaries = {arm: summarize_arm(values.take(masks[arm]), options) for arm in ARMS}
    assisted, control = summaries[Arm.ASSISTED], summaries[Arm.CONTROL]
    return {
        "arms": {
            arm.value: {"tickets": summary.tickets, "units": summary.units, **summary.metrics}
            for arm, summary in summaries.items()
        },
        "comparisons": compare_arms(assisted, control, options),
        "srm": srm_payload(assisted, control, options),
    }
