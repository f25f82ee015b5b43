"""One scenario of `make bench`, in process: the whole ASGI app (middlewares included) called directly,
with no socket and no load generator, so that a change to the request path can be measured in
microseconds, and profiled, without wrk's noise.

    .venv/bin/python bench/inprocess.py --database var/bench/bench.db article          # CMS, cold
    .venv/bin/python bench/inprocess.py --database var/bench/bench.db article --server baseline
    .venv/bin/python bench/inprocess.py --database var/bench/bench.db front --profile  # cProfile's top 40
    .venv/bin/python bench/inprocess.py --database var/bench/bench.db --url postgresql://... article

It prints the median and the best of BENCH_ROUNDS (5) rounds' microseconds per request, each round every body
of the scenario once (read from the SQLite file, which --url's database must hold too: the same
archive imported), after a round that warms the caches (the best is the figure to compare while other work
shares the machine). The CMS runs as `make bench` loads it: planner on, response cache off (on with --warm);
`--server floor` is bench/floor.py answering the CMS's first answer to every body. The profile is
sorted by BENCH_PROFILE_SORT (cumulative; or tottime, ncalls), its first BENCH_PROFILE_LINES (40) lines.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Message

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import baseline, floor  # noqa: E402
from bench.run import ARTICLE_URL, EXAMPLES, Scenario, scenarios  # noqa: E402
from cms.app import create_app  # noqa: E402
from cms.settings import Settings  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SORT = os.environ.get("BENCH_PROFILE_SORT", "cumulative")  # or tottime


async def call(app: ASGIApp, state: dict[str, Any], method: str, path: str, body: bytes) -> int:
    """One request as uvicorn hands it over; its status (anything but 200 stops the run)."""
    status = 0

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(method, path, body, state), _received(body), send)
    return status


def _scope(method: str, path: str, body: bytes, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": dict(state),
    }


def _received(body: bytes) -> Callable[[], Awaitable[Message]]:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def measure(
    app: ASGIApp, state: dict[str, Any], asks: list[tuple[str, str, bytes]], profile: bool
) -> list[float]:
    async def round_() -> float:
        start = time.perf_counter()
        for method, path, body in asks:
            if (status := await call(app, state, method, path, body)) != 200:
                raise SystemExit(f"inprocess: {path} answered {status}")
        return (time.perf_counter() - start) / len(asks) * 1e6

    await round_()
    if not profile:
        return [await round_() for _ in range(ROUNDS)]
    profiler = cProfile.Profile()
    profiler.enable()
    rounds = [await round_() for _ in range(ROUNDS)]
    profiler.disable()
    pstats.Stats(profiler).sort_stats(SORT).print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "40")))
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--database", type=Path, required=True)
    parser.add_argument("--server", choices=("CMS", "baseline", "floor"), default="CMS")
    parser.add_argument("--warm", action="store_true", help="the CMS with its response cache on")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--url", help="serve the CMS over this database (e.g. PostgreSQL's), holding what --database holds"
    )
    args = parser.parse_args()
    case = next((s for s in scenarios(args.database) if s.name == args.scenario), None)
    if case is None:
        raise SystemExit(f"inprocess: no scenario {args.scenario!r}")
    url = args.url or f"sqlite:///{args.database.resolve()}"
    cache = Settings().response_cache_mib if args.warm else 0
    settings = Settings(database_url=url, webhooks=False, response_cache_mib=cache, article_url=ARTICLE_URL)
    path = case.get or "/graphql"
    app: ASGIApp = create_app(settings, examples=EXAMPLES)
    if args.server == "baseline":
        app = baseline.create_app(args.url or str(args.database), settings=settings)
    elif args.server == "floor":  # the CMS's answer to the first body, for every body
        folder = Path(tempfile.mkdtemp())
        (folder / f"{case.name}{floor.ANSWERS}").write_bytes(asyncio.run(_first_answer(app, case)))
        app, path = floor.create_app(folder), f"/floor/{case.name}"
    method = "GET" if case.get else "POST"
    asks = (
        [(method, path, b"")] if case.get else [(method, path, json.dumps(b).encode()) for b in case.bodies]
    )

    async def run() -> list[float]:
        async with _lifespan(app) as state:
            return await measure(app, state, asks, args.profile)

    rounds = asyncio.run(run())
    shown = ", ".join(f"{r:.0f}" for r in rounds)
    best, median = min(rounds), statistics.median(rounds)
    print(f"{args.server} {case.name}: {median:.0f} us a request, {best:.0f} at best (rounds: {shown})")


async def _first_answer(app: ASGIApp, case: Scenario) -> bytes:
    body = b"" if case.get else json.dumps(case.bodies[0]).encode()
    async with _lifespan(app) as state:
        sent: list[bytes] = []

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body":
                sent.append(message.get("body", b""))

        scope = _scope("GET" if case.get else "POST", case.get or "/graphql", body, state)
        await app(scope, _received(body), send)
        return b"".join(sent)


class _lifespan:
    """The app's startup and shutdown, as uvicorn runs them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.messages: asyncio.Queue[Message] = asyncio.Queue()
        self.sent: asyncio.Queue[Message] = asyncio.Queue()
        self.state: dict[str, Any] = {}

    async def __aenter__(self) -> dict[str, Any]:
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": self.state}
        self.task = asyncio.ensure_future(self.app(scope, self.messages.get, self.sent.put))
        await self.messages.put({"type": "lifespan.startup"})
        if (started := await self.sent.get())["type"] != "lifespan.startup.complete":
            raise SystemExit(f"inprocess: the app did not start: {started}")
        return self.state

    async def __aexit__(self, *_: object) -> None:
        await self.messages.put({"type": "lifespan.shutdown"})
        await self.sent.get()
        await self.task


if __name__ == "__main__":
    main()
