"""The whole JSON report (DESIGN §8) from per-ticket facts, and the price-book fees for imported files."""

import csv
import io
from typing import Any

import numpy as np

from metrics.assignment import Arm
from metrics.breakdowns import frt_histogram, segments, trends
from metrics.facts import FloatArray, TicketFacts
from metrics.report import ReportOptions, arm_masks, comparison_block, ticket_values

# The price book of DESIGN §9, used when no billing ledger is at hand (imported files).
DRAFT_FEE_CENTS = 25
RESOLUTION_FEE_CENTS = 50


def price_book_fees(facts: TicketFacts) -> FloatArray:
    """25 cents per delivered draft; 50 cents once per ticket that an AI reply resolved without a reopen.

    An autonomous resolution is a ticket solved now, never reopened, answered by AI and by no human; it
    is billed as the resolution and not also as drafts. Control tickets are never charged.
    """
    autonomous = (
        ~np.isnan(facts.solved_s) & (facts.reopens == 0) & (facts.ai_replies > 0) & (facts.human_replies == 0)
    )
    fees = np.where(autonomous, float(RESOLUTION_FEE_CENTS), facts.drafts_delivered * DRAFT_FEE_CENTS)
    return np.where(facts.arm == Arm.CONTROL.value, 0.0, fees)


def assemble_report(
    facts: TicketFacts,
    fees_cents: FloatArray,
    options: ReportOptions,
    *,
    include_segments: bool = True,
    include_trends: bool = True,
) -> dict[str, Any]:
    """`{"arms", "comparisons", "srm", ...}` plus segments, daily and weekly trends and the FRT histogram."""
    values = ticket_values(facts, fees_cents, options)
    masks = arm_masks(facts)
    assigned = masks[Arm.ASSISTED] | masks[Arm.CONTROL]
    report: dict[str, Any] = {
        "tickets": len(facts),
        "unassigned_tickets": int((~assigned).sum()),
        **comparison_block(values, masks, options),
        "definitions": {
            "unit": options.unit.value,
            "clock": "business_hours" if options.schedule is not None else "calendar",
            "repeat_contact_window_s": options.repeat_contact_window_s,
            "cost_per_agent_hour_cents": options.cost_per_agent_hour_cents,
            "alpha": options.alpha,
            **options.extra,
        },
        "frt_histogram": frt_histogram(values, masks),
    }
    if include_segments:
        report["segments"] = segments(facts, values, masks, options)
    if include_trends:
        report["trends"] = {
            "day": trends(facts, values, masks, period="day"),
            "week": trends(facts, values, masks, period="week"),
        }
    return report


CSV_COLUMNS = (
    "metric",
    "assisted",
    "control",
    "diff",
    "ci_low",
    "ci_high",
    "relative_lift",
    "p_value",
)


def report_csv(report: dict[str, Any]) -> str:
    """The headline table (one row per metric, both arms and the comparison) as CSV text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerow(["tickets", report["arms"]["assisted"]["tickets"], report["arms"]["control"]["tickets"]])
    for metric, comparison in report["comparisons"].items():
        writer.writerow(
            [
                metric,
                report["arms"]["assisted"].get(metric),
                report["arms"]["control"].get(metric),
                *(comparison.get(column) for column in CSV_COLUMNS[3:]),
            ]
        )
    writer.writerow(["srm_p_value", report["srm"]["p_value"]])
    return buffer.getvalue()
