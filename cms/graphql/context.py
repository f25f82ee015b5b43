"""The per-request context: who is asking, the request's clock reading, its connection and loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncEngine
from strawberry.types import Info as StrawberryInfo

from cms.content.reads import Read
from cms.content.roles import Viewer
from cms.db import Snapshot, snapshot

if TYPE_CHECKING:
    from cms.graphql.loaders import Loaders
    from cms.graphql.plan.planner import Planner


@dataclass
class Context:
    """One request's state. Its statements run in turn on one read-only snapshot (`cms.db.snapshot`), so a
    response never mixes two states of the database."""

    engine: AsyncEngine
    viewer: Viewer
    now: datetime
    request_id: str
    statements: int = 0
    planner: Planner | None = None
    planner_declined: bool = False
    """The planner was asked and left the request to Strawberry: it is not asked again."""
    _snapshot: Snapshot | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: Loaders | None = None
    _over: bool = False

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from cms.graphql.loaders import Loaders

            self._loaders = Loaders(self)
        return self._loaders

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

    async def _fetch(self, statement: Executable, values: Mapping[str, Any] | None) -> Sequence[Any]:
        if self._over:
            raise RequestOver(f"request {self.request_id} has been answered")
        if self._snapshot is None:
            self._snapshot = await snapshot(self.engine)
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
        """After a write: later reads take a new snapshot, and no loader answers from before the write."""
        async with self._lock:
            await self._release()
        self._loaders = None

    async def _release(self) -> None:
        if self._snapshot is not None:
            snapshot, self._snapshot = self._snapshot, None
            await snapshot.close()


class RequestOver(Exception):
    """A statement asked for after its request was answered (by a resolver left running)."""


Info = StrawberryInfo[Context, None]
