"""`outcomedesk simulate`: customers and agents acting on the demo helpdesk, through the real pipeline.

Customers (tau2-bench retail users) write tickets taken from BANKING77 (plus CLINC150 out-of-scope
questions); the pipeline assigns arms, drafts, auto-resolves and bills exactly as in production; simulated
agents pick tickets up after a wait, use or ignore the drafts, reply, solve; customers rate, reply, reopen
and come back. Time is simulated with a clock that jumps from one scheduled action to the next.
"""

import asyncio
import contextlib
import gzip
import heapq
import itertools
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from billing import service as billing_service
from billing.invoices import close_period, list_invoices
from billing.periods import DEFAULT_GRACE, period_of, previous_period
from drafting import feedback as drafting_feedback
from drafting import service as drafting_service
from drafting.schemas import FeedbackKind
from metrics import service as metrics_service
from metrics.events import Actor, EventName, TicketEvent
from plugin.accounts import repository as accounts_repository
from plugin.core.clock import FixedClock, SystemClock
from plugin.core.config import Settings
from plugin.core.db import transaction
from plugin.core.errors import AppError, NotFound
from plugin.demo import (
    DEMO_CAP_CENTS,
    DEMO_SLUG,
    TRAINING_EXAMPLES_PER_INTENT,
    banking77,
    clinc_out_of_scope,
    demo_intents,
)
from plugin.helpdesk import local_repository
from plugin.helpdesk.local import LocalHelpdesk
from plugin.helpdesks import HelpdeskFactory
from plugin.runtime import build_worker
from plugin.wiring import KitFactory

DEMO_AGENT_COST_CENTS_PER_HOUR = 3_500
AGENTS = ("agent-ana", "agent-ben", "agent-chloe", "agent-dev", "agent-emma")
CHANNELS = (("web", 0.5), ("email", 0.35), ("chat", 0.15))
PRIORITIES = (("normal", 0.7), ("low", 0.15), ("high", 0.12), ("urgent", 0.03))


@dataclass(frozen=True)
class SimulationConfig:
    days: int = 30
    tickets_per_day: int = 40
    seed: int = 7
    out_of_scope_share: float = 0.08
    repeat_contact_share: float = 0.06


@dataclass
class Story:
    """What the simulator knows about one ticket that the product must not: the true intent."""

    text: str
    intent: str | None
    name: str
    email: str
    ticket_id: str = ""
    arm: str = ""
    rounds: int = 0


@dataclass
class SimulationResult:
    counts: Counter[str] = field(default_factory=Counter)
    report: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        c = self.counts
        auto = c["auto_resolved"]
        precision = c["auto_resolved_correct"] / auto if auto else 0.0
        assisted = c["tickets_assisted"]
        return "\n".join(
            [
                f"simulated {c['tickets']} tickets ({assisted} assisted, {c['tickets_control']} control)",
                f"auto-resolved {auto} ({auto / assisted if assisted else 0:.1%} of assisted), "
                f"intent right on {precision:.1%} of them; {c['auto_reverted']} were reopened or answered back",
                f"drafts delivered to agents {c['drafts_delivered']}: inserted {c['inserted']}, "
                f"edited {c['edited']}, discarded {c['discarded']}",
                f"agent replies {c['agent_replies']}, CSAT ratings {c['ratings']}, reopens {c['reopens']}, "
                f"repeat contacts {c['repeat_contacts']}, invoices finalized {c['invoices']}",
                *self._report_lines(),
            ]
        )

    def _report_lines(self) -> list[str]:
        arms = self.report.get("arms", {})
        lines = []
        for arm in ("assisted", "control"):
            m = arms.get(arm)
            if not m:
                continue
            frt = m.get("frt_median_s")
            lines.append(
                f"{arm:>9}: {m.get('tickets')} tickets, FRT median "
                f"{(frt or 0) / 60:.0f} min, FCR {m.get('fcr_rate', 0):.1%}, "
                f"cost per conversation {(m.get('cost_per_conversation_cents') or 0) / 100:.2f} USD, "
                f"CSAT {m.get('csat') or 0:.1%}"
            )
        return lines


