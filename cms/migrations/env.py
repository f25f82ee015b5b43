"""Alembic environment: runs migrations on the async engine the app itself uses."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import cms.models  # noqa: F401  (registers every table on the metadata)
from cms.db import create_engine
from cms.migrate import modelled

target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=modelled,
    )
    with context.begin_transaction():
        context.run_migrations()
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
            if broken:
                raise RuntimeError(f"the migration left rows that refer to nothing: {broken[:5]}")
            connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        # A rebuilt table loses its planner statistics, and without them SQLite may walk the wrong index.
        connection.exec_driver_sql("ANALYZE")


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":
        # A batch migration rebuilds a table: DROP TABLE would cascade to every row that refers to it.
        event.listen(engine.sync_engine, "connect", _without_foreign_keys)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


def _without_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


asyncio.run(_migrate(context.config.get_main_option("sqlalchemy.url") or ""))
