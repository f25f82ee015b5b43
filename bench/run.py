"""The benchmark of issue 3: the CMS under load, next to a raw-SQL baseline, on a generated newsroom archive.

    make bench                        # 50,000 articles: generate (cached), import, export, load, walk
    BENCH_ARTICLES=2000 make bench    # the same, quickly, on 2,000 articles
    BENCH_VAR=/tmp/bench make bench   # in another working directory (default var/bench), so that a second
                                      # run does not replace the database of one under way
    BENCH_DATABASE=postgresql://postgres@127.0.0.1:5432/cms_bench BENCH_WORKERS=1,2 make bench
                                      # on PostgreSQL (that database DROPPED and created again), the CMS
                                      # with 1 and 2 uvicorn workers, and PostGraphile 5 beside it

Steps: generate the archive (bench/generate.py, cached in the working directory by size and seed);
migrate a fresh bench.db there and time `cms import` and `cms export`; serve the CMS as `make run` does
(`cms serve`, 127.0.0.1, a free port), with the planner and without, and the baseline (bench/baseline.py)
on the same database, side by side; load each with wrk (32 connections, 2 threads, 10 s after a 2 s
warm-up, bodies rotating over slugs, categories and words from the database) for the front page, article
pages, category and tag pages, searches, and GETs of the RSS feed and the JSON Feed (the CMS, cold, and
the baseline; both with CMS_ARTICLE_URL set), one server after the other in each scenario, so
that figures compared are minutes apart at most (this machine's speed drifts); then walk every published
article 100 a page on each, as a static-site build would, three times (the median is the figure). Each
load and walk starts with the database file read through. SQL statements per request are counted
in-process, where the baseline's answers in every scenario are also checked against the CMS's (the same
JSON, key order included; a feed as its reader reads it, `seen`). The table is printed and written to
bench/RESULTS.md. Every step has a timeout, traffic goes to 127.0.0.1 only, and the servers are stopped on
exit, error or Ctrl-C. The servers run at CMS_LOG_LEVEL=warning, so none writes an access-log line per
request.

BENCH_DATABASE=postgresql://...: the same steps on that PostgreSQL database instead of bench.db. The bench
drops it (WITH (FORCE)) and creates it empty from the server's `postgres` database, so never name one whose
data you want; after the import it runs bench/peers/postgraphile/schema.sql (the view and the computed
column PostGraphile's operations read) and VACUUM ANALYZE, so that no server meets a table autovacuum has
yet to visit (index-only counts reading the heap, then autovacuum under load). The baseline reads it
through asyncpg, and PostGraphile 5 (bench/peers/postgraphile, `npm ci` once) serves it too: loaded in the
front and article scenarios, its answers checked to hold data (not equal to the CMS's: its schema is its own).
BENCH_WORKERS=1,2 (default 1): the CMS's cold and warm rows once per count of `cms serve` workers ("CMS, 2
workers"), with the ratio of their requests/s to one worker's. wrk keeps its -t2 -c32 and runs on the same
cores (two on this machine): a second worker shares them with wrk, so the ratio is what it gains here.
A PostgreSQL run writes bench/RESULTS-postgresql.md, beside SQLite's bench/RESULTS.md.
BENCH_SCENARIOS=front,article,guarded: only those loads (the scenarios' names, and "walk" and "guarded" for
the static-site walk and the guarded row), their table written to the working directory's RESULTS.md, not
to bench/, which keeps whole runs; the in-process counts and checks still cover every scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar, cast

import asyncpg
import feedparser
import httpx
import orjson
from rich.console import Console
from rich.table import Table
from starlette.applications import Starlette
from starlette.types import ASGIApp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import baseline  # noqa: E402
from bench.generate import write_archive  # noqa: E402
from bench.servers import CMS_SERVER, HOST, healthy, serving  # noqa: E402
from cms.app import create_app  # noqa: E402
from cms.db import StatementCounter, create_engine  # noqa: E402
from cms.settings import Settings, async_database_url  # noqa: E402

ARTICLES = int(os.environ.get("BENCH_ARTICLES", "50000"))
SEED = 1
VAR = Path(os.environ.get("BENCH_VAR") or ROOT / "var" / "bench").resolve()
DATABASE = VAR / "bench.db"
DATABASE_URL = os.environ.get("BENCH_DATABASE") or f"sqlite:///{DATABASE}"
POSTGRES = DATABASE_URL.startswith(("postgresql://", "postgres://"))
WORKERS = sorted({1, *(int(n) for n in os.environ.get("BENCH_WORKERS", "1").split(","))})
"""The CMS's cold and warm rows run once per count; one worker always, the figure the others compare with."""
EXPORT = VAR / "export.ndjson"
LUA = ROOT / "bench" / "graphql.lua"
ONLY = frozenset(name for name in os.environ.get("BENCH_SCENARIOS", "").split(",") if name)
RESULTS = (
    VAR / "RESULTS.md" if ONLY else ROOT / "bench" / ("RESULTS-postgresql.md" if POSTGRES else "RESULTS.md")
)
"""A whole run's table, kept in bench/ (one per database); a run of some scenarios' stays in VAR."""
EXAMPLES = ROOT / "schema" / "examples"
BIN = Path(sys.executable).parent
CMS_MODES = {"CMS": "on", "CMS, planner off": "off"}  # the planned reads (the default) and the resolvers
COLD = {"CMS_RESPONSE_CACHE_MIB": "0"}  # the cold rows: every request executed
CACHED = "CMS, response cache"  # the warm rows: the response cache on, as `make run` serves
FLOOR = "HTTP floor"  # bench/floor.py: the same bytes from a minimal endpoint on the same uvicorn
BASELINE_SERVER = [str(BIN / "python"), str(ROOT / "bench" / "baseline.py")]
FLOOR_SERVER = [str(BIN / "python"), str(ROOT / "bench" / "floor.py")]
REVALIDATED = ("front", "article")
HOSTILE_LUA = ROOT / "bench" / "hostile.lua"
GUARDED_CONNECTIONS, HOSTILE_CONNECTIONS = 24, 8  # the guarded row: readers, and attackers beside them
ARTICLE_URL = "https://news.example/{language}/{slug}"  # CMS_ARTICLE_URL of both servers: the feeds need it
FEEDS = ("CMS", "baseline")  # the servers a feed is loaded on: the planner and the response cache serve none
HUGE = """{ articles(first: 100) { nodes { authors { articles(first: 100) { nodes { authors {
  articles(first: 100) { nodes { slug body(format: TEXT) } } } } } } } } }"""
