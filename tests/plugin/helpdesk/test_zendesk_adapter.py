import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from plugin.core.errors import UpstreamFailed, UpstreamTimeout
from plugin.helpdesk.base import Helpdesk, latest_customer_message
from plugin.helpdesk.zendesk import RetryPolicy, ZendeskHelpdesk, reply_marker, retry_after_seconds
from tests.fakes.zendesk_server import API_TOKEN, BOT_ID, EMAIL, FakeZendesk, running_zendesk

FAST = RetryPolicy(attempts=3, backoff_initial_s=0.01, backoff_max_s=0.02, max_retry_after_s=1.0)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, FakeZendesk]]:
    with running_zendesk() as running:
        yield running


@pytest.fixture
def zendesk(server: tuple[str, FakeZendesk]) -> tuple[str, FakeZendesk]:
    server[1].reset()
    return server


def call(
    base_url: str,
    operation: Callable[[ZendeskHelpdesk], Awaitable[Any]],
    *,
    sleeps: list[float] | None = None,
    timeout_s: float = 2.0,
    api_token: str = API_TOKEN,
) -> Any:
    async def recording_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        await asyncio.sleep(seconds)

    async def run() -> Any:
        async with ZendeskHelpdesk(
            base_url,
            email=EMAIL,
            api_token=api_token,
            bot_user_id=str(BOT_ID),
            timeout_s=timeout_s,
            retry=FAST,
            sleep=recording_sleep,
        ) as helpdesk:
            return await operation(helpdesk)

    return asyncio.run(run())


def test_the_zendesk_adapter_implements_the_helpdesk_interface(zendesk):
    base_url, _fake = zendesk

    async def typed(helpdesk: ZendeskHelpdesk) -> Helpdesk:
        return helpdesk

    assert call(base_url, typed) is not None


