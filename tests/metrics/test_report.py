from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from metrics.assignment import Unit
from metrics.business_hours import Schedule
from metrics.file_report import report_from_events
from metrics.report import REPORT_METRICS, ReportOptions
from tests.metrics.builders import ticket

MONDAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ARM_FIELDS = {
    "tickets",
    "frt_median_s",
    "frt_p90_s",
    "frt_human_median_s",
    "fcr_rate",
    "one_touch_rate",
    "resolution_median_s",
    "aht_mean_s",
    "replies_per_ticket",
    "reopen_rate",
    "escalation_rate",
    "csat",
    "cost_per_conversation_cents",
}
TICKET_UNIT = ReportOptions(unit=Unit.TICKET, cost_per_agent_hour_cents=3_000)


def experiment(size: int = 60, *, ai: bool = True) -> list:
    events = []
    for index in range(size):
        arm = "assisted" if index % 2 else "control"
        fast = arm == "assisted"
        events += ticket(
            f"t{index}",
            created=MONDAY + timedelta(hours=index),
            arm=arm,
            reply_after=timedelta(minutes=5 + index % 7 if fast else 40 + index % 11),
            ai_reply=ai and fast and index % 3 == 0,
            solved_after=timedelta(hours=2 + index % 5),
            reopened_after=timedelta(hours=9) if index % 9 == 0 else None,
            extra_replies=index % 4 == 0,
            handle_seconds=None if fast and index % 3 == 0 else 300 + 10 * (index % 13),
            csat=1.0 if index % 5 else 0.0,
            escalated=index % 8 == 0,
            intent=("billing", "login", "refund")[index % 3],
        )
    return events


def swapped(events: list) -> list:
    flip = {"assisted": "control", "control": "assisted"}
    return [replace(event, arm=flip[event.arm]) for event in events]


def test_report_has_the_design_shape():
    report = report_from_events(experiment(), options=TICKET_UNIT)
    for arm in ("assisted", "control"):
        assert set(report["arms"][arm]) >= ARM_FIELDS
    for metric in ARM_FIELDS - {"tickets"}:
        assert {"diff", "ci_low", "ci_high", "relative_lift", "p_value"} <= set(report["comparisons"][metric])
    assert 0 <= report["srm"]["p_value"] <= 1
    assert {"intent", "channel", "priority"} == set(report["segments"])
    assert report["trends"]["day"] and report["trends"]["week"]


@pytest.mark.parametrize("unit", [Unit.TICKET, Unit.REQUESTER])
def test_swapping_arms_flips_the_sign_of_every_difference(unit):
    # Without AI replies no fee depends on the arm (control tickets are never charged).
    options = replace(TICKET_UNIT, unit=unit)
    report = report_from_events(experiment(ai=False), options=options)
    mirror = report_from_events(swapped(experiment(ai=False)), options=options)
    for name, value in report["arms"]["assisted"].items():
        assert mirror["arms"]["control"][name] == (
            value if value is None else pytest.approx(value, rel=1e-12)
        )
    for metric in REPORT_METRICS:
        original, flipped = report["comparisons"][metric], mirror["comparisons"][metric]
        assert flipped["diff"] == pytest.approx(-original["diff"], abs=1e-9)
        assert flipped["ci_low"] == pytest.approx(-original["ci_high"], abs=1e-9)
        assert flipped["p_value"] == pytest.approx(original["p_value"], rel=1e-9)


def test_assisted_arm_answers_faster_in_this_data():
    report = report_from_events(experiment(200), options=TICKET_UNIT)
    frt = report["comparisons"]["frt_median_s"]
    assert frt["diff"] < 0 and frt["ci_high"] < 0 and frt["p_value"] < 0.05


def test_srm_is_flagged_on_a_skewed_split():
    events = []
    for index in range(1_000):
        events += ticket(f"t{index}", created=MONDAY, arm="assisted" if index < 580 else "control")
    report = report_from_events(events, options=TICKET_UNIT, include_segments=False, include_trends=False)
    assert report["srm"]["flagged"] is True and report["srm"]["p_value"] < 0.001
    balanced = [
        replace(event, arm="assisted" if int(event.ticket_id[1:]) % 2 else "control") for event in events
    ]
    report = report_from_events(balanced, options=TICKET_UNIT, include_segments=False, include_trends=False)
    assert report["srm"]["flagged"] is False


def repeat_contact_report(days_later: float) -> dict:
    solved_after = timedelta(hours=1)
    events = ticket(
        "first", created=MONDAY, requester="ann", reply_after=timedelta(minutes=5), solved_after=solved_after
    )
    events += ticket("second", created=MONDAY + solved_after + timedelta(days=days_later), requester="ann")
    return report_from_events(events, options=TICKET_UNIT, include_segments=False, include_trends=False)