FILTERED = "query ($f: ArticleFilter) { articles(filter: $f, first: 20) { totalCount nodes { slug } } }"
CONNECTIONS, THREADS, WARM_UP, DURATION, REQUEST_TIMEOUT = 32, 2, 2, 10, 10
SETTLE_TIMEOUT = 300
WALK_PAGE = 100
WALKS = 3
SAMPLES = 1000  # slugs (and at most as many words) the load rotates over
PEER = "PostGraphile 5"  # on PostgreSQL only: bench/peers/postgraphile, loaded in PEER_QUERIES' scenarios
PEER_DIR = ROOT / "bench" / "peers" / "postgraphile"
PEER_SERVER = ["node", str(PEER_DIR / "server.mjs")]
PEER_QUERIES = {name: (PEER_DIR / f"{name}_page.graphql").read_text() for name in ("front", "article")}
T = TypeVar("T")

Json = dict[str, Any]
Ask = Json | str  # what the in-process count sends: a body POSTed to /graphql, or the path of a GET

CARD = (EXAMPLES / "front_page.graphql").read_text()
CARD = CARD[CARD.index("fragment ArticleCard") :]
SEARCH = f"""query Search($q: String!) {{
  articles(filter: {{search: $q}}, first: 20) {{
    nodes {{ ...ArticleCard }}
    pageInfo {{ hasNextPage endCursor }}
    totalCount
  }}
}}

{CARD}"""
WALK = """query Walk($first: Int!, $after: String) {
  articles(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id slug language title publishedAt body(format: HTML)
      authors { slug name }
      category { slug name path { slug name } }
      sources { role url note source { slug name kind url } }
      tags
    }
  }
}"""


def example(name: str) -> str:
    return (EXAMPLES / f"{name}.graphql").read_text()


@dataclass(frozen=True)
class Scenario:
    """One kind of page under load: its request bodies, rotated through by wrk."""

    name: str
    label: str
    bodies: list[Json]
    servers: tuple[str, ...] = ()
    """The servers it loads (none named: every one)."""
    get: str | None = None
    """A route's path, for a scenario of plain GETs of it (a feed) rather than of POSTed bodies."""

    @property
    def file(self) -> Path:
        return VAR / f"{self.name}.bodies"

    @property
    def path(self) -> str:
        return self.get or "/graphql"

    def lines(self) -> str:
        """What wrk's script reads (bench/graphql.lua): a JSON body a line, or the one GET."""
        if self.get is not None:
            return f"GET\t{self.get}\n"
        return "".join(json.dumps(body, ensure_ascii=False) + "\n" for body in self.bodies)


@dataclass(frozen=True)
class Load:
    """What wrk measured for one scenario on one server."""

    per_second: float
    p50_ms: float
    p99_ms: float
    failed: int


@dataclass(frozen=True)
class Walk:
    seconds: float
    articles: int
    pages: int
    parsing: float
    """Seconds of it the client spent parsing the pages' JSON: the build's share, whatever the server."""


