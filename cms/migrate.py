"""Upgrade any database, SQLite or PostgreSQL, to the newest schema with the shipped migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(async_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", async_url.replace("%", "%%"))
    return config


def upgrade(async_url: str, revision: str = "head") -> None:
    """Run every migration not yet applied (a blocking call: alembic drives its own event loop)."""
    command.upgrade(alembic_config(async_url), revision)
