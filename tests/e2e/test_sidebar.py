"""The agent's sidebar inside the demo helpdesk: the draft streams in, insert, send, feedback recorded."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from drafting import training
from drafting.knowledge import Passage
from drafting.models import Draft, DraftFeedback
from metrics import service as metrics_service
from metrics.assignment import Unit
from plugin.accounts.scopes import Scope
from plugin.core.clock import SystemClock
from plugin.core.db import transaction
from plugin.helpdesk import local
from plugin.web.routes import ZAF_SDK_URL
from tests.builders import make_tenant
from tests.e2e.conftest import assert_accessible_basics, screenshot

pytestmark = pytest.mark.browser

QUESTION = "Hi, why is my bill $150 this month? Can you check my account?"
BILLING_PASSAGE = Passage(
    "billing-faq",
    "Why your bill changed",
    "Bills and charges",
    "Your monthly bill includes every active line and any add-on bought during the month. "
    "The account page lists each charge of the bill.",
)
BILLING_PROCEDURE = Passage(
    "internal-billing-disputes",
    "Checking a bill",
    "Internal: Bill questions",
    "Open the billing console and compare this month's bill with last month's before answering.",
    audience="agent",
)

# The few ZAF client calls the sidebar makes, answered the way Zendesk's SDK answers them.
FAKE_ZAF_SDK = """
window.zafCalls = [];
window.ZAFClient = { init() { return {
  get: async (paths) => ({
    "ticket.id": 9001,
    "ticket.requester": { id: 77, email: "john.smith@example.com", name: "John Smith" },
    "ticket.comments": [
      { id: 501, value: "<p>Why is my bill $150 this month?</p>", author: { id: 77, role: "end-user" } },
      { id: 502, value: "<p>Let me check.</p>", author: { id: 1, role: "agent" } },
    ],
    "ticket.via.channel": "email",
  }),
  invoke: async (name, ...args) => { window.zafCalls.push([name, ...args]); },
  on() {},
}; } };
"""


@pytest.fixture(scope="module")
def desk(e2e_sessions):
    clock = SystemClock()
    with transaction(e2e_sessions) as session:
        tenant = make_tenant(session, clock, "acme")
        metrics_service.configure_experiment(
            session, tenant_id=tenant.id, unit=Unit.TICKET, assisted_share_bp=10_000, clock=clock
        )
        training.import_knowledge(
            session, tenant_id=tenant.id, passages=[BILLING_PASSAGE, BILLING_PROCEDURE], clock=clock
        )
        assisted = local.create_ticket(
            session,
            tenant_id=tenant.id,
            subject="Question about my bill",
            requester_email="john.smith@example.com",
            requester_name="John Smith",
            body=QUESTION,
            clock=clock,
        )
    return tenant, assisted.ticket_id


def feedback_kinds(sessions, tenant_id):
    with transaction(sessions) as session:
        rows = session.scalars(select(DraftFeedback).where(DraftFeedback.tenant_id == tenant_id)).all()
        return [(row.kind, row.final_text, row.rating) for row in rows]


def test_agent_inserts_the_streamed_draft_and_the_ticket_shows_it(page, live_server, e2e_sessions, desk):
    tenant, ticket_id = desk
    token = tenant.tokens[Scope.AGENT]
    page.goto(f"{live_server}/helpdesk#token={token}")
    assert "#token" not in page.url
    page.get_by_role("link", name="Question about my bill").click()
    page.wait_for_url(f"**/helpdesk/tickets/{ticket_id}")
    sidebar = page.frame_locator("iframe.sidebar-frame")
    draft = sidebar.locator("#draft-text")
    draft.locator(".sentence").first.wait_for()
    sidebar.locator("#insert:not([disabled])").wait_for()
    assert draft.get_attribute("aria-busy") == "false"
    text = draft.inner_text()
    assert "$150.00" in text
    assert sidebar.locator("#arm-badge").inner_text() == "AI assisted"
    assert "Premium Plan" in sidebar.locator("#account-key").inner_text()
    assert sidebar.locator("#confidence-text").inner_text().endswith("%")
    assert sidebar.locator("#draft-warnings").inner_text()  # why it was not auto-resolved
    sidebar.locator("#draft-text sup a").first.click()
    assert sidebar.locator("#sources-list li.target .source-body").is_visible()
    # The cited knowledge-base passage is shown as it read when the draft was written.
    excerpt = sidebar.locator("#sources-list blockquote.excerpt")
    assert excerpt.count() == 1 and "every active line" in excerpt.text_content()
    assert "Why your bill changed" in sidebar.locator("#sources-list").inner_text()
    screenshot(page, "sidebar-draft")

    sidebar.locator("#insert").click()
    reply = page.locator("#reply-body")
    # expect() polls from Python: wait_for_function would eval a string, which the page's CSP forbids.
    expect(reply).to_have_value(re.compile(r"\$150\.00"))
    sidebar.locator("#action-status", has_text="Inserted").wait_for()
    assert feedback_kinds(e2e_sessions, tenant.id)[0][0] == "inserted"

    reply.press("End")
    reply.type(" Kind regards, Ada")
    page.locator("#send").click()
    page.locator("#conversation li.staff", has_text="Kind regards, Ada").wait_for()
    assert "$150.00" in page.locator("#conversation li.staff").inner_text()
    kinds = [kind for kind, _, _ in feedback_kinds(e2e_sessions, tenant.id)]
    assert kinds == ["inserted", "edited"]
    screenshot(page, "helpdesk-ticket-after-reply")


def test_agent_rates_a_draft_from_the_keyboard(page, live_server, e2e_sessions, desk):
    tenant, ticket_id = desk
    page.set_viewport_size({"width": 320, "height": 900})
    page.goto(f"{live_server}/app/sidebar?ticket={ticket_id}#token={tenant.tokens[Scope.AGENT]}")
    page.locator("#insert:not([disabled])").wait_for()
    page.locator("#rate-form input[value='4']").focus()
    page.keyboard.press("Space")
    page.locator("#rate-form button[type=submit]").focus()
    page.keyboard.press("Enter")
    page.locator("#action-status", has_text="rated 4").wait_for()
    assert ("rated", None, 4) in feedback_kinds(e2e_sessions, tenant.id)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, "the sidebar must not scroll sideways at 320 px"
    assert_accessible_basics(page)
    screenshot(page, "sidebar-320px")


def test_agent_regenerates_then_discards(page, live_server, e2e_sessions, desk):
    tenant, ticket_id = desk
    page.goto(f"{live_server}/app/sidebar?ticket={ticket_id}#token={tenant.tokens[Scope.AGENT]}")
    page.locator("#insert:not([disabled])").wait_for()
    first = page.locator("#draft-text").inner_text()
    page.locator("#regenerate").click()
    page.locator("#action-status", has_text="Draft ready").wait_for()
    assert page.locator("#draft-text").inner_text().strip() == first.strip()  # same facts, same draft
    page.locator("#discard").click()
    page.locator("#action-status", has_text="discarded").wait_for()
    assert page.locator("#insert").is_disabled()
    assert page.evaluate("document.activeElement.id") == "regenerate"
    assert ("discarded", None, None) in feedback_kinds(e2e_sessions, tenant.id)


def test_inside_zendesk_insert_goes_through_the_zaf_client(page, live_server, e2e_sessions, desk):
    tenant, _ = desk
    page.context.route(
        ZAF_SDK_URL, lambda route: route.fulfill(body=FAKE_ZAF_SDK, content_type="text/javascript")
    )
    page.goto(f"{live_server}/app/sidebar?host=zendesk&origin=https://acme.zendesk.com&app_guid=g1")
    page.evaluate(f"sessionStorage.setItem('outcomedesk.token', '{tenant.tokens[Scope.AGENT]}')")
    page.reload()
    page.locator("#insert:not([disabled])").wait_for()
    assert "$150.00" in page.locator("#draft-text").inner_text()
    page.locator("#insert").click()
    page.locator("#action-status", has_text="Zendesk").wait_for()
    calls = page.evaluate("window.zafCalls")
    appended = [args for name, *args in calls if name == "comment.appendText"]
    assert len(appended) == 1 and "$150.00" in appended[0][0]
    with transaction(e2e_sessions) as session:
        kinds = session.scalars(
            select(DraftFeedback.kind)
            .join(Draft, Draft.id == DraftFeedback.draft_id)
            .where(Draft.tenant_id == tenant.id, Draft.ticket_id == "9001", Draft.message_id == "501")
        ).all()
    assert kinds == ["inserted"]


def test_control_ticket_shows_the_notice_and_no_draft(page, live_server, e2e_sessions, desk):
    tenant, _ = desk
    clock = SystemClock()
    with transaction(e2e_sessions) as session:
        metrics_service.configure_experiment(
            session, tenant_id=tenant.id, unit=Unit.TICKET, assisted_share_bp=0, clock=clock
        )
        control = local.create_ticket(
            session,
            tenant_id=tenant.id,
            subject="Data usage",
            requester_email="sarah.j@example.com",
            requester_name="Sarah J",
            body="How much data have I used this month?",
            clock=clock,
        )
    page.goto(f"{live_server}/helpdesk/tickets/{control.ticket_id}#token={tenant.tokens[Scope.AGENT]}")
    sidebar = page.frame_locator("iframe.sidebar-frame")
    sidebar.locator("#notice", has_text="control group").wait_for()
    assert "no AI draft, by design" in sidebar.locator("#notice").inner_text()
    assert sidebar.locator("#draft-section").is_hidden()
    screenshot(page, "sidebar-control")