def simulated_already(factory: sessionmaker[Session]) -> bool:
    """True once the demo tenant has tickets (a second `make demo` keeps the first month)."""
    with transaction(factory) as session:
        tenant = accounts_repository.tenant_by_slug(session, DEMO_SLUG)
        return tenant is not None and bool(
            local_repository.tickets(session, tenant.id, statuses=None, limit=1, offset=0)
        )


def run_simulation(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    config: SimulationConfig,
    end: datetime | None = None,
) -> SimulationResult:
    """Simulate `config.days` days of traffic ending at `end` (now)."""
    return asyncio.run(Simulation(factory, settings, config, end or SystemClock().now()).run())


class Simulation:
    def __init__(
        self, factory: sessionmaker[Session], settings: Settings, config: SimulationConfig, end: datetime
    ):
        self.factory, self.config, self.end = factory, config, end
        self.rng = random.Random(config.seed)
        start = (end - timedelta(days=config.days)).replace(hour=0, minute=0, second=0, microsecond=0)
        self.clock = FixedClock(start)
        with transaction(factory) as session:
            tenant = accounts_repository.tenant_by_slug(session, DEMO_SLUG)
            if tenant is None:
                raise NotFound("seed the demo tenant first (outcomedesk demo)")
            self.tenant_id = tenant.id
            helpdesks = HelpdeskFactory(factory, self.clock)
            self.helpdesk: LocalHelpdesk = helpdesks.local(tenant)
        self.worker = build_worker(
            settings, factory, self.clock, kits=KitFactory(settings), helpdesks=helpdesks
        )
        texts = banking77(settings.data_dir)
        self.texts = {i: texts[i][TRAINING_EXAMPLES_PER_INTENT:] for i in demo_intents(settings.data_dir)}
        self.out_of_scope = clinc_out_of_scope(settings.data_dir)
        with gzip.open(settings.data_dir / "tau2_bench" / "retail" / "db.json.gz", "rt") as handle:
            users = json.load(handle)["users"].values()
        self.customers = [(f"{u['name']['first_name']} {u['name']['last_name']}", u["email"]) for u in users]
        self.queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self.sequence = itertools.count()
        self.result = SimulationResult()
        self.last_schedule_hour: datetime | None = None

    def at(self, moment: datetime, action: Callable[[], None]) -> None:
        if moment <= self.end:
            heapq.heappush(self.queue, (moment, next(self.sequence), action))

    async def run(self) -> SimulationResult:
        start = self.clock.now()
        with transaction(self.factory) as session:
            # Set in simulated time, so the billing account opens with the first simulated month.
            billing_service.set_spend_cap(
                session,
                tenant_id=self.tenant_id,
                cap_cents=DEMO_CAP_CENTS,
                mode="suggest_only",
                clock=self.clock,
            )
        for day in range(self.config.days):
            for _ in range(self.config.tickets_per_day):
                self.at(
                    start + timedelta(days=day) + self._arrival_offset(),
                    lambda: self.new_ticket(self._story()),
                )
        with tqdm(total=len(self.queue), desc="simulating tickets", unit="ticket") as progress:
            while self.queue:
                moment, _, action = heapq.heappop(self.queue)
                self.clock.set(moment)
                before = self.result.counts["tickets"]
                action()
                await self._work()
                progress.update(self.result.counts["tickets"] - before)
        self.clock.set(self.end)
        await self._work(force_schedule=True)
        self._close_finished_months()
        with transaction(self.factory) as session:
            self.result.report = metrics_service.build_report(
                session,
                tenant_id=self.tenant_id,
                since=start,
                until=self.end,
                clock=self.clock,
                cost_per_agent_hour_cents=DEMO_AGENT_COST_CENTS_PER_HOUR,
                include_segments=False,
                include_trends=False,
                fees_by_ticket=lambda ids: billing_service.fees_by_ticket(
                    session, tenant_id=self.tenant_id, ticket_ids=ids
                ),
            )
        return self.result

    async def _work(self, force_schedule: bool = False) -> None:
        hour = self.clock.now().replace(minute=0, second=0, microsecond=0)
        if force_schedule or hour != self.last_schedule_hour:
            self.worker.schedule()
            self.last_schedule_hour = hour
        await self.worker.worker.drain()

    def _arrival_offset(self) -> timedelta:
        # Most tickets arrive in the (UTC) working day, some at night.
        hour = self.rng.gauss(13, 3.5) if self.rng.random() < 0.85 else self.rng.uniform(0, 24)
        return timedelta(hours=min(max(hour, 0.0), 23.99))

    def _story(self, customer: tuple[str, str] | None = None) -> Story:
        name, email = customer or self.rng.choice(self.customers)
        if self.rng.random() < self.config.out_of_scope_share:
            return Story(self.rng.choice(self.out_of_scope), None, name, email)
        intent = self.rng.choice(list(self.texts))
        return Story(self.rng.choice(self.texts[intent]), intent, name, email)

    def new_ticket(self, story: Story) -> None:
        ticket = self.helpdesk.create_ticket(
            subject=story.text[:60],
            requester_email=story.email,
            requester_name=story.name,
            body=story.text,
            channel=self._weighted(CHANNELS),
            priority=self._weighted(PRIORITIES),
        )
        story.ticket_id = ticket.ticket_id
        with transaction(self.factory) as session:
            story.arm = metrics_service.assign_ticket(
                session,
                tenant_id=self.tenant_id,
                ticket_id=ticket.ticket_id,
                requester_id=ticket.requester_id,
                clock=self.clock,
            )
        self.result.counts["tickets"] += 1
        self.result.counts[f"tickets_{story.arm}"] += 1
        self.at(self.clock.now() + timedelta(seconds=5), lambda: self.after_first_pass(story))

    def after_first_pass(self, story: Story) -> None:
        if self.helpdesk.ticket(story.ticket_id).status == "solved":
            self.after_auto_resolution(story)
        else:
            self.at(self.clock.now() + self._wait(story), lambda: self.agent_turn(story))

    def after_auto_resolution(self, story: Story) -> None:
        with transaction(self.factory) as session:
            draft = drafting_service.latest_draft(
                session, tenant_id=self.tenant_id, ticket_id=story.ticket_id
            )
        right = draft.intent == story.intent
        self.result.counts["auto_resolved"] += 1
        self.result.counts["auto_resolved_correct"] += int(right)
        if not right and self.rng.random() < 0.7:
            self.result.counts["auto_reverted"] += 1
            later = timedelta(hours=self.rng.uniform(1, 30))
            self.at(
                self.clock.now() + later,
                lambda: self.customer_replies(story, "That does not answer my question."),
            )
        elif right and self.rng.random() < 0.04:
            self.result.counts["auto_reverted"] += 1
            self.at(self.clock.now() + timedelta(days=self.rng.uniform(1, 6)), lambda: self.reopen(story))
        elif self.rng.random() < 0.4:
            score = "good" if self.rng.random() < (0.85 if right else 0.3) else "bad"
            self.at(
                self.clock.now() + timedelta(hours=self.rng.uniform(1, 48)), lambda: self.rate(story, score)
            )

    def agent_turn(self, story: Story) -> None:
        agent = self.rng.choice(AGENTS)
        body, minutes = self._agent_reply(story, agent)
        solve = story.rounds > 0 or self.rng.random() < 0.82
        self.helpdesk.staff_comment(
            story.ticket_id, body, author_id=agent, status="solved" if solve else "pending"
        )
        story.rounds += 1
        self.result.counts["agent_replies"] += 1
        self._handle_time(story, agent, minutes)
        if not solve:
            self.at(
                self.clock.now() + timedelta(hours=self.rng.uniform(1, 20)),
                lambda: self.customer_replies(story, "Thanks, one more question about this."),
            )
            return
        self._after_agent_solve(story)

    def _agent_reply(self, story: Story, agent: str) -> tuple[str, float]:
        own = f"Hi {story.name.split()[0]}, thanks for reaching out. I have looked into this for you and it is sorted now."
        if story.arm != "assisted":
            return own, self.rng.lognormvariate(2.2, 0.5)
        with transaction(self.factory) as session:
            try:
                latest = drafting_service.latest_draft(
                    session, tenant_id=self.tenant_id, ticket_id=story.ticket_id
                )
            except NotFound:
                return own, self.rng.lognormvariate(2.2, 0.5)
            delivered = drafting_service.deliver_draft(
                session, tenant_id=self.tenant_id, draft_id=latest.id, agent_id=agent, clock=self.clock
            )
            self.result.counts["drafts_delivered"] += 1
            # Agents judge the draft by whether it answers the customer: a wrong intent is mostly thrown
            # away, a right one mostly sent, now and then with a line of their own.
            right = latest.intent == story.intent
            risky = bool(latest.guardrails) or not latest.grounded
            roll = self.rng.random()
            discard_below, edit_below = (
                (0.06, 0.36) if right and not risky else (0.25, 0.75) if right else (0.7, 0.95)
            )
            kind: FeedbackKind = (
                "discarded" if roll < discard_below else "edited" if roll < edit_below else "inserted"
            )
            text = delivered.draft.text if delivered.draft else latest.text
            final = {
                "inserted": text,
                "edited": text + " Let me know if anything else comes up.",
                "discarded": own,
            }[kind]
            drafting_feedback.record_feedback(
                session,
                tenant_id=self.tenant_id,
                draft_id=latest.id,
                kind=kind,
                clock=self.clock,
                final_text=final if kind == "edited" else None,
                agent_id=agent,
            )
        self.result.counts[kind] += 1
        minutes = {"inserted": 1.2, "edited": 1.6, "discarded": 2.2}[kind]
        return final, self.rng.lognormvariate(minutes, 0.5)

    def _after_agent_solve(self, story: Story) -> None:
        roll = self.rng.random()
        if roll < 0.04:
            self.at(self.clock.now() + timedelta(days=self.rng.uniform(0.5, 6)), lambda: self.reopen(story))
        elif roll < 0.5:
            good = 0.84 if story.arm == "assisted" else 0.8
            score = "good" if self.rng.random() < good else "bad"
            self.at(
                self.clock.now() + timedelta(hours=self.rng.uniform(1, 48)), lambda: self.rate(story, score)
            )
        if self.rng.random() < self.config.repeat_contact_share:
            self.result.counts["repeat_contacts"] += 1
            customer = (story.name, story.email)
            self.at(
                self.clock.now() + timedelta(days=self.rng.uniform(1, 10)),
                lambda: self.new_ticket(self._story(customer)),
            )

    def customer_replies(self, story: Story, text: str) -> None:
        self.helpdesk.customer_message(story.ticket_id, text)
        self.at(self.clock.now() + self._wait(story), lambda: self.agent_turn(story))

    def reopen(self, story: Story) -> None:
        self.result.counts["reopens"] += 1
        self.customer_replies(story, "This is happening again, please help.")

    def rate(self, story: Story, score: str) -> None:
        self.helpdesk.rate(story.ticket_id, score)
        self.result.counts["ratings"] += 1

    def _handle_time(self, story: Story, agent: str, minutes: float) -> None:
        # The agent's time tracker reports handle time; it has no helpdesk webhook of its own.
        with transaction(self.factory) as session:
            metrics_service.record_events(
                session,
                tenant_id=self.tenant_id,
                events=[
                    TicketEvent(
                        key=f"handle_time:{story.ticket_id}:{story.rounds}",
                        ticket_id=story.ticket_id,
                        requester_id=self.helpdesk.ticket(story.ticket_id).requester_id,
                        event=EventName.HANDLE_TIME,
                        occurred_at=self.clock.now(),
                        actor=Actor.AGENT,
                        agent_id=agent,
                        value=round(minutes * 60, 1),
                    )
                ],
                clock=self.clock,
            )

    def _wait(self, story: Story) -> timedelta:
        # Assisted agents clear the queue faster because a draft is waiting for them.
        median_hours = 1.1 if story.arm == "assisted" else 2.4
        pickup = self.clock.now() + timedelta(hours=self.rng.lognormvariate(0, 0.8) * median_hours)
        if pickup.hour >= 20 or pickup.hour < 7:
            next_morning = (pickup + timedelta(hours=12)).replace(hour=7, minute=0, second=0, microsecond=0)
            pickup = next_morning + timedelta(minutes=self.rng.uniform(0, 120))
        return pickup - self.clock.now()

    def _weighted(self, options: tuple[tuple[str, float], ...]) -> str:
        return self.rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]

    def _close_finished_months(self) -> None:
        last_closable = previous_period(period_of(self.end - DEFAULT_GRACE))
        with transaction(self.factory) as session:
            # The worker's daily job has usually closed it already; closing is idempotent.
            with contextlib.suppress(AppError):
                close_period(session, period_start=last_closable, clock=self.clock)
            self.result.counts["invoices"] = len(list_invoices(session, tenant_id=self.tenant_id))
