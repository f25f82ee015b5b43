"""`cms serve --workers 2` (issue 17): two processes accept connections on one port over one database, each
with its own engine and caches, and they agree: an edit through either is seen by the very next request to
the other (each one's response cache is checked against the database's content version), a scheduled
publication appears on both once its time comes, and a webhook delivery is sent once whichever worker
claims it. Which process answers is read from /proc: the worker holding the server's end of the
connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from cms.cli import app
from cms.content.roles import Role
from cms.delivery import ratelimit
from cms.settings import Settings
from tests.conftest import data, token_for
from tests.live import live_cms
from tests.test_article_mutations import PUBLISH, UPDATE, create
from tests.test_processes import PAGE, SLUG
from tests.test_webhooks import CREATE_AUTHOR, Receiver, create_webhook, outbox
from tests.test_webhooks import receiver as receiver  # noqa: F401  (the fixture)

WORKERS = 2
DEADLINE = 30.0
"""Seconds anything asynchronous (both workers' first connections, a delivery, an instant) may take."""
ROUNDS = 10
"""Edits in a row, through each worker in turn."""
WRITES = 30
"""Deliveries queued while both workers' delivery workers tick."""
SCHEDULED_IN = timedelta(seconds=1.5)
LIMIT = 3
"""Requests a minute the rate-limit test allows a caller."""
POLL = 0.05
"""Seconds between two looks at the outbox (on SQLite each look takes the write lock for a moment)."""


def test_workers_are_one_unless_told_and_never_fewer() -> None:
    assert Settings.from_env({}).workers == 1
    assert Settings.from_env({"CMS_WORKERS": "4"}).workers == 4
    with pytest.raises(ValueError, match="CMS_WORKERS must be 1 or more, not 0"):
        Settings.from_env({"CMS_WORKERS": "0"})
    refused = CliRunner().invoke(app, ["serve", "--workers", "0"])
    assert refused.exit_code == 2, refused.output
    assert "--workers" in refused.output


@dataclass
class Worker:
    """A worker process and a connection it accepted: every request sent on it is that process's to answer
    (`send` checks that the connection is still that one)."""

    pid: int
    http: httpx.AsyncClient
    port: int
    """The connection's port on the client's side."""

    async def send(self, method: str, **request: Any) -> httpx.Response:
        response = await self.http.request(method, "/graphql", **request)
        assert _client_port(response) == self.port, f"worker {self.pid}'s connection was replaced"
        return response

    async def article(self, slug: str = SLUG) -> dict[str, Any] | None:
        """The public's page of an article (id and title), as this worker answers it: its kept answer when it
        has one."""
        response = await self.send("GET", params={"query": PAGE, "variables": json.dumps({"slug": slug})})
        assert response.status_code == 200, response.text
        found: dict[str, Any] | None = response.json()["data"]["article"]
        return found

    async def title(self) -> str | None:
        found = await self.article()
        return None if found is None else str(found["title"])


@dataclass
class Served:
    url: str
    parent: int
    children: set[int]
    """The processes holding the listening socket besides `parent`."""
    workers: dict[int, Worker]


@contextlib.asynccontextmanager
async def two_workers(engine: AsyncEngine, logs: Path, **settings: str) -> AsyncIterator[Served]:
    """`cms serve` with CMS_WORKERS=2 over `engine`'s database, and a connection accepted by each worker
    (new ones are opened until each holds one: which process accepts a connection is the kernel's choice)."""
    with live_cms(engine, logs, port=None, CMS_WORKERS=str(WORKERS), **settings) as url:
        port = int(url.rsplit(":", 1)[1])
        holders = _holders(_inodes(local=port), _processes())
        parent = next(pid for pid in holders if _parent(pid) not in holders)
        children = holders - {parent}
        async with contextlib.AsyncExitStack() as stack:
            workers: dict[int, Worker] = {}
            deadline = time.monotonic() + DEADLINE
            while set(workers) != children:
                assert time.monotonic() < deadline, f"only {set(workers)} of {children} accepted a connection"
                limits = httpx.Limits(max_connections=1)  # one connection, kept alive: one worker
                http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, limits=limits))
                own = _client_port(await http.get("/healthz"))
                (pid,) = _holders(_inodes(local=port, remote=own), children)
                workers.setdefault(pid, Worker(pid, http, own))
            yield Served(url, parent, children, workers)


async def test_two_worker_processes_share_the_port_and_both_answer(
    seeded: AsyncEngine, tmp_path: Path
) -> None:
    async with two_workers(seeded, tmp_path) as served:
        assert len(served.children) == WORKERS
        assert {_parent(pid) for pid in served.children} == {served.parent}
        assert set(served.workers) == served.children
        for worker in served.workers.values():
            assert await worker.title() is not None, f"worker {worker.pid} does not serve the page"


async def test_a_caller_has_one_rate_limit_whichever_worker_answers(
    seeded: AsyncEngine, tmp_path: Path
) -> None:
    """The workers count CMS_RATE_LIMIT together: a reader whose connections reach both gets the limit, not
    the limit twice over; and `cms serve` removes the file they counted in when it stops."""
    query = {"query": "{ viewer { role } }"}
    before = set(ratelimit.COUNTS_DIR.glob("cms-rate-limit-*"))
    async with two_workers(seeded, tmp_path, CMS_RATE_LIMIT=f"{LIMIT}/minute") as served:
        assert set(ratelimit.COUNTS_DIR.glob("cms-rate-limit-*")) - before, "the workers' file"
        statuses: Counter[int] = Counter()
        for n in range(2 * LIMIT):
            worker = list(served.workers.values())[n % WORKERS]
            statuses[(await worker.send("POST", json=query)).status_code] += 1
    assert statuses == {200: LIMIT, 429: LIMIT}
    assert set(ratelimit.COUNTS_DIR.glob("cms-rate-limit-*")) == before


