"""Durability (issue 15): `cms serve` killed with SIGKILL while editors write, restarted, for a few rounds
on SQLite and PostgreSQL. Every write the server acknowledged (200, no userErrors) is there after the
restart with the content it acknowledged, nothing was written that no client sent, and the database checks
clean (SQLite's integrity and foreign-key checks; on PostgreSQL amcheck's B-tree checks where the extension
is there, and in both a consistency check of the content's own rules).

Each round ends with the kill when a drawn number of writes has been acknowledged (or at the round's
deadline), so the kill lands among writes in flight, not between them. `CMS_DURABILITY_ROUNDS` (3) and
`CMS_DURABILITY_SEED` (else drawn, and shown with every failure) choose the rounds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.servers import CMS_SERVER, HOST, serving
from cms.content.roles import Role
from tests.conftest import token_for
from tests.test_article_mutations import CREATE, UPDATE

ROUNDS = int(os.environ.get("CMS_DURABILITY_ROUNDS", "3"))
SEED = int(os.environ.get("CMS_DURABILITY_SEED", str(random.randrange(1 << 32))))
CLIENTS = 4
ROUND_SECONDS = 10.0
"""The longest a round writes before the kill, whatever was acknowledged by then."""
REQUEST_SECONDS = 10.0
MARK = "durable"
"""Every title this test writes starts with it (and no seed's does)."""
READ = """query ($id: ID!) { node(id: $id) { ... on Article { title version body(format: MARKDOWN) } } }"""


@dataclass
class Write:
    title: str
    body: str
    version: int


@dataclass
class Story:
    """An article one client writes: its last acknowledged state, and a write sent but not answered (the
    kill came first), which may or may not have been committed."""

    id: str
    acknowledged: Write
    pending: Write | None = None


@dataclass
class Ledger:
    stories: dict[str, Story] = field(default_factory=dict)
    unanswered_creates: set[str] = field(default_factory=set)
    """Titles of creates that got no answer: each may exist, under an id nobody was told."""
    acknowledged: int = 0
    refused: list[str] = field(default_factory=list)
    """Writes answered with anything but success: a failure of the test (one writer per article)."""


@contextlib.contextmanager
def cms_serve(engine: AsyncEngine, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`cms serve` over `engine`'s database (as tests/live.py runs it), and the process to kill."""
    env = {
        **os.environ,
        "CMS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CMS_HOST": HOST,
        "CMS_LOG_LEVEL": "warning",
    }
    with serving(CMS_SERVER, env, log) as (server, port):
        yield server, f"http://{HOST}:{port}"


def kill(server: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the server's process group (its worker processes too), and reap it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=10)


async def writer(
    http: httpx.AsyncClient, name: str, rng: random.Random, ledger: Ledger, acked: asyncio.Event, goal: int
) -> None:
    """Create and update this client's articles one write at a time until the server is gone."""
    mine: list[Story] = []
    written = 0
    while True:
        written += 1
        title = f"{MARK} {name} {written} {rng.randrange(1 << 30):x}"
        body = f"Written by {name}, write {written}.\n\n" + "word " * rng.randrange(1, 400) + "end."
        story = rng.choice(mine) if mine and rng.random() < 0.6 else None
        if story is None:
            request = {
                "query": CREATE,
                "variables": {"input": {"title": title, "body": body, "tags": [name]}},
            }
            ledger.unanswered_creates.add(title)
        else:
            version = story.acknowledged.version
            story.pending = Write(title, body, version + 1)
            variables = {"id": story.id, "input": {"title": title, "body": body}, "v": version}
            request = {"query": UPDATE, "variables": variables}
        try:
            response = await http.post("/graphql", json=request)
        except httpx.TransportError:
            return  # killed: what was in flight stays unanswered
        payload = _payload(response)
        if story is None:
            ledger.unanswered_creates.discard(title)
        if payload is None or payload["userErrors"]:
            ledger.refused.append(f"{response.status_code} {response.text[:500]}")
            if story is not None:
                story.pending = None
            continue
        article = payload["article"]
        acknowledged = Write(article["title"], body, article["version"])
        assert acknowledged.title == title, article
        if story is None:
            story = Story(article["id"], acknowledged)
            mine.append(story)
            ledger.stories[story.id] = story
        else:
            story.acknowledged, story.pending = acknowledged, None
        ledger.acknowledged += 1
        if ledger.acknowledged >= goal:
            acked.set()


def _payload(response: httpx.Response) -> dict[str, Any] | None:
    if response.status_code != 200:
        return None
    body = response.json()
    if body.get("errors") or not body.get("data"):
        return None
    payload: dict[str, Any] = next(iter(body["data"].values()))
    return payload


async def a_round(
    engine: AsyncEngine, token: str, log: Path, rng: random.Random, ledger: Ledger
) -> tuple[int, int]:
    """Serve, write from CLIENTS clients, SIGKILL when `goal` more writes are acknowledged (or at the
    deadline); what was acknowledged in the round and the goal."""
    before = ledger.acknowledged
    goal = before + rng.randrange(5, 60)
    acked = asyncio.Event()
    with cms_serve(engine, log) as (server, url):
        headers = {"authorization": f"Bearer {token}"}
        async with contextlib.AsyncExitStack() as stack:
            clients = [
                await stack.enter_async_context(
                    httpx.AsyncClient(base_url=url, headers=headers, timeout=REQUEST_SECONDS)
                )
                for _ in range(CLIENTS)
            ]
            writers = [
                asyncio.create_task(writer(http, f"c{n}r{log.stem}", rng, ledger, acked, goal))
                for n, http in enumerate(clients)
            ]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(acked.wait(), timeout=ROUND_SECONDS)
            kill(server)
            done, running = await asyncio.wait(writers, timeout=REQUEST_SECONDS + 5)
            assert not running, "a writer did not notice the kill"
            for task in done:
                task.result()
    return ledger.acknowledged - before, goal - before


async def settle(engine: AsyncEngine, ledger: Ledger, problems: list[str]) -> None:
    """Read every story back from the database: its acknowledged write must be there, or the unanswered one
    sent after it (which then becomes the acknowledged state, so the next round's versions follow)."""
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT id, title, body, version FROM article WHERE title LIKE :mark"),
                {"mark": f"{MARK} %"},
            )
        ).all()
    found = {row.id: Write(row.title, row.body, row.version) for row in rows}
    for story in ledger.stories.values():
        there = found.pop(story.id, None)
        if there == story.acknowledged:
            story.pending = None
        elif story.pending is not None and there == story.pending:
            story.acknowledged, story.pending = story.pending, None
        else:
            problems.append(f"{story.id}: acknowledged {story.acknowledged}, found {there}")
    for id_, there in found.items():  # created, never answered: must be one of the creates in flight
        if there.title in ledger.unanswered_creates and there.version == 1:
            ledger.unanswered_creates.discard(there.title)
            ledger.stories[id_] = Story(id_, there)  # committed, unanswered: known from now on
        else:
            problems.append(f"{id_}: {there} was written, and no client sent it")


async def read_back(engine: AsyncEngine, token: str, log: Path, ledger: Ledger, problems: list[str]) -> None:
    """After the last restart, every acknowledged article as the API serves it to an editor."""
    with cms_serve(engine, log) as (_server, url):
        headers = {"authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=REQUEST_SECONDS) as http:
            for story in ledger.stories.values():
                response = await http.post("/graphql", json={"query": READ, "variables": {"id": story.id}})
                node = response.json()["data"]["node"]
                want = story.acknowledged
                if node != {"title": want.title, "version": want.version, "body": want.body}:
                    problems.append(f"{story.id} through the API: acknowledged {want}, served {node}")


CONSISTENCY = {
    "an article without the revision of its version": """
        SELECT a.id FROM article a
        WHERE NOT EXISTS (SELECT 1 FROM revision r
                          WHERE r.article_id = a.id AND r.version = a.version AND r.title = a.title)""",
    "a revision past its article's version": """
        SELECT r.article_id FROM revision r JOIN article a ON a.id = r.article_id
        WHERE r.version > a.version""",
    "an article without its change events": """
        SELECT a.id FROM article a
        WHERE (SELECT count(*) FROM change_event e WHERE e.entity_id = a.id) < 1""",
    "an article_author row of no article or author": """
        SELECT x.article_id FROM article_author x
        WHERE NOT EXISTS (SELECT 1 FROM article a WHERE a.id = x.article_id)
           OR NOT EXISTS (SELECT 1 FROM author u WHERE u.id = x.author_id)""",
    "an article_tag row of no article": """
        SELECT x.article_id FROM article_tag x
        WHERE NOT EXISTS (SELECT 1 FROM article a WHERE a.id = x.article_id)""",
    "an article_source row of no article or source": """
        SELECT x.article_id FROM article_source x
        WHERE NOT EXISTS (SELECT 1 FROM article a WHERE a.id = x.article_id)
           OR NOT EXISTS (SELECT 1 FROM source s WHERE s.id = x.source_id)""",
    "a revision of no article": """
        SELECT r.article_id FROM revision r
        WHERE NOT EXISTS (SELECT 1 FROM article a WHERE a.id = r.article_id)""",
    "a change event sequence taken twice or not positive": """
        SELECT sequence FROM change_event GROUP BY sequence HAVING count(*) > 1 OR min(sequence) < 1""",
    "a tag of the test's articles missing": f"""
        SELECT a.id FROM article a WHERE a.title LIKE '{MARK} %'
        AND NOT EXISTS (SELECT 1 FROM article_tag t WHERE t.article_id = a.id)""",
}
"""Queries that find rows breaking the content's own rules; each must find none. A write and its revision,
change event and relations commit together, so a kill between them must leave all or none."""


async def integrity(engine: AsyncEngine) -> list[str]:
    """What the database's own checks and CONSISTENCY find wrong (nothing, when all is well)."""
    problems = []
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            checked = [row[0] for row in (await connection.exec_driver_sql("PRAGMA integrity_check")).all()]
            if checked != ["ok"]:
                problems.append(f"PRAGMA integrity_check: {checked}")
            keys = (await connection.exec_driver_sql("PRAGMA foreign_key_check")).all()
            if keys:
                problems.append(f"PRAGMA foreign_key_check: {keys}")
        else:
            problems.extend(await _amcheck(connection))
        for rule, query in CONSISTENCY.items():
            found = (await connection.execute(text(query))).all()
            if found:
                problems.append(f"{rule}: {[tuple(row) for row in found[:10]]}")
    return problems


async def last_sequence(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        found = (await connection.execute(text("SELECT max(sequence) FROM change_event"))).scalar()
    return int(found or 0)


async def sequenced_after(engine: AsyncEngine, before: int, created: set[str]) -> list[str]:
    """The change events of the articles a round created all come after every event of the rounds before
    it: the sequence goes on increasing across a kill and a restart, nothing reuses a number."""
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT entity_id, min(sequence) FROM change_event GROUP BY entity_id"),
            )
        ).all()
    return [
        f"{id_}: first change event {first}, not after {before}"
        for id_, first in rows
        if id_ in created and first <= before
    ]


async def _amcheck(connection: Any) -> list[str]:
    """amcheck's bt_index_check on every B-tree index of the database (heap included), if the extension is
    there (PostgreSQL's contrib); it is created for the check and dropped after."""
    available = await connection.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'"))
    if available.first() is None:
        return []
    await connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
    await connection.commit()
    problems = []
    try:
        indexes = await connection.execute(
            text("""SELECT c.oid, c.relname FROM pg_index i
                    JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE am.amname = 'btree' AND n.nspname = 'public' AND c.relpersistence != 't'""")
        )
        for oid, name in indexes.all():
            try:
                await connection.execute(
                    text("SELECT bt_index_check(CAST(:oid AS oid)::regclass, true)"), {"oid": oid}
                )
            except Exception as error:  # amcheck reports corruption as an error
                problems.append(f"amcheck {name}: {error}")
                await connection.rollback()
    finally:
        await connection.rollback()
        await connection.execute(text("DROP EXTENSION IF EXISTS amcheck"))
        await connection.commit()
    return problems


async def test_acknowledged_writes_survive_sigkill(seeded: AsyncEngine, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    token = await token_for(seeded, Role.EDITOR)
    ledger = Ledger()
    problems: list[str] = []
    rounds = []
    for number in range(ROUNDS):
        before = await last_sequence(seeded)
        earlier = set(ledger.stories)
        rounds.append(await a_round(seeded, token, tmp_path / f"{number}.log", rng, ledger))
        await settle(seeded, ledger, problems)
        problems.extend(await integrity(seeded))
        problems.extend(await sequenced_after(seeded, before, set(ledger.stories) - earlier))
    await read_back(seeded, token, tmp_path / "after.log", ledger, problems)
    shown = f"seed {SEED}, rounds (acknowledged, goal) {rounds}"
    assert not ledger.refused, f"{shown}: writes refused: {ledger.refused[:5]}"
    assert all(acknowledged > 0 for acknowledged, _ in rounds), f"{shown}: a round acknowledged nothing"
    assert problems == [], f"{shown}: {problems}"