@dataclass(frozen=True)
class Walks:
    """A server's walks, one after the other: a single one moves with the machine (2.3 to 6.7 s seen within
    minutes on one server), so the figure is their median, and the range is reported."""

    runs: list[Walk]

    @property
    def median(self) -> Walk:
        return sorted(self.runs, key=lambda walk: walk.seconds)[len(self.runs) // 2]

    @property
    def seconds(self) -> float:
        return self.median.seconds


def scenarios(database: Path | str) -> list[Scenario]:
    """The front page, then article, category and tag pages and searches over what the database (a SQLite
    file, or a postgresql:// URL) holds, then the feeds."""
    rng = random.Random(SEED)

    async def read(db: baseline.Database) -> list[list[baseline.Row]]:
        now, visible = db.stored(datetime.now(UTC)), f"FROM article a WHERE {baseline.VISIBLE} ORDER BY a.id"
        return [
            await db.rows(f"SELECT a.slug, a.language {visible}", (now,)),
            await db.rows("SELECT slug FROM category ORDER BY slug"),
            await db.rows("SELECT DISTINCT slug FROM article_tag WHERE slug != '' ORDER BY slug"),
            await db.rows(f"SELECT a.title {visible}", (now,)),
        ]

    found = _reading(str(database), read)
    pages = [(row[0], row[1]) for row in found[0]]
    categories, tags, titles = ([row[0] for row in rows] for rows in found[1:])
    words = sorted(
        {word.lower() for title in titles for word in re.findall(r"\w{5,}", title) if word.isalpha()}
    )
    front = {"query": example("front_page"), "variables": {"first": 20}}
    return [
        Scenario("front", "Front page (20 cards)", [front]),
        Scenario(
            "article",
            "Article page",
            [
                {"query": example("article_page"), "variables": {"slug": slug, "language": language}}
                for slug, language in rng.sample(pages, min(SAMPLES, len(pages)))
            ],
        ),
        Scenario(
            "category",
            "Category page (20 cards)",
            [
                {"query": example("category_page"), "variables": {"slug": slug, "first": 20}}
                for slug in categories
            ],
        ),
        Scenario(
            "tag",
            "Tag page (20 cards)",
            [
                {"query": example("tag_page"), "variables": {"slug": slug, "first": 20}}
                for slug in rng.sample(tags, min(SAMPLES, len(tags)))
            ],
        ),
        Scenario(
            "search",
            "Search (20 cards)",
            [
                {"query": SEARCH, "variables": {"q": word}}
                for word in rng.sample(words, min(SAMPLES, len(words)))
            ],
        ),
        Scenario("rss", "RSS feed", [], FEEDS, "/feeds/articles.xml"),
        Scenario("jsonfeed", "JSON Feed", [], FEEDS, "/feeds/articles.json"),
    ]


def _reading(where: str, read: Callable[[baseline.Database], Awaitable[T]]) -> T:
    """What `read` reads through the baseline's reader of `where`, from code that may run on an event loop
    (the tests'): on a loop of its own, in a thread of its own."""

    async def reading() -> T:
        source = baseline.connect(where)
        try:
            async with source.reading() as db:
                return await read(db)
        finally:
            await source.close()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, reading()).result()