async def test_an_edit_through_one_worker_is_seen_by_the_next_request_to_either(
    seeded: AsyncEngine, tmp_path: Path
) -> None:
    token = {"Authorization": f"Bearer {await token_for(seeded, Role.EDITOR)}"}
    stale: list[tuple[int, int, str | None, str]] = []
    async with two_workers(seeded, tmp_path) as served:
        workers = list(served.workers.values())
        article = await workers[0].article()
        assert article is not None
        article_id, title = article["id"], article["title"]
        for round_ in range(ROUNDS):
            for worker in workers:  # each keeps the page under the content version of now
                for _ in range(2):
                    if (got := await worker.title()) != title:
                        stale.append((round_, worker.pid, got, title))
            writer, other = workers[round_ % WORKERS], workers[(round_ + 1) % WORKERS]
            title = f"Carpets, take {round_}"
            variables = {"id": article_id, "input": {"title": title}}
            edited = await writer.send("POST", json={"query": UPDATE, "variables": variables}, headers=token)
            assert edited.json()["data"]["updateArticle"]["userErrors"] == [], edited.text
            for worker in (other, writer):
                if (got := await worker.title()) != title:
                    stale.append((round_, worker.pid, got, title))
    assert stale == [], "stale answers (round, worker, answered, current)"


async def test_a_scheduled_publication_appears_on_every_worker_at_its_instant(
    seeded: AsyncEngine, tmp_path: Path
) -> None:
    token = {"Authorization": f"Bearer {await token_for(seeded, Role.EDITOR)}"}
    async with two_workers(seeded, tmp_path) as served:
        async with httpx.AsyncClient(base_url=served.url, headers=token) as editor:
            draft = await create(editor, title="A story for later")
            at = datetime.now(UTC) + SCHEDULED_IN
            scheduled = await data(editor, PUBLISH, {"id": draft["id"], "at": at.isoformat()})
        instant = datetime.fromisoformat(scheduled["publishArticle"]["article"]["publishedAt"])
        early, late, wrong = 0, 0, list[tuple[int, str, datetime]]()
        deadline = time.monotonic() + DEADLINE
        while late < ROUNDS * WORKERS:  # asked again and again: each worker keeps the answer it made first
            assert time.monotonic() < deadline, f"{late} answers after {instant}"
            for worker in served.workers.values():
                sent = datetime.now(UTC)
                visible = await worker.article(draft["slug"]) is not None
                answered = datetime.now(UTC)
                if answered < instant:
                    early += 1
                    if visible:
                        wrong.append((worker.pid, "before", answered))
                elif sent >= instant:
                    late += 1
                    if not visible:
                        wrong.append((worker.pid, "after", sent))
    assert early > 0, "no answer came before the instant: schedule it later"
    assert wrong == [], f"answers on the wrong side of {instant} (worker, side, when)"


async def test_a_webhook_delivery_is_received_once_with_two_workers(
    seeded: AsyncEngine, tmp_path: Path, receiver: Receiver
) -> None:
    token = {"Authorization": f"Bearer {await token_for(seeded, Role.ADMIN)}"}
    quick = {"CMS_WEBHOOK_ALLOW_PRIVATE": "on", "CMS_WEBHOOK_INTERVAL": "0.02"}
    async with two_workers(seeded, tmp_path, **quick) as served:
        async with httpx.AsyncClient(base_url=served.url, headers=token) as admin:
            webhook_id, _secret = await create_webhook(admin, receiver.url, ["CONTENT_CHANGED"])
            for number in range(WRITES):
                await data(admin, CREATE_AUTHOR, {"name": f"Author {number}"})
        deadline = time.monotonic() + DEADLINE
        while True:
            rows = await outbox(seeded, webhook_id)
            received = Counter(receiver.ids())
            assert [row.id for row in rows if row.attempt > 1] == [], "claimed twice, so sent twice"
            assert [id_ for id_, times in received.items() if times > 1] == [], "received twice"
            statuses = Counter(row.status for row in rows)
            if statuses.keys() == {"DELIVERED"}:
                break
            assert time.monotonic() < deadline, f"deliveries not all delivered in time: {statuses}"
            await asyncio.sleep(POLL)
    assert len(rows) == WRITES
    assert Counter(receiver.ids()) == dict.fromkeys((row.id for row in rows), 1)


def _client_port(response: httpx.Response) -> int:
    """The port of the connection's client end that carried `response`."""
    port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    return port


def _inodes(*, local: int, remote: int | None = None) -> set[str]:
    """The inodes of the loopback TCP sockets on port `local`: the listening one, else the one connected to
    `remote` (/proc/net/tcp: local and remote address as hex host:port, state 0A is LISTEN, inode tenth)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        here, there, state, inode = int(fields[1][-4:], 16), int(fields[2][-4:], 16), fields[3], fields[9]
        if here == local and (state == "0A" if remote is None else there == remote):
            found.add(inode)
    return found


def _processes() -> set[int]:
    return {int(name) for name in os.listdir("/proc") if name.isdigit()}


def _holders(inodes: set[str], among: set[int]) -> set[int]:
    """The processes of `among` with one of these sockets open."""
    wanted = {f"socket:[{inode}]" for inode in inodes}
    holding = set()
    for pid in among:
        with contextlib.suppress(OSError):  # gone, or not ours to look at
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                        holding.add(pid)
                        break
    return holding


def _parent(pid: int) -> int:
    """The parent's pid (/proc/PID/stat: the fourth field, the second after the command's closing paren)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
