"""HTTP benchmark (DESIGN §11): the sidebar's account-context endpoint under 64 concurrent connections.

Both servers run as `uvicorn --workers 2` subprocesses on the same migrated SQLite file with one seeded
tenant: the product (`plugin.asgi:app`: bearer-token auth, tenant scoping, cached context from the demo's
local sources) on GET /api/v1/context, and, as the anchor, a bare FastAPI endpoint doing one SQLite read.
The load generator (httpx, async) runs in its own process(es) so it does not share an event loop with a
server; each target is warmed up, then measured for `--seconds`. Prints JSON: requests/s, p50/p99 latency,
errors, and the ratio product/anchor.

Run: `python bench/http_sidebar.py [--seconds 10] [--connections 64] [--workers 2] [--load-processes 1]`.
"""

import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(_HERE)
sys.path.insert(0, ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import textwrap  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import httpx  # noqa: E402

CUSTOMER = "john.smith@example.com"
GOALS = {"requests_per_s": 1500, "p99_ms": 100, "ratio": 0.4}

ANCHOR_APP = textwrap.dedent(
    '''
    """The anchor: a bare FastAPI endpoint doing one SQLite read (a connection per worker thread)."""
    import os
    import sqlite3
    import threading

    from fastapi import FastAPI

    PATH = os.environ["BENCH_SQLITE_PATH"]
    local = threading.local()
    app = FastAPI()


    def connection() -> sqlite3.Connection:
        if not hasattr(local, "connection"):
            local.connection = sqlite3.connect(PATH, check_same_thread=False)
        return local.connection


    @app.get("/read")
    def read() -> dict:
        row = connection().execute("SELECT id, slug FROM plugin_tenant WHERE id = 1").fetchone()
        return {"id": row[0], "slug": row[1]}
    '''
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seed(path: Path) -> str:
    """Migrate a fresh SQLite file, create the tenant, return an agent token."""
    from plugin.accounts import service as accounts_service
    from plugin.accounts.scopes import Scope
    from plugin.core.clock import SystemClock
    from plugin.core.db import make_engine, make_session_factory, transaction
    from plugin.migrate import upgrade

    url = f"sqlite:///{path}"
    upgrade(url)
    engine = make_engine(url)
    clock = SystemClock()
    with transaction(make_session_factory(engine)) as session:
        tenant = accounts_service.create_tenant(session, slug="bench", name="Bench", clock=clock)
        token = accounts_service.issue_token(
            session, tenant=tenant, scopes=(Scope.AGENT,), name="bench agent", clock=clock
        ).token
    engine.dispose()
    return token


@contextmanager
def uvicorn_server(app: str, *, env: dict[str, str], workers: int, app_dir: str) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--log-level", "warning", "--no-access-log", "--app-dir", app_dir]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited with {process.returncode}")
            try:
                httpx.get(base + "/docs", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _hammer(url: str, headers: dict[str, str], connections: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    first_error: str | None = None
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal errors, first_error
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                    problem = None if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as error:
                    problem = f"{type(error).__name__}: {error}"
                if problem is None:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1
                    first_error = first_error or problem

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return {"latencies": latencies, "errors": errors, "elapsed": elapsed, "first_error": first_error}


def _load_process(args: tuple[str, dict[str, str], int, float]) -> dict[str, Any]:
    url, headers, connections, seconds = args
    return asyncio.run(_hammer(url, headers, connections, seconds))


def measure(
    url: str, headers: dict[str, str], *, connections: int, seconds: float, processes: int
) -> dict[str, Any]:
    """Warm up, then load `url` from separate processes sharing `connections`; summarise."""
    per_process = [
        connections // processes + (1 if i < connections % processes else 0) for i in range(processes)
    ]
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        pool.map(_load_process, [(url, headers, n, min(2.0, seconds)) for n in per_process])
        results = pool.map(_load_process, [(url, headers, n, seconds) for n in per_process])
    latencies = sorted(value for result in results for value in result["latencies"])
    elapsed = max(result["elapsed"] for result in results)
    errors = sum(result["errors"] for result in results)
    first_error = next((result["first_error"] for result in results if result["first_error"]), None)
    if not latencies:
        return {"requests": 0, "errors": errors, "first_error": first_error, "requests_per_s": 0.0}
    return {
        "requests": len(latencies),
        "errors": errors,
        "first_error": first_error,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--load-processes", type=int, default=1)
    options = parser.parse_args()
    load_before = round(os.getloadavg()[0], 2)

    with tempfile.TemporaryDirectory(prefix="bench-http-") as folder:
        database = Path(folder) / "bench.db"
        token = seed(database)
        Path(folder, "bench_anchor.py").write_text(ANCHOR_APP)
        env = {"DATABASE_URL": f"sqlite:///{database}", "BENCH_SQLITE_PATH": str(database)}
        load = {
            "connections": options.connections,
            "seconds": options.seconds,
            "processes": options.load_processes,
        }

        with uvicorn_server("plugin.asgi:app", env=env, workers=options.workers, app_dir=ROOT) as base:
            auth = {"Authorization": f"Bearer {token}"}
            probe = httpx.get(f"{base}/api/v1/context", params={"requester_email": CUSTOMER}, headers=auth)
            probe.raise_for_status()
            facts = len(probe.json()["facts"])
            context = measure(f"{base}/api/v1/context?requester_email={CUSTOMER}", auth, **load)
        with uvicorn_server("bench_anchor:app", env=env, workers=options.workers, app_dir=folder) as base:
            anchor = measure(f"{base}/read", {}, **load)

    ratio = context["requests_per_s"] / anchor["requests_per_s"] if anchor["requests_per_s"] else None
    report = {
        "bench": "http",
        "endpoint": "GET /api/v1/context",
        "connections": options.connections,
        "workers": options.workers,
        "seconds": options.seconds,
        "load_processes": options.load_processes,
        "cpus": os.cpu_count(),
        # Other processes on the machine skew both figures; the ratio (same run) is the comparable number.
        "load_average_1m": {"before": load_before, "after": round(os.getloadavg()[0], 2)},
        "context_facts": facts,
        "context": context,
        "anchor": {"endpoint": "bare FastAPI, one SQLite read", **anchor},
        "ratio": None if ratio is None else round(ratio, 3),
        "goals": GOALS,
        "meets_goals": bool(
            ratio is not None
            and context["requests_per_s"] >= GOALS["requests_per_s"]
            and context.get("p99_ms", 1e9) <= GOALS["p99_ms"]
            and context["errors"] == 0
            and ratio >= GOALS["ratio"]
        ),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
