"""The per-request context: who is asking, the request's clock reading, its connection and loaders."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.types import Info as StrawberryInfo

from cms.content.roles import Viewer

if TYPE_CHECKING:
    from cms.graphql.loaders import Loaders


@dataclass
class Context:
    """One request's state. Its statements share one connection, taken in turn. They do not yet share one
    snapshot: SQLite's driver opens no transaction for reads, PostgreSQL reads at READ COMMITTED."""

    engine: AsyncEngine
    viewer: Viewer
    now: datetime
    request_id: str
    statements: int = 0
    _connection: AsyncConnection | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: Loaders | None = None

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            from cms.graphql.loaders import Loaders

            self._loaders = Loaders(self)
        return self._loaders

    async def fetch(self, statement: Executable) -> Sequence[Any]:
        """Run one read statement on the request's connection and return its rows."""
        async with self._lock:
            if self._connection is None:
                self._connection = await self.engine.connect()
            self.statements += 1
            return (await self._connection.execute(statement)).all()

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


Info = StrawberryInfo[Context, None]
