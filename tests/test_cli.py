"""The CLI on any database a user names: migrate, seed, and the schema artifact."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from cms.cli import app
from cms.db import create_engine
from cms.models import Article
from cms.settings import async_database_url
from tests.conftest import SEEDS

runner = CliRunner()


async def _articles(url: str) -> int:
    engine = create_engine(async_database_url(url))
    async with engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(Article))
    await engine.dispose()
    return int(count or 0)


def test_migrate_and_seed_a_named_sqlite_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/nested/other.db"
    monkeypatch.setenv("CMS_DATABASE_URL", url)
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    first = runner.invoke(app, ["seed", "--if-empty", str(SEEDS)])
    again = runner.invoke(app, ["seed", "--if-empty", str(SEEDS)])
    assert first.exit_code == 0, first.output
    assert "15 created" in first.output
    assert "already has content" in again.output


def test_seed_reports_a_bad_file_and_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMS_DATABASE_URL", f"sqlite:///{tmp_path}/cms.db")
    (tmp_path / "bad.md").write_text("---\ntitle: [\n---\n")
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    result = runner.invoke(app, ["seed", str(tmp_path / "bad.md")])
    assert result.exit_code == 1
    assert "bad.md:2: bad YAML" in result.output


def test_schema_check_fails_on_a_stale_file(tmp_path: Path) -> None:
    out = tmp_path / "schema.graphql"
    assert runner.invoke(app, ["schema", "--check", "--out", str(out)]).exit_code == 1
    assert runner.invoke(app, ["schema", "--out", str(out)]).exit_code == 0
    assert runner.invoke(app, ["schema", "--check", "--out", str(out)]).exit_code == 0


def test_migrate_a_named_postgres_database(postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = postgres_database.replace("postgresql+asyncpg://", "postgresql://")
    monkeypatch.setenv("CMS_DATABASE_URL", plain)
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