def main() -> None:
    for name in ("SIGTERM", "SIGHUP"):  # stop the servers when `make` is stopped, as Ctrl-C does
        signal.signal(getattr(signal, name), _exit)
    if not (wrk := shutil.which("wrk")):
        raise SystemExit("bench: wrk is needed (apt-get install wrk)")
    console = Console()
    VAR.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "CMS_DATABASE_URL": DATABASE_URL,
        "CMS_LOG_LEVEL": "warning",
        "CMS_HOST": HOST,
        "CMS_ARTICLE_URL": ARTICLE_URL,
    }
    busy = os.getloadavg()[0]  # other work on the machine skews every figure: say how much there was
    figures = prepare(console, env)
    figures["Load average (1 min) before the run"] = f"{busy:.2f} on {os.cpu_count()} cores"
    every = scenarios(DATABASE_URL.removeprefix("sqlite:///"))
    cases = [case for case in every if _asked(case.name)]
    peer = {case.name: _peer_case(case) for case in cases if POSTGRES and case.name in PEER_QUERIES}
    for scenario in [*cases, *peer.values()]:
        scenario.file.write_text(scenario.lines())
    statements = asyncio.run(count_statements(every, DATABASE_URL.removeprefix("sqlite:///")))
    figures["Planner fallbacks on these operations (checked in-process)"] = "none"
    loads: dict[tuple[str, str], Load] = {}
    walks: dict[str, Walks] = {}
    servers = [
        (server, CMS_SERVER, {**env, **COLD, "CMS_PLANNER": mode}, f"cms-planner-{mode}")
        for server, mode in CMS_MODES.items()
    ] + [
        (CACHED, CMS_SERVER, {**env, "CMS_PLANNER": "on"}, "cms-cached"),
        ("baseline", BASELINE_SERVER, env, "baseline"),
    ]
    for count in WORKERS[1:]:  # beside their one-worker rows, so that each scenario loads them back to back
        more = {"CMS_PLANNER": "on", "CMS_WORKERS": str(count)}
        servers.insert(1, (_workers("CMS", count), CMS_SERVER, {**env, **COLD, **more}, f"cms-{count}"))
        servers.insert(-1, (_workers(CACHED, count), CMS_SERVER, {**env, **more}, f"cms-cached-{count}"))
    if POSTGRES:
        _install_peer(console)
        servers.append((PEER, PEER_SERVER, {**env, "GRAPHILE_ENV": "production"}, "postgraphile"))
    with contextlib.ExitStack() as stack:  # all up at once, so each scenario loads them back to back
        running = {
            server: stack.enter_context(serving(command, server_env, VAR / f"{log}.log"))
            for server, command, server_env, log in servers
        }
        _floor_answers(running["CMS"][1], cases)
        if POSTGRES:
            _peer_answers(running[PEER][1], list(peer.values()))
        floor_env = {**env, "BENCH_FLOOR_ANSWERS": str(VAR)}
        running[FLOOR] = stack.enter_context(serving(FLOOR_SERVER, floor_env, VAR / "floor.log"))
        cases += _revalidations(running[CACHED][1], cases)
        for scenario in cases:
            for server, (_process, port) in running.items():
                if (
                    scenario.servers
                    and server not in scenario.servers
                    or server == PEER
                    and scenario.name not in peer
                ):
                    continue
                console.print(f"[bold]{server}[/] {scenario.label}")
                path = f"/floor/{scenario.name}" if server == FLOOR else scenario.path
                loads[scenario.name, server] = _load(
                    wrk, port, peer.get(scenario.name, scenario) if server == PEER else scenario, path
                )
                _settle(port)  # idle again before the next server is loaded
        article = next(c for c in every if c.name == "article")
        guarded = _guarded(wrk, running["CMS"], article, words(every)) if _asked("guarded") else None
        for server, (process, port) in running.items():
            if server not in (*CMS_MODES, "baseline") or not _asked("walk"):  # more workers: no help to one
                continue
            console.print(f"[bold]{server}[/] static-site walk")
            walked = walks[server] = Walks([_walk(port) for _ in range(WALKS)])
            figures[f"Memory, {server}"] = _memory(process.pid)
            walk, per_page = walked.median, statements["walk", server]
            rate = walk.articles / walk.seconds
            each = ", ".join(f"{run.seconds:.1f}" for run in walked.runs)
            figures[f"Static-site walk, {server}"] = (
                f"{walk.seconds:.1f} s, the median of {WALKS} walks ({each} s): {walk.articles:,} published "
                f"articles in {walk.pages} pages of {WALK_PAGE} ({rate:,.0f} articles/s, {per_page:g} SQL "
                f"statements a page; the client parsed the JSON for {walk.parsing:.1f} s of it)"
            )
    for server in CMS_MODES:
        for scenario in cases:
            if (scenario.name, "baseline") not in loads or (scenario.name, server) not in loads:
                continue
            cms_load, base_load = loads[scenario.name, server], loads[scenario.name, "baseline"]
            figures[f"{server}/baseline, {_in_sentence(scenario.label)}"] = (
                f"{cms_load.per_second / base_load.per_second:.2g}× the requests/s, "
                f"{cms_load.p50_ms / base_load.p50_ms:.3g}× the p50 latency"
            )
        if walks:
            figures[f"{server}/baseline, static-site walk"] = (
                f"{walks[server].seconds / walks['baseline'].seconds:.2g}× the time"
            )
    for count in WORKERS[1:]:
        for scenario in cases:
            for one in ("CMS", CACHED):
                if (scenario.name, _workers(one, count)) in loads:
                    ratio = (
                        loads[scenario.name, _workers(one, count)].per_second
                        / loads[scenario.name, one].per_second
                    )
                    figures[f"{_workers(one, count)}/{one}, {_in_sentence(scenario.label)}"] = (
                        f"{ratio:.2g}× the requests/s"
                    )
    for scenario in cases:
        if (scenario.name, PEER) in loads:
            cms_load, peer_load = loads[scenario.name, "CMS"], loads[scenario.name, PEER]
            figures[f"CMS/PostGraphile, {_in_sentence(scenario.label)}"] = (
                f"{cms_load.per_second / peer_load.per_second:.2g}× the requests/s, "
                f"{cms_load.p50_ms / peer_load.p50_ms:.3g}× the p50 latency"
            )
    for scenario in cases:
        if (scenario.name, FLOOR) in loads:
            warm, floor = loads[scenario.name, CACHED].per_second, loads[scenario.name, FLOOR].per_second
            cold = loads[scenario.name, "baseline"].per_second
            figures[f"{CACHED}, {_in_sentence(scenario.label)}"] = (
                f"{warm / floor:.0%} of the HTTP floor's requests/s, {warm / cold:.2g}× the baseline's (cold)"
            )
    if guarded is not None:
        alone, beside, hostile, memory = guarded
        figures["Guarded: article page alone (24 connections)"] = _shown_load(alone)
        figures["Guarded: the same beside 8 hostile connections"] = (
            f"{_shown_load(beside)}: {beside.per_second / alone.per_second:.0%} of the requests/s alone, "
            f"p99 {beside.p99_ms / alone.p99_ms:.1f}× alone's; the hostile connections sent "
            f"{hostile['requests']:,} requests, {hostile['server_errors']} answered 5xx; "
            f"the server's memory after: {memory}"
        )
    report(console, cases, loads, statements, figures)


def _asked(name: str) -> bool:
    """Whether BENCH_SCENARIOS asks for this load (every one when it is unset)."""
    return not ONLY or name in ONLY


