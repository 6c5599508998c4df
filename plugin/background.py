"""A worker thread inside the web process, for single-process set-ups such as the demo (RUN_WORKER=1).

Production runs `outcomedesk worker` processes instead; both drain the same outbox.
"""

import asyncio
import threading

from sqlalchemy.orm import Session, sessionmaker

from plugin.core.clock import Clock
from plugin.core.config import Settings
from plugin.helpdesks import HelpdeskFactory
from plugin.runtime import build_worker
from plugin.wiring import KitFactory


class InProcessWorker:
    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], clock: Clock, kits: KitFactory
    ) -> None:
        self._worker = build_worker(
            settings, factory, clock, kits=kits, helpdesks=HelpdeskFactory(factory, clock)
        )
        self._thread = threading.Thread(target=self._run, name="outcomedesk-worker", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(timeout=10)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            self._ready.set()
            await self._worker.run_with_schedule(poll_interval=1.0, stop=self._stop)

        asyncio.run(main())
