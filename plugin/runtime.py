"""Assembling long-running processes: the worker with its handlers and the periodic schedule."""

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from plugin.core.clock import Clock
from plugin.core.config import Settings
from plugin.core.db import transaction
from plugin.helpdesks import HelpdeskFactory
from plugin.jobs.service import DEFAULT_LEASE
from plugin.pipeline import Autopilot
from plugin.schedule import enqueue_due
from plugin.wiring import KitFactory, build_billing_gateway
from plugin.worker import Worker


@dataclass
class ScheduledWorker:
    worker: Worker
    factory: sessionmaker[Session]
    clock: Clock

    def schedule(self) -> int:
        with transaction(self.factory) as session:
            return enqueue_due(session, clock=self.clock)

    async def drain_with_schedule(self) -> int:
        """Queue periodic jobs, then run everything due."""
        self.schedule()
        return await self.worker.drain()

    async def run_with_schedule(
        self, *, poll_interval: float = 1.0, stop: asyncio.Event | None = None
    ) -> None:
        stop = stop or asyncio.Event()
        while not stop.is_set():
            self.schedule()
            if await self.worker.drain(max_jobs=100) == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=poll_interval)


def build_worker(
    settings: Settings,
    factory: sessionmaker[Session],
    clock: Clock,
    *,
    kits: KitFactory | None = None,
    helpdesks: HelpdeskFactory | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> ScheduledWorker:
    """A worker wired with the autopilot's handlers."""
    autopilot = Autopilot(
        kits=kits or KitFactory(settings),
        helpdesks=helpdesks or HelpdeskFactory(factory, clock),
        billing_gateway=build_billing_gateway(settings),
    )
    return ScheduledWorker(Worker(factory, autopilot.handlers(), clock, lease=lease), factory, clock)