def prepare(console: Console, env: dict[str, str]) -> dict[str, str]:
    """The archive (generated once per size and seed), a fresh database, and the import and export timings."""
    archive = VAR / f"articles-{ARTICLES}-seed{SEED}.ndjson"
    figures = {"Archive": f"{_shown(archive)} (cached)"}
    if not archive.exists():
        console.print(f"[bold]generating {ARTICLES:,} articles[/] -> {_shown(archive)}")
        seconds = _timed(lambda: _generate(archive))
        figures["Archive"] = f"{_shown(archive)}, generated in {seconds:.1f} s"
    if POSTGRES:
        figures["Database"] = asyncio.run(_recreate())
    for path in (DATABASE, DATABASE.with_name("bench.db-wal"), DATABASE.with_name("bench.db-shm")):
        path.unlink(missing_ok=True)
    _cms(env, "migrate", timeout=120)
    console.print(f"[bold]cms import[/] {_shown(archive)}")
    imported = _timed(lambda: _cms(env, "import", str(archive), timeout=120 + ARTICLES * 0.05))
    console.print(f"[bold]cms export[/] --out {_shown(EXPORT)}")
    exported = _timed(lambda: _cms(env, "export", "--out", str(EXPORT), timeout=60 + ARTICLES * 0.01))
    figures["cms import"] = f"{imported:.1f} s ({ARTICLES / imported:,.0f} articles/s)"
    figures["cms export"] = f"{exported:.1f} s ({ARTICLES / exported:,.0f} articles/s)"
    if POSTGRES:
        asyncio.run(_execute(DATABASE_URL, (PEER_DIR / "schema.sql").read_text(), "VACUUM ANALYZE"))
    return figures


async def _recreate() -> str:
    """BENCH_DATABASE dropped and created again, empty (from the server's postgres database); its server's
    version."""
    name = urllib.parse.urlsplit(DATABASE_URL).path.lstrip("/")
    admin = urllib.parse.urlsplit(DATABASE_URL)._replace(path="/postgres").geturl()
    return await _execute(
        admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )


async def _execute(url: str, *statements: str) -> str:
    """The statements, one after the other, on one connection; the server's version."""
    connection = await asyncpg.connect(url)
    try:
        for statement in statements:
            await connection.execute(statement)
        version: str = await connection.fetchval("SHOW server_version")
        return f"PostgreSQL {version}"
    finally:
        await connection.close()


def _workers(server: str, count: int) -> str:
    """A server's row with `count` uvicorn workers: "CMS, 2 workers" (one: its plain name)."""
    return server if count == 1 else f"{server}, {count} workers"