def test_post_reply_adds_one_public_comment_by_the_bot_and_returns_its_id(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()

    posted = call(base_url, lambda z: z.post_reply(str(ticket_id), "It ships today.", idempotency_key="r-1"))

    comment = fake.comments[ticket_id][-1]
    assert len(fake.comments[ticket_id]) == 2
    assert (comment["body"], comment["public"], comment["author_id"]) == ("It ships today.", True, BOT_ID)
    assert posted.comment_id == str(comment["id"]) and posted.public is True
    assert fake.writes()[0].idempotency_key == "r-1"


def test_add_note_is_an_internal_comment(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()

    posted = call(base_url, lambda z: z.add_note(str(ticket_id), "Guardrail: refund", idempotency_key="n-1"))

    assert posted.public is False
    assert fake.comments[ticket_id][-1]["public"] is False
    assert len(fake.public_comments(ticket_id)) == 1


def test_solve_sets_the_ticket_to_solved(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()

    call(base_url, lambda z: z.solve(str(ticket_id)))

    assert fake.tickets[ticket_id]["status"] == "solved"
    assert fake.writes()[0].body == {"ticket": {"status": "solved"}}


def test_add_tags_keeps_the_tags_already_there(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket(tags=("vip",))

    call(base_url, lambda z: z.add_tags(str(ticket_id), ["outcomedesk_autoresolved"]))

    assert fake.tickets[ticket_id]["tags"] == ["vip", "outcomedesk_autoresolved"]
    assert fake.writes()[0].path == f"/api/v2/tickets/{ticket_id}/tags.json"


def test_reading_a_ticket_finds_the_latest_customer_message_across_pages(zendesk):
    base_url, fake = zendesk
    fake.page_size = 2
    ticket_id = fake.seed_ticket(subject="Card", body="Where is my card?", requester_name="Rosa Diaz")
    call(base_url, lambda z: z.post_reply(str(ticket_id), "Checking.", idempotency_key="r-1"))
    requester = fake.tickets[ticket_id]["requester_id"]
    fake._add_comment(ticket_id, author_id=requester, body="Still nothing.", public=True)

    async def read(helpdesk: ZendeskHelpdesk):
        return await helpdesk.get_ticket(str(ticket_id)), await helpdesk.list_comments(str(ticket_id))

    ticket, comments = call(base_url, read)

    assert (ticket.subject, ticket.status, ticket.priority) == ("Card", "open", "normal")
    assert ticket.requester_id == str(requester) and ticket.requester_name == "Rosa Diaz"
    assert [comment.body for comment in comments] == ["Where is my card?", "Checking.", "Still nothing."]
    assert [comment.from_customer for comment in comments] == [True, False, True]
    newest = latest_customer_message(comments)
    assert newest is not None and newest.body == "Still nothing."


def test_requests_carry_the_api_token_as_basic_auth_and_repr_hides_it(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()

    call(base_url, lambda z: z.solve(str(ticket_id)))

    expected = base64.b64encode(f"{EMAIL}/token:{API_TOKEN}".encode()).decode()
    assert fake.requests[0].headers["authorization"] == f"Basic {expected}"
    assert API_TOKEN not in repr(ZendeskHelpdesk(base_url, email=EMAIL, api_token=API_TOKEN))


def test_rejected_credentials_fail_without_the_token_in_the_error_or_logs(zendesk, caplog):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    caplog.set_level(logging.DEBUG)

    with pytest.raises(UpstreamFailed) as raised:
        call(base_url, lambda z: z.solve(str(ticket_id)), api_token="not-the-token")

    assert raised.value.extra["status"] == 401
    assert "authenticate" in raised.value.detail
    assert "not-the-token" not in raised.value.detail and "not-the-token" not in caplog.text
    assert len(fake.requests) == 1


def test_rate_limit_waits_the_retry_after_zendesk_sends_then_succeeds(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    fake.inject(status=429, retry_after="0.05", method="PUT")
    sleeps: list[float] = []

    call(base_url, lambda z: z.solve(str(ticket_id)), sleeps=sleeps)

    assert sleeps == [0.05]
    assert [request.status for request in fake.writes()] == [429, 200]
    assert fake.tickets[ticket_id]["status"] == "solved"


def test_a_retry_after_longer_than_the_limit_fails_at_once_for_the_job_to_reschedule(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    fake.inject(status=429, retry_after="120", method="PUT")
    sleeps: list[float] = []

    with pytest.raises(UpstreamFailed) as raised:
        call(base_url, lambda z: z.solve(str(ticket_id)), sleeps=sleeps)

    assert raised.value.extra == {"status": 429, "retry_after_s": 120.0}
    assert sleeps == [] and len(fake.writes()) == 1


def test_server_errors_are_retried_with_backoff_then_succeed(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    fake.inject(status=500, method="PUT", times=2)
    sleeps: list[float] = []

    call(base_url, lambda z: z.solve(str(ticket_id)), sleeps=sleeps)

    assert [request.status for request in fake.writes()] == [500, 500, 200]
    assert len(sleeps) == 2 and all(0 < seconds <= FAST.backoff_max_s for seconds in sleeps)


def test_server_errors_past_the_retry_budget_become_upstream_failed(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    fake.inject(status=503, method="PUT", times=10)

    with pytest.raises(UpstreamFailed) as raised:
        call(base_url, lambda z: z.solve(str(ticket_id)))

    assert raised.value.status_code == 502 and raised.value.extra["status"] == 503
    assert len(fake.writes()) == FAST.attempts
    assert fake.tickets[ticket_id]["status"] == "open"


def test_timeouts_past_the_retry_budget_become_upstream_timeout(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    fake.inject(delay_s=0.4, method="GET", times=10)

    with pytest.raises(UpstreamTimeout) as raised:
        call(base_url, lambda z: z.get_ticket(str(ticket_id)), timeout_s=0.1)

    assert raised.value.status_code == 504
    assert len(fake.requests) == FAST.attempts


def test_reply_whose_response_was_lost_is_retried_with_the_same_key_and_posted_once(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    fake.inject(status=500, after_apply=True, method="PUT")

    posted = call(base_url, lambda z: z.post_reply(str(ticket_id), "It ships today.", idempotency_key="r-1"))

    writes = fake.writes()
    assert [(write.idempotency_key, write.idempotency_lookup) for write in writes] == [
        ("r-1", "miss"),
        ("r-1", "hit"),
    ]
    assert [comment["body"] for comment in fake.public_comments(ticket_id)][1:] == ["It ships today."]
    assert posted.comment_id == str(fake.comments[ticket_id][-1]["id"])


def test_reply_that_timed_out_after_zendesk_applied_it_is_posted_once(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    fake.inject(delay_s=0.4, after_apply=True, method="PUT")

    call(
        base_url,
        lambda z: z.post_reply(str(ticket_id), "It ships today.", idempotency_key="r-1"),
        timeout_s=0.15,
    )

    assert len(fake.public_comments(ticket_id)) == 2
    assert fake.writes()[-1].idempotency_lookup == "hit"


def test_job_retried_after_a_crash_posts_once_even_when_zendesk_forgot_the_key(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    first = call(base_url, lambda z: z.post_reply(str(ticket_id), "It ships today.", idempotency_key="r-1"))
    fake.forget_idempotency_keys()

    again = call(base_url, lambda z: z.post_reply(str(ticket_id), "It ships today.", idempotency_key="r-1"))

    assert again == first
    assert len(fake.public_comments(ticket_id)) == 2 and len(fake.writes()) == 1
    assert reply_marker("r-1") in fake.tickets[ticket_id]["tags"]


def test_a_new_key_posts_a_new_reply(zendesk):
    base_url, fake = zendesk
    ticket_id = fake.seed_ticket()
    call(base_url, lambda z: z.post_reply(str(ticket_id), "First.", idempotency_key="r-1"))

    call(base_url, lambda z: z.post_reply(str(ticket_id), "Second.", idempotency_key="r-2"))

    assert [comment["body"] for comment in fake.public_comments(ticket_id)][1:] == ["First.", "Second."]


def test_unknown_ticket_is_upstream_failed_with_zendesk_reason(zendesk):
    base_url, _fake = zendesk

    with pytest.raises(UpstreamFailed) as raised:
        call(base_url, lambda z: z.solve("999999"))

    assert raised.value.extra["status"] == 404 and "RecordNotFound" in raised.value.detail


def test_retry_after_is_read_as_seconds_or_as_an_http_date():
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("1.5", now) == 1.5
    assert retry_after_seconds("Mon, 02 Nov 2026 09:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