def test_fcr_is_lost_when_the_requester_comes_back_on_day_6():
    report = repeat_contact_report(6)
    assert report["arms"]["assisted"]["fcr_rate"] == 0.0


def test_fcr_holds_when_the_requester_comes_back_on_day_8():
    report = repeat_contact_report(8)
    assert report["arms"]["assisted"]["fcr_rate"] == 0.5  # the first ticket counts, the open second does not


def test_fcr_window_is_configurable():
    solved_after = timedelta(hours=1)
    data = ticket(
        "first", created=MONDAY, requester="ann", reply_after=timedelta(minutes=5), solved_after=solved_after
    )
    data += ticket("second", created=MONDAY + solved_after + timedelta(days=8), requester="ann")
    options = replace(TICKET_UNIT, repeat_contact_window_s=10 * 86_400)
    report = report_from_events(data, options=options, include_segments=False, include_trends=False)
    assert report["arms"]["assisted"]["fcr_rate"] == 0.0


def test_frt_in_business_hours_skips_the_weekend_and_a_holiday():
    friday_4pm = datetime(2026, 12, 24, 15, 0, tzinfo=UTC)  # Thursday 24 Dec, 16:00 in Rome
    events = ticket("t1", created=friday_4pm, reply_after=timedelta(days=3, hours=18))  # Monday 10:00 Rome
    schedule = Schedule(timezone="Europe/Rome", holidays=frozenset({date(2026, 12, 25)}))
    business = report_from_events(
        events, options=replace(TICKET_UNIT, schedule=schedule), include_segments=False, include_trends=False
    )
    calendar = report_from_events(events, options=TICKET_UNIT, include_segments=False, include_trends=False)
    assert business["arms"]["assisted"]["frt_median_s"] == 2 * 3600
    assert calendar["arms"]["assisted"]["frt_median_s"] == (3 * 24 + 18) * 3600


def test_unanswered_tickets_are_counted_not_dropped():
    events = ticket("t1", created=MONDAY, reply_after=timedelta(minutes=30))
    events += ticket("t2", created=MONDAY, reply_after=timedelta(hours=5))
    events += ticket("t3", created=MONDAY)
    arm = report_from_events(events, options=TICKET_UNIT, include_segments=False, include_trends=False)[
        "arms"
    ]["assisted"]
    assert arm["tickets"] == 3 and arm["unanswered"] == 1
    assert arm["answered_within_1h_rate"] == pytest.approx(1 / 3)
    assert arm["answered_within_24h_rate"] == pytest.approx(2 / 3)


@pytest.mark.parametrize("per_arm", [0, 1])
def test_empty_and_single_ticket_arms_give_error_codes_not_exceptions(per_arm):
    events = []
    for index in range(per_arm):
        events += ticket(f"a{index}", created=MONDAY, arm="assisted", reply_after=timedelta(minutes=3))
        events += ticket(f"c{index}", created=MONDAY, arm="control", reply_after=timedelta(minutes=9))
    report = report_from_events(events, options=TICKET_UNIT)
    assert report["comparisons"]["fcr_rate"]["error"] == "too_few_units"
    assert report["comparisons"]["frt_median_s"]["error"] == "too_few_units"
    assert report["comparisons"]["fcr_rate"]["p_value"] == 1.0


def test_cost_per_conversation_uses_handle_time_and_the_price_book():
    events = ticket(
        "ai",
        created=MONDAY,
        reply_after=timedelta(minutes=1),
        ai_reply=True,
        solved_after=timedelta(minutes=2),
    )
    events += ticket("human", created=MONDAY, reply_after=timedelta(minutes=1), handle_seconds=1800)
    events += ticket(
        "control", created=MONDAY, arm="control", reply_after=timedelta(minutes=1), handle_seconds=3600
    )
    report = report_from_events(events, options=TICKET_UNIT, include_segments=False, include_trends=False)
    # assisted: (50 cents resolution) + (half an hour at $30) = 50 + 1500 over two tickets
    assert report["arms"]["assisted"]["cost_per_conversation_cents"] == pytest.approx((50 + 1500) / 2)
    assert report["arms"]["control"]["cost_per_conversation_cents"] == pytest.approx(3000)


def test_segments_carry_holm_and_bh_adjusted_p_values():
    report = report_from_events(experiment(120), options=TICKET_UNIT)
    for block in report["segments"]["intent"]:
        comparison = block["comparisons"]["frt_median_s"]
        assert comparison["p_value_holm"] >= comparison["p_value"]
        assert comparison["p_value_bh"] >= comparison["p_value"]