def _install_peer(console: Console) -> None:
    """bench/peers/postgraphile's packages as its lock pins them, once (as .ci/peers installs clients/)."""
    if (PEER_DIR / "node_modules" / ".package-lock.json").exists():
        return
    console.print(f"[bold]npm ci[/] {_shown(PEER_DIR)}")
    command = ["npm", "ci", "--prefix", str(PEER_DIR), "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(command, check=True, timeout=600)


def _peer_case(scenario: Scenario) -> Scenario:
    """A scenario as PostGraphile is asked it: its operation in PostGraphile's schema, the same variables."""
    bodies = [{**body, "query": PEER_QUERIES[scenario.name]} for body in scenario.bodies]
    return Scenario(f"{scenario.name}-postgraphile", scenario.label, bodies, (PEER,))


def _peer_answers(port: int, cases: list[Scenario]) -> None:
    """PostGraphile answers each operation with data: its root field not null, a list not empty."""
    connection = http.client.HTTPConnection(HOST, port, timeout=SETTLE_TIMEOUT)
    for scenario in cases:
        status, raw = _post(connection, scenario.bodies[0])
        found = next(iter(_answer(status, orjson.loads(raw)).values()))
        if not found or found.get("nodes") == []:
            raise SystemExit(f"bench: {PEER} answered {scenario.name} with no data: {raw[:500]!r}")
    connection.close()


async def count_statements(cases: list[Scenario], database: Path | str) -> dict[tuple[str, str], float]:
    """SQL statements per request, counted in-process (the CMS's engine events, the baseline's counter), and
    two checks: the baseline gives the CMS's very answers on this database (a SQLite file or a postgresql://
    URL; else it would prove nothing), and the planner answers every one of these operations itself (no
    fallback to Strawberry)."""
    where = str(database)
    url = where if where.startswith(("postgresql://", "postgres://")) else f"sqlite:///{where}"
    engine = create_engine(async_database_url(url))
    counting = StatementCounter(engine).__enter__()
    base = baseline.create_app(where, settings=Settings(database_url=url, article_url=ARTICLE_URL))
    servers: dict[str, tuple[ASGIApp, Callable[[], int]]] = {
        server: (
            create_app(
                Settings(
                    database_url=url,
                    planner=mode,
                    webhooks=False,
                    response_cache_mib=0,
                    article_url=ARTICLE_URL,
                ),
                engine=engine,
                examples=EXAMPLES,
            ),
            lambda: counting.count,
        )
        for server, mode in CMS_MODES.items()
    } | {"baseline": (base, lambda: base.state.database.tally.statements)}
    hundred = {**cases[0].bodies[0], "variables": {"first": 100}}
    walk = {"query": WALK, "variables": {"first": WALK_PAGE, "after": None}}
    shared: dict[str, list[Ask]] = {s.name: [s.get] * 5 if s.get else [*s.bodies[:5]] for s in cases}
    shared |= {"front100": [hundred], "walk": [walk]}
    found: dict[tuple[str, str], float] = {}
    answers: dict[tuple[str, str], list[str]] = {}
    for server, (app, counter) in servers.items():
        for name, bodies in shared.items():
            found[name, server], answers[name, server] = await _per_request(app, counter, bodies)
    await engine.dispose()
    await base.state.database.close()
    differ = [
        f"{name} ({server})"
        for name in shared
        for server in CMS_MODES
        if answers[name, server] != answers[name, "baseline"]
    ]
    if differ:
        raise SystemExit(f"bench: the baseline does not answer as the CMS does: {', '.join(differ)}")
    for server, mode in CMS_MODES.items():
        planner = cast(Starlette, servers[server][0]).state.graphql.planner
        if mode == "on" and planner.fallbacks:
            raise SystemExit(f"bench: Strawberry answered some {server} requests: {dict(planner.fallbacks)}")
    return found


async def _per_request(app: ASGIApp, counter: Callable[[], int], asked: list[Ask]) -> tuple[float, list[str]]:
    """Statements per request, and the answers as JSON text (key order included; a feed's as `seen`, keys
    sorted). They are counted as a running server makes them: after a first request, which also reads the
    category tree the CMS then keeps until the tree changes."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:

        async def answer(ask: Ask) -> str:
            if isinstance(ask, str):
                response = await client.get(ask)
                if response.status_code != 200:
                    raise SystemExit(f"bench: {ask} answered {response.status_code}: {response.text[:500]}")
                return json.dumps(seen(ask, response.content), sort_keys=True)
            response = await client.post("/graphql", json=ask)
            return json.dumps(_answer(response.status_code, response.json()))

        await answer(asked[0])
        before = counter()
        answers = [await answer(ask) for ask in asked]
        return (counter() - before) / len(asked), answers


def seen(path: str, body: bytes) -> Json:
    """A feed as its reader reads it: a JSON Feed's JSON; of RSS, all feedparser reads (the channel's fields,
    every item's guid, title, link, dates, authors, description, content and categories, in order). The
    baseline's bytes may differ from the CMS's where the two formats allow it, never what is read."""
    if path.endswith(".json"):
        feed: Json = orjson.loads(body)
        return feed
    parsed = feedparser.parse(body)
    if parsed.bozo:
        raise SystemExit(f"bench: {path} is not well-formed RSS: {parsed.bozo_exception}")
    return {"version": parsed.version, "feed": parsed.feed, "entries": parsed.entries}


def report(
    console: Console,
    cases: list[Scenario],
    loads: dict[tuple[str, str], Load],
    statements: dict[tuple[str, str], float],
    figures: dict[str, str],
) -> None:
    """The table on the terminal and in `RESULTS`, with the machine it ran on."""
    headers = ["Scenario", "Server", "Requests/s", "p50 ms", "p99 ms", "SQL/request", "Failed"]
    rows = []
    for (name, server), load in loads.items():
        label = next(s.label for s in cases if s.name == name)
        sql = f"{statements[name, server]:g}" if (name, server) in statements else "-"
        if name == "front" and (name, server) in statements:
            sql += f" ({statements['front100', server]:g} at first: 100)"
        rows.append(
            [
                label,
                server,
                f"{load.per_second:,.0f}",
                f"{load.p50_ms:.1f}",
                f"{load.p99_ms:.1f}",
                sql,
                str(load.failed),
            ]
        )
    table = Table(*headers, title=f"{ARTICLES:,} articles")
    for row in rows:
        table.add_row(*row)
    more = Table("Figure", "Value")
    for name, value in figures.items():
        more.add_row(name, value)
    console.print(table, more)
    machine = _machine()
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` (bench/run.py) on {machine['date']}, commit {machine['commit']}: "
        f"{ARTICLES:,} generated articles (seed {SEED}), {'PostgreSQL' if POSTGRES else 'SQLite'}. wrk: "
        f"{CONNECTIONS} connections, {THREADS} threads, {DURATION} s per scenario after a {WARM_UP} s "
        "warm-up, on the same machine as the server (sharing its cores). Each server is one uvicorn "
        "process at log level warning"
        + (" (but for those named with their count of workers)" if WORKERS[1:] else "")
        + (f"; {PEER} one Node process." if POSTGRES else "."),
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory']} RAM, {machine['system']}, "
        f"Python {platform.python_version()}, "
        + (figures["Database"] if POSTGRES else f"SQLite {sqlite3.sqlite_version}")
        + ".",
        "",
        _markdown(headers, rows),
        "",
        _markdown(["Figure", "Value"], [[name, value] for name, value in figures.items()]),
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    console.print(f"written to {_shown(RESULTS)}")


def _markdown(headers: list[str], rows: list[list[str]]) -> str:
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [headers, ["---"] * len(headers), *rows])


def _machine() -> dict[str, str]:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    cpu = re.search(r"^model name\s*:\s*(.+)$", info, re.M)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = (
        " (with uncommitted changes in the tree)"
        if _git("status", "--porcelain", "--untracked-files=no")
        else ""
    )
    return {
        "cpu": cpu.group(1).strip() if cpu else platform.processor() or "unknown CPU",
        "cores": str(os.cpu_count()),
        "memory": f"{int(memory.group(1)) / 2**20:.1f} GiB" if memory else "? GiB",
        "system": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit + dirty,
    }


def _shown(path: Path) -> str:
    """A path as the run names it: from the repository's root when it is inside it."""
    return str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()


def _generate(archive: Path) -> None:
    """Write to a temporary name first, so an interrupted run never leaves a half archive in the cache."""
    partial = archive.with_suffix(".partial")
    write_archive(partial, ARTICLES, SEED)
    partial.replace(archive)


def _cms(env: dict[str, str], *args: str, timeout: float) -> None:
    subprocess.run([str(BIN / "cms"), *args], env=env, cwd=ROOT, check=True, timeout=timeout)


def _timed(step: Callable[[], object]) -> float:
    started = time.perf_counter()
    step()
    return time.perf_counter() - started


def _settle(port: int) -> None:
    """Wait until the server has finished what a load left in flight (wrk stops, the server does not), so
    each measurement starts from an idle server: /healthz answers at once again."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        asked = time.monotonic()
        if healthy(port, timeout=SETTLE_TIMEOUT) and time.monotonic() - asked < 0.5:
            return
    raise SystemExit(f"bench: the server was still busy after {SETTLE_TIMEOUT} s")


def _load(
    wrk: str, port: int, scenario: Scenario, path: str, connections: int = CONNECTIONS, settle: bool = True
) -> Load:
    """wrk over the scenario's requests, after checking that a few of them are answered without errors
    (and after the server is idle again, unless `settle` is off: others are loading it on purpose)."""
    _read_through(DATABASE)
    connection = http.client.HTTPConnection(HOST, port, timeout=SETTLE_TIMEOUT)
    for body in scenario.bodies[:3]:
        status, raw = _post(connection, body, path)
        _answer(status, orjson.loads(raw))
    if scenario.get is not None:
        connection.request("GET", path)
        response = connection.getresponse()
        raw = response.read()
        if response.status != 200:
            raise SystemExit(f"bench: {path} answered {response.status}: {raw[:500]!r}")
        seen(path, raw)
    connection.close()
    url = f"http://{HOST}:{port}{path}"
    for seconds in (WARM_UP, DURATION):
        if settle:
            _settle(port)
        command = [
            wrk,
            f"-t{THREADS}",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={REQUEST_TIMEOUT}s",
            "-s",
            str(LUA),
            url,
            "--",
            str(scenario.file),
        ]
        output = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=seconds + 60
        ).stdout
    found = next((line for line in output.splitlines() if line.startswith('{"requests"')), None)
    if found is None:
        raise SystemExit(f"bench: wrk printed no summary:\n{output}")
    summary = json.loads(found)
    return Load(
        per_second=summary["requests"] / summary["seconds"],
        p50_ms=summary["p50"] / 1000,
        p99_ms=summary["p99"] / 1000,
        failed=summary["failed"] + summary["timeouts"],
    )


def _walk(port: int) -> Walk:
    """A static-site build: every published article, 100 a page, following endCursor on one connection."""
    _read_through(DATABASE)
    _settle(port)
    connection = http.client.HTTPConnection(HOST, port, timeout=120)
    deadline = time.monotonic() + 120 + ARTICLES * 0.05
    started = time.perf_counter()
    after, articles, pages, parsing = None, 0, 0, 0.0
    while True:
        body = {"query": WALK, "variables": {"first": WALK_PAGE, "after": after}}
        status, raw = _post(connection, body)
        parse_started = time.perf_counter()
        answer = orjson.loads(raw)  # a walk page is 0.5 MB of JSON
        parsing += time.perf_counter() - parse_started
        data = _answer(status, answer)["articles"]
        articles += len(data["nodes"])
        pages += 1
        if not data["pageInfo"]["hasNextPage"]:
            break
        if time.monotonic() > deadline:
            raise SystemExit("bench: the static-site walk took too long")
        after = data["pageInfo"]["endCursor"]
    connection.close()
    return Walk(time.perf_counter() - started, articles, pages, parsing)


def words(cases: list[Scenario]) -> list[str]:
    """The search scenario's words: the broad searches of the guarded row."""
    return [body["variables"]["q"] for body in next(c for c in cases if c.name == "search").bodies]


def _guarded(
    wrk: str, server: tuple[subprocess.Popen[bytes], int], article: Scenario, searched: list[str]
) -> tuple[Load, Load, Json, str]:
    """The article page alone, then beside hostile connections sending nonstop the 1 GB query, a 700-way
    filter of searches and broad searches (issue 15's findings): both loads, what the hostile wrk counted,
    and the server's own memory after."""
    process, port = server
    wide = {"or": [{"search": word} for word in (searched * 700)[:700]]}
    hostile = [{"query": HUGE}, {"query": FILTERED, "variables": {"f": wide}}]
    hostile += [{"query": SEARCH, "variables": {"q": word}} for word in searched[:50]]
    bodies = VAR / "hostile.bodies"
    bodies.write_text("".join(json.dumps(body) + "\n" for body in hostile))
    alone = _load(wrk, port, article, "/graphql", connections=GUARDED_CONNECTIONS)
    command = [wrk, "-t1", f"-c{HOSTILE_CONNECTIONS}", f"-d{DURATION + WARM_UP + 10}s", "--timeout=30s"]
    command += ["-s", str(HOSTILE_LUA), f"http://{HOST}:{port}/graphql", "--", str(bodies)]
    attack = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        beside = _load(wrk, port, article, "/graphql", connections=GUARDED_CONNECTIONS, settle=False)
        output, _ = attack.communicate(timeout=DURATION + WARM_UP + 120)
    finally:
        if attack.poll() is None:
            attack.kill()
    found = next((line for line in output.splitlines() if line.startswith('{"requests"')), "{}")
    _settle(port)
    return alone, beside, json.loads(found), _memory(process.pid)


def _in_sentence(label: str) -> str:
    """A scenario's label inside a figure's name: "front page (20 cards)", but "RSS feed", "JSON Feed"."""
    return label if label[1:2].isupper() else label[:1].lower() + label[1:]


def _shown_load(load: Load) -> str:
    return f"{load.per_second:,.0f} requests/s, p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms"


def _floor_answers(port: int, cases: list[Scenario]) -> None:
    """The bytes the floor answers each scenario with: the CMS's answer to its first request."""
    connection = http.client.HTTPConnection(HOST, port, timeout=SETTLE_TIMEOUT)
    for scenario in (case for case in cases if case.get is None):
        status, raw = _post(connection, scenario.bodies[0])
        _answer(status, orjson.loads(raw))
        (VAR / f"{scenario.name}.answer").write_bytes(raw)
    connection.close()


def _revalidations(port: int, cases: list[Scenario]) -> list[Scenario]:
    """Revalidations of front and article pages, as browsers and CDNs send them: a GET with the ETag the
    server gave, answered 304 while nothing changed."""
    found = []
    connection = http.client.HTTPConnection(HOST, port, timeout=SETTLE_TIMEOUT)
    for scenario in (case for case in cases if case.name in REVALIDATED):
        lines = []
        for body in scenario.bodies:
            query = {"query": body["query"], "variables": json.dumps(body["variables"])}
            path = f"/graphql?{urllib.parse.urlencode(query)}"
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            lines.append(f"GET\t{path}\t{response.headers['etag']}\n")
        revalidated = Scenario(f"{scenario.name}-304", f"{scenario.label}, revalidated (304)", [], (CACHED,))
        revalidated.file.write_text("".join(lines))
        found.append(revalidated)
    connection.close()
    return found


def _post(connection: http.client.HTTPConnection, body: Json, path: str = "/graphql") -> tuple[int, bytes]:
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = connection.getresponse()
    return response.status, response.read()


def _answer(status: int, body: Json) -> Json:
    """The data of a successful answer; a benchmark of errors would measure nothing."""
    if status != 200 or "errors" in body:
        raise SystemExit(f"bench: the server answered {status}: {json.dumps(body)[:500]}")
    data: Json = body["data"]
    return data


def _read_through(path: Path) -> None:
    """Read the file through (0.1 to 0.3 s), so that each load and walk finds it in the page cache. This VM's
    host takes cached pages back minutes after they were read or written, and whoever ran first read them
    from disk for whoever came after: with a third of the file cached a walk took 7.5 s, the next 2.9 s.
    On PostgreSQL there is no file of ours to read: its shared buffers hold what the warm-up read."""
    if POSTGRES:
        return
    with path.open("rb") as file:
        while file.read(1 << 24):
            pass


def _memory(pid: int) -> str:
    """Its peak (VmHWM) and its own memory after the walks (RssAnon). The peak counts the pages of the
    database file it reads through mmap, once for each read connection that mapped them: the OS page
    cache's pages, held once whatever the count (a server without the planner, 32 requests at once, peaked
    at 10 GiB so)."""
    status = Path(f"/proc/{pid}/status").read_text()
    found = {
        key: int(value) / 1024 for key, value in re.findall(r"^(VmHWM|RssAnon):\s*(\d+) kB", status, re.M)
    }
    if len(found) < 2:
        return "unknown"
    peak, own = found["VmHWM"], found["RssAnon"]
    return (
        f"{peak:,.0f} MiB at its peak, mapped database pages counted per connection; {own:,.0f} MiB its own"
    )


def _exit(signum: int, _frame: object) -> NoReturn:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    main()
