"""Engine construction and the differences between SQLite and PostgreSQL that live below `content`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_engine(async_url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, enforced foreign keys and a busy timeout on every connection."""
    engine = create_async_engine(async_url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


async def analyze(engine: AsyncEngine) -> None:
    """Refresh the planner's statistics after a bulk change. Without them SQLite guesses, and may walk the
    (status, published_at) index for a lookup that the translation-group index answers in one step."""
    async with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA analysis_limit=1000")  # sampled: milliseconds
        await connection.exec_driver_sql("ANALYZE")
