"""The per-request context: who is asking, the request's clock reading, its snapshot, and what the request
reads once for all of its fields (the category tree, each field's batched loads)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.types import Info as StrawberryInfo

from cms.content.categories import CategoryTree, read_tree
from cms.content.keys import LISTS
from cms.content.keys import item as item_key
from cms.content.reads import Read
from cms.content.roles import Viewer
from cms.db import Opens, Snapshot, reads_on_loop, snapshot
from cms.settings import Settings

DEFAULT_SETTINGS = Settings()
L = TypeVar("L")
T = TypeVar("T")


def retrieved(future: asyncio.Future[Any]) -> None:
    """Take a shared read's outcome, so that a failure nobody is left to await (the request was answered
    with an error meanwhile) is not reported as never retrieved; those still waiting get it as usual."""
    if not future.cancelled():
        future.exception()


class Shared(Generic[T]):
    """A read that several fields may await, made once. Where reads run on the loop, it is made in place;
    else it is a task, shielded: a field cancelled while waiting (graphql-core cancels an erring field's
    siblings) must not cancel it for the others. A task would cost the planner a turn of the loop per read.
    A read in place can still wait (a statement past `deadlines.ON_LOOP` goes on in a worker thread, as every
    statement of an app with a statement timeout may): whoever comes meanwhile waits for it, and, should
    its reader be cancelled, makes it again as a task. Each of a page's 20 nested connections counted its
    total again on Strawberry's resolvers."""

    def __init__(self, read: Callable[[], Awaitable[T]], *, in_place: bool) -> None:
        self._read = read
        self._in_place = in_place
        self._task: asyncio.Future[T] | None = None
        self._reading: asyncio.Future[T] | None = None
        self._done: tuple[T] | None = None

    async def get(self) -> T:
        if self._done is not None:
            return self._done[0]
        if self._in_place and self._task is None:
            if self._reading is None:
                return await self._here()
            try:
                return await asyncio.shield(self._reading)
            except asyncio.CancelledError:
                if not self._reading.cancelled():  # this caller was cancelled, not the read
                    raise
        if self._task is None:
            self._task = asyncio.ensure_future(self._read())
            self._task.add_done_callback(retrieved)
        value = await asyncio.shield(self._task)
        self._done = (value,)
        return value

    async def _here(self) -> T:
        reading = self._reading = asyncio.get_running_loop().create_future()
        reading.add_done_callback(retrieved)
        try:
            value = await self._read()
        except asyncio.CancelledError:
            reading.cancel()
            raise
        except BaseException as error:
            reading.set_exception(error)
            raise
        self._done = (value,)
        reading.set_result(value)
        return value


class PlannerFigures(Protocol):
    """What the admin's `planner` field reports of the process's planner."""

    @property
    def planned(self) -> int: ...

    @property
    def fallbacks(self) -> Counter[str]: ...


@dataclass
class Context:
    """One request's state. Its statements run in turn on one read-only snapshot (`cms.db.snapshot`), so a
    response never mixes two states of the database."""

    engine: AsyncEngine
    viewer: Viewer
    now: datetime
    request_id: str
    statements: int = 0
    planner: PlannerFigures | None = None
    allow_private_targets: bool = False
    """CMS_WEBHOOK_ALLOW_PRIVATE: createWebhook may name loopback and private targets (`content.targets`)."""
    items: set[str] | None = None
    """The surrogate keys of the items the answer holds, when the answer will carry them (`saw`)."""
    tree: CategoryTree | None = None
    """The category tree, once `category_tree` has read it."""
    tree_token: str | None = None
    """The category tree's token, when this snapshot read it with the content's (`versions.current`)."""
    settings: Settings = DEFAULT_SETTINGS
    """The app's: what an answer says of the site (`Article.url`, the publisher in `Article.jsonLd`)."""
    reads: Opens | None = None
    """How the snapshot opens while the request has written nothing: a public request's on a read replica
    (`db.Replicas.reads`); None, on `engine`, the primary."""
    _in_place: bool = field(init=False)
    _snapshot: Snapshot | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: dict[Hashable, Any] = field(default_factory=dict)
    _tree: Shared[CategoryTree] | None = None
    _over: bool = False
    _off_loop: bool = False

    def __post_init__(self) -> None:
        self._in_place = reads_on_loop(self.engine)

    def saw(self, typename: str, rows: Sequence[Any]) -> None:
        """Both engines tell what items of a node type go into the answer: its surrogate keys name them."""
        if self.items is not None and typename in LISTS:
            self.items.update(item_key(typename, row.id) for row in rows)

    def depends(self, key: str) -> None:
        """The answer depends on a list no item of it names: a tag is a count of articles, whose answer a
        write of any article may change (`content.keys`), found or not."""
        if self.items is not None:
            self.items.add(key)

    def shared(self, read: Callable[[], Awaitable[T]]) -> Shared[T]:
        """`read`, made once for however many fields await it (see `Shared`)."""
        return Shared(read, in_place=self._in_place)

    def loader(self, key: Hashable, make: Callable[[Context], L]) -> L:
        """The request's one loader for `key` (a field's declaration), made on first use."""
        found = self._loaders.get(key)
        if found is None:
            found = self._loaders[key] = make(self)
        return found

    async def category_tree(self) -> CategoryTree:
        """The whole category tree, read once per request however many fields ask at the same time."""
        if self.tree is None:
            if self._tree is None:
                self._tree = self.shared(lambda: read_tree(self.fetch, self.tree_token))
            self.tree = await self._tree.get()
        return self.tree

    async def fetch(
        self, statement: Executable | Read, values: Mapping[str, Any] | None = None
    ) -> Sequence[Any]:
        """Run one read statement (with its parameters' values, or a Read) in the request's snapshot; return
        its rows. Statements take turns: the lock keeps one from starting while another waits on the
        connection, which a snapshot that runs on the loop never does (the lock would cost an article page
        4%)."""
        if isinstance(statement, Read):
            statement, values = statement
        if self._snapshot is not None and self._snapshot.on_loop:
            return await self._fetch(statement, values)
        async with self._lock:
            return await self._fetch(statement, values)

    def leave_loop(self) -> None:
        """The request's statements from now on leave the event loop to the others (`Snapshot.leave_loop`)."""
        self._off_loop = True
        if self._snapshot is not None:
            self._snapshot.leave_loop()

    async def _fetch(self, statement: Executable, values: Mapping[str, Any] | None) -> Sequence[Any]:
        if self._over:
            raise RequestOver(f"request {self.request_id} has been answered")
        if self._snapshot is None:
            self._snapshot = await (snapshot(self.engine) if self.reads is None else self.reads())
            if self._off_loop:
                self._snapshot.leave_loop()
        self.statements += 1
        return await self._snapshot.fetch(statement, values)

    async def close(self) -> None:
        """End the request: after a statement in flight finishes, the snapshot is released and no other
        starts. An error that nulls a whole response can leave sibling resolvers running; they must neither
        find their connection closed under them nor open a new one that nobody closes."""
        async with self._lock:
            self._over = True
            await self._release()

    async def renew(self) -> None:
        """After a write: later reads take a new snapshot, on the primary (a replica may not have the write
        yet), and nothing read before the write is reused."""
        async with self._lock:
            await self._release()
        self.reads = None
        self._loaders = {}
        self.tree = self._tree = self.tree_token = None

    async def _release(self) -> None:
        if self._snapshot is not None:
            snapshot, self._snapshot = self._snapshot, None
            await snapshot.close()


class RequestOver(Exception):
    """A statement asked for after its request was answered (by a resolver left running)."""


Info = StrawberryInfo[Context, None]
