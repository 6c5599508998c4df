"""The manager dashboard renders its charts from a real report."""

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from metrics import service as metrics_service
from plugin.accounts.scopes import Scope
from plugin.core.clock import SystemClock
from plugin.core.db import transaction
from tests.builders import make_tenant
from tests.e2e.conftest import assert_accessible_basics, screenshot
from tests.metrics.builders import ticket

pytestmark = pytest.mark.browser

CHART_IDS = ("forest-chart", "frt-chart", "trend-chart")
PAINTED_PIXELS = """(id) => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return painted;
}"""


@pytest.fixture(scope="module")
def managed(e2e_sessions):
    clock = SystemClock()
    rng = random.Random(7)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=21)
    with transaction(e2e_sessions) as session:
        tenant = make_tenant(session, clock, "globex")
        for index in range(240):
            arm = "assisted" if index % 2 else "control"
            mean_reply = 15 if arm == "assisted" else 55
            events = ticket(
                f"g{index}",
                created=start + timedelta(hours=2 * index),
                arm=arm,
                reply_after=timedelta(minutes=rng.expovariate(1 / mean_reply)),
                ai_reply=arm == "assisted" and rng.random() < 0.2,
                solved_after=timedelta(hours=rng.uniform(1, 8)),
                reopened_after=timedelta(hours=10) if rng.random() < 0.08 else None,
                handle_seconds=rng.uniform(120, 600 if arm == "control" else 420),
                csat=float(rng.random() < (0.8 if arm == "assisted" else 0.7)),
                intent=rng.choice(["billing", "orders", "usage"]),
                channel=rng.choice(["email", "web"]),
            )
            metrics_service.record_events(session, tenant_id=tenant.id, events=events, clock=clock)
    return tenant


def test_manager_sees_the_charts_drawn_with_data(page, live_server, managed):
    page.goto(f"{live_server}/app/dashboard#token={managed.tokens[Scope.MANAGER]}")
    page.wait_for_selector("body[data-loaded=true]")
    for chart_id in CHART_IDS:
        points = page.evaluate(
            "(id) => Chart.getChart(document.getElementById(id)).data.datasets"
            ".reduce((sum, set) => sum + set.data.filter((v) => v !== null).length, 0)",
            chart_id,
        )
        assert points > 0, chart_id
        assert page.evaluate(PAINTED_PIXELS, chart_id) > 1000, chart_id
    summary = page.locator("#summary").inner_text()
    assert "240" in summary
    assert page.locator("#metrics-table tbody tr").count() >= 10
    assert "Better" in page.locator("#metrics-table").inner_text()  # FRT drops a lot in this data
    assert page.locator("#segments-table tbody tr").count() == 3
    page.select_option("#segment-dimension", "channel")
    assert page.locator("#segments-table tbody tr").count() == 2
    page.locator("input[name=trend-period][value=week]").check()
    weeks = page.evaluate("Chart.getChart(document.getElementById('trend-chart')).data.labels.length")
    assert 3 <= weeks <= 5
    assert_accessible_basics(page)
    screenshot(page, "dashboard")


def test_manager_downloads_the_report_csv(page, live_server, managed):
    page.goto(f"{live_server}/app/dashboard#token={managed.tokens[Scope.MANAGER]}")
    page.wait_for_selector("body[data-loaded=true]")
    with page.expect_download() as info:
        page.locator("#export-csv").click()
    download = info.value
    assert download.suggested_filename == "outcomedesk-metrics.csv"
    text = Path(download.path()).read_text()
    assert text.startswith("metric,assisted,control,diff")


def test_agent_token_cannot_open_the_dashboard(page, live_server, managed):
    page.goto(f"{live_server}/app/dashboard#token={managed.tokens[Scope.AGENT]}")
    page.locator("#page-notice", has_text="may not see").wait_for()
