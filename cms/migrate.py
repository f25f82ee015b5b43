"""Upgrade any database, SQLite or PostgreSQL, to the newest schema with the shipped migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlmodel import SQLModel

import cms.models  # noqa: F401  (every table on the metadata)

MIGRATIONS = Path(__file__).parent / "migrations"


def modelled(name: str | None, type_: str, *_: object) -> bool:
    """What autogenerate compares: the modelled tables; the search index's own tables live in 0003."""
    return type_ != "table" or name in SQLModel.metadata.tables


def alembic_config(async_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", async_url.replace("%", "%%"))
    return config


def upgrade(async_url: str, revision: str = "head") -> None:
    """Run every migration not yet applied (a blocking call: alembic drives its own event loop)."""
    command.upgrade(alembic_config(async_url), revision)
