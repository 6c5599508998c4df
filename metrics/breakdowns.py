"""Segments (with Holm and Benjamini-Hochberg across a dimension's values), trends and the FRT histogram."""

from typing import Any

import numpy as np
import numpy.typing as npt

from metrics import stats
from metrics.assignment import Arm
from metrics.facts import FloatArray, TicketFacts, dense_codes
from metrics.report import ARMS, DAY_SECONDS, REPORT_METRICS, ReportOptions, TicketValues, comparison_block

SEGMENT_DIMENSIONS = ("intent", "channel", "priority")
UNKNOWN_SEGMENT = "(none)"
FRT_BUCKET_EDGES_S = (0, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 172_800)
TREND_METRICS = (
    "frt_median_s",
    "resolution_median_s",
    "fcr_rate",
    "reopen_rate",
    "csat",
    "aht_mean_s",
    "cost_per_conversation_cents",
)
# Monday 1970-01-05 00:00 UTC: weeks start on Mondays, as ISO weeks do.
FIRST_MONDAY_S = 4 * DAY_SECONDS


def segments(
    facts: TicketFacts,
    values: TicketValues,
    masks: dict[Arm, npt.NDArray[np.bool_]],
    options: ReportOptions,
    *,
    limit: int = 20,
) -> dict[str, list[dict[str, Any]]]:
    """Per dimension, the `limit` largest values, each a full comparison; p-values adjusted per metric."""
    result: dict[str, list[dict[str, Any]]] = {}
    for dimension in SEGMENT_DIMENSIONS:
        labels = [UNKNOWN_SEGMENT if label is None else str(label) for label in getattr(facts, dimension)]
        codes = dense_codes(labels)
        names = list(dict.fromkeys(labels))
        counts = np.bincount(codes, minlength=len(names))
        largest = [int(code) for code in np.argsort(-counts, kind="stable")[:limit]]
        blocks = []
        for code in largest:
            inside = codes == code
            # Each arm of the segment is taken from the whole population at once, not segment then arm.
            block = comparison_block(values, {arm: mask & inside for arm, mask in masks.items()}, options)
            blocks.append({"value": names[code], "tickets": int(inside.sum()), **block})
        for metric in REPORT_METRICS:
            raw = [block["comparisons"][metric]["p_value"] for block in blocks]
            tested = [index for index, p_value in enumerate(raw) if p_value is not None]
            if not tested:
                continue
            p_values = [raw[index] for index in tested]
            for index, holm, bh in zip(
                tested, stats.holm(p_values), stats.benjamini_hochberg(p_values), strict=True
            ):
                blocks[index]["comparisons"][metric]["p_value_holm"] = holm
                blocks[index]["comparisons"][metric]["p_value_bh"] = bh
        result[dimension] = blocks
    return result


def _group_lower_quantile(
    codes: npt.NDArray[np.int64], series: FloatArray, groups: int, q: float
) -> list[float | None]:
    """Per group, the sample q-quantile as the stats module defines it (order statistic ceil(nq))."""
    present = ~np.isnan(series)
    codes, series = codes[present], series[present]
    order = np.lexsort((series, codes))
    codes, series = codes[order], series[order]
    starts = np.searchsorted(codes, np.arange(groups), side="left")
    ends = np.searchsorted(codes, np.arange(groups), side="right")
    quantiles: list[float | None] = []
    for start, end in zip(starts, ends, strict=True):
        size = int(end - start)
        rank = max(int(np.ceil(round(size * q, 9))), 1)
        quantiles.append(float(series[start + rank - 1]) if size else None)
    return quantiles


def _group_mean(codes: npt.NDArray[np.int64], series: FloatArray, groups: int) -> list[float | None]:
    present = ~np.isnan(series)
    totals = np.bincount(codes[present], weights=series[present], minlength=groups)
    counts = np.bincount(codes[present], minlength=groups)
    return [float(total / count) if count else None for total, count in zip(totals, counts, strict=True)]


def trends(
    facts: TicketFacts, values: TicketValues, masks: dict[Arm, npt.NDArray[np.bool_]], *, period: str
) -> list[dict[str, Any]]:
    """One point per UTC day (or Monday-based week) of ticket creation, with each arm's headline metrics."""
    width = DAY_SECONDS if period == "day" else 7 * DAY_SECONDS
    offset = 0.0 if period == "day" else FIRST_MONDAY_S
    if len(facts) == 0:
        return []
    index = np.floor((facts.created_s - offset) / width).astype(np.int64)
    first = int(index.min())
    codes = index - first
    groups = int(codes.max()) + 1
    per_arm: dict[str, dict[str, list[Any]]] = {}
    for arm in ARMS:
        mask = masks[arm]
        arm_codes = codes[mask]
        series: dict[str, list[Any]] = {
            "tickets": [int(count) for count in np.bincount(arm_codes, minlength=groups)],
            "frt_median_s": _group_lower_quantile(arm_codes, values.frt[mask], groups, 0.5),
            "resolution_median_s": _group_lower_quantile(arm_codes, values.resolution[mask], groups, 0.5),
        }
        for metric in TREND_METRICS[2:]:
            series[metric] = _group_mean(arm_codes, values.means[metric][mask], groups)
        per_arm[arm.value] = series
    points = []
    for group in range(groups):
        start = (first + group) * width + offset
        day = np.datetime64(int(start), "s").astype("datetime64[D]")
        arms = {
            arm: {name: column[group] for name, column in series.items()} for arm, series in per_arm.items()
        }
        if any(arm["tickets"] for arm in arms.values()):
            points.append({"period_start": str(day), "arms": arms})
    return points


def frt_histogram(values: TicketValues, masks: dict[Arm, npt.NDArray[np.bool_]]) -> dict[str, Any]:
    """Tickets per first-reply-time bucket and arm; unanswered tickets get their own bucket."""
    edges = np.array([*FRT_BUCKET_EDGES_S, np.inf])
    result: dict[str, Any] = {"bucket_edges_s": list(FRT_BUCKET_EDGES_S), "arms": {}}
    for arm in ARMS:
        frt = values.frt[masks[arm]]
        answered = frt[~np.isnan(frt)]
        counts, _ = np.histogram(answered, bins=edges)
        result["arms"][arm.value] = {
            "counts": [int(count) for count in counts],
            "unanswered": int(np.isnan(frt).sum()),
        }
    return result
