"""`cms import` / `cms export`: lossless round trips, idempotency, and all or nothing with file and line."""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import orjson
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import SQLModel, col
from typer.testing import CliRunner

from cms.cli import app
from cms.content import editing, versions
from cms.content.editing import write_articles
from cms.content.markdown import render
from cms.content.records import ArticleRecord
from cms.db import create_engine
from cms.files import importer
from cms.files.errors import ContentFileError
from cms.files.exporter import export_ndjson
from cms.files.importer import import_paths
from cms.files.reader import read_records
from cms.models import Article, ChangeEvent, Revision
from cms.settings import async_database_url
from tests.conftest import NOW, ROOT, SEEDS

runner = CliRunner()
Fresh = Callable[[], Awaitable[AsyncEngine]]


async def _export(engine: AsyncEngine) -> bytes:
    out = io.BytesIO()
    await export_ndjson(engine, out)
    return out.getvalue()


async def _history(engine: AsyncEngine) -> tuple[int, ...]:
    """What every write leaves behind: revisions, change events, and the highest version."""
    async with engine.connect() as connection:
        return (
            await connection.scalar(select(func.count()).select_from(Revision)) or 0,
            await connection.scalar(select(func.count()).select_from(ChangeEvent)) or 0,
            await connection.scalar(select(func.coalesce(func.max(Article.version), 0))) or 0,
        )


@pytest.fixture
async def fresh(engine: AsyncEngine, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Fresh]:
    """Another empty database of the same kind: a new migrated SQLite file, or PostgreSQL emptied."""
    engines: list[AsyncEngine] = []

    async def make() -> AsyncEngine:
        if engine.dialect.name == "postgresql":
            tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
            async with engine.begin() as connection:
                await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return engine
        path = tmp_path / f"fresh{len(engines)}.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engines.append(create_engine(async_database_url(f"sqlite:///{path}")))
        return engines[-1]

    yield make
    for made in engines:
        await made.dispose()


async def _round_trip(engine: AsyncEngine, fresh: Fresh, tmp_path: Path) -> bytes:
    first = await _export(engine)
    (tmp_path / "export.ndjson").write_bytes(first)
    empty = await fresh()
    summary = await import_paths(empty, [tmp_path / "export.ndjson"], actor="test", now=NOW)
    assert summary.articles["created"] == first.count(b'{"type":"article"')
    assert await _export(empty) == first
    return first


async def test_export_import_export_gives_the_same_bytes(
    seeded: AsyncEngine, fresh: Fresh, tmp_path: Path
) -> None:
    exported = await _round_trip(seeded, fresh, tmp_path)
    lines = [orjson.loads(line) for line in exported.splitlines()]
    assert [line["type"] for line in lines] == sorted(
        (line["type"] for line in lines), key=["source", "author", "category", "article"].index
    )
    statuses = {line["status"] for line in lines if line["type"] == "article"}
    assert statuses == {"DRAFT", "IN_REVIEW", "PUBLISHED", "ARCHIVED"}


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small archive from the benchmark's generator: three languages, translations, every status."""
    path = tmp_path_factory.mktemp("archive") / "archive.ndjson"
    generator = str(ROOT / "bench" / "generate.py")
    subprocess.run(
        [sys.executable, generator, "--articles", "400", "--seed", "7", "--out", str(path)], check=True
    )
    return path


async def test_a_generated_archive_round_trips(
    engine: AsyncEngine, fresh: Fresh, tmp_path: Path, archive: Path
) -> None:
    summary = await import_paths(engine, [archive], actor="test", now=NOW)
    assert summary.articles["created"] == 400
    exported = await _round_trip(engine, fresh, tmp_path)
    assert exported.count(b'{"type":"article"') == 400


async def test_importing_the_same_file_again_writes_nothing(seeded: AsyncEngine, tmp_path: Path) -> None:
    path = tmp_path / "export.ndjson"
    path.write_bytes(await _export(seeded))
    before = await _history(seeded)
    summary = await import_paths(seeded, [path], actor="test", now=NOW)
    assert set(summary.articles) == {"unchanged"}
    assert set(summary.others) == {"unchanged"}
    assert await _history(seeded) == before
    assert await _export(seeded) == path.read_bytes()


async def test_a_changed_record_makes_one_new_version(seeded: AsyncEngine, tmp_path: Path) -> None:
    lines = (await _export(seeded)).splitlines()
    index = next(i for i, line in enumerate(lines) if b'"unesco-mission-nagorno-karabakh"' in line)
    article = orjson.loads(lines[index])
    article["tags"] = [*article["tags"], "world heritage"]
    lines[index] = orjson.dumps(article)
    path = tmp_path / "changed.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    revisions, events, _ = await _history(seeded)
    summary = await import_paths(seeded, [path], actor="test", now=NOW)
    assert summary.articles["updated"] == 1
    assert summary.articles["created"] == 0
    assert await _history(seeded) == (revisions + 1, events + 1, 2)
    changed = next(
        orjson.loads(line) for line in (await _export(seeded)).splitlines() if article["id"].encode() in line
    )
    assert changed["tags"][-1] == "world heritage"


def _article_line(lines: list[bytes]) -> int:
    """The last article that no other translates: spoiling an original would first fail its translations,
    and which article is last depends on the ids the seeds got."""
    articles = {
        i: orjson.loads(line) for i, line in enumerate(lines) if line.startswith(b'{"type":"article"')
    }
    named = {a["translationOf"] for a in articles.values()}
    return max(i for i, a in articles.items() if a["slug"] not in named and a["id"] not in named)


Spoil = Callable[[list[bytes]], int]


def _edit(**changes: object) -> Spoil:
    """Change the last article line; its index is the bad line."""

    def apply(lines: list[bytes]) -> int:
        index = _article_line(lines)
        lines[index] = orjson.dumps(orjson.loads(lines[index]) | changes)
        return index

    return apply


def _append(line: bytes | Callable[[list[bytes]], bytes]) -> Spoil:
    def apply(lines: list[bytes]) -> int:
        lines.append(line(lines) if callable(line) else line)
        return len(lines) - 1

    return apply


def _same_slug_new_id(lines: list[bytes]) -> bytes:
    return orjson.dumps(
        orjson.loads(lines[_article_line(lines)]) | {"id": "art_" + "0" * 32, "title": "Another"}
    )


ORPHAN = b'{"type":"category","slug":"orphans","name":"Orphans","parent":"no-such-category"}'
BAD_RECORDS: dict[str, tuple[Spoil, str]] = {
    "malformed JSON": (_append(b'{"type": "article", "title": '), "malformed JSON"),
    "not an object": (_append(b"[1, 2]"), "JSON object"),
    "unknown type": (_append(b'{"type": "podcast"}'), "unknown type"),
    "unknown field": (_edit(headline="x"), "unknown field(s) for a article: headline"),
    "unknown author": (_edit(authors=["nobody-by-this-slug"]), "no author 'nobody-by-this-slug'"),
    "unknown category": (_edit(category="nowhere"), "no category 'nowhere'"),
    "unknown source": (_edit(sources=[{"source": "rumour-mill", "role": "WIRE"}]), "no source 'rumour-mill'"),
    "unknown original": (_edit(translationOf="never-written"), "'never-written' names no article"),
    "missing title": (_edit(title=None), "an article needs a title"),
    "bad date": (_edit(publishedAt="last tuesday"), "publishedAt is not an ISO 8601 date"),
    "bad status": (_edit(status="LIVE"), "unknown status 'LIVE'"),
    "bad role": (_edit(sources=[{"source": "trend", "role": "AUTHOR"}]), "unknown role 'AUTHOR'"),
    "bad source kind": (
        _append(b'{"type":"source","slug":"x","name":"X","kind":"BLOG"}'),
        "unknown source kind",
    ),
    "bad author email": (_append(b'{"type":"author","slug":"x","name":"X","email":"no"}'), "not an email"),
    "bad source url": (
        _append(b'{"type":"source","slug":"y","name":"Y","kind":"OTHER","url":"javascript:alert(1)"}'),
        "not an http(s) URL",
    ),
    "wrong type of value": (_edit(tags="one,two"), "tags must be a list of text"),
    "duplicate slug": (_append(_same_slug_new_id), "also record"),
    "unknown parent": (_append(ORPHAN), "unknown parent category 'no-such-category'"),
}


@pytest.mark.parametrize("case", BAD_RECORDS)
async def test_one_bad_record_names_file_and_line_and_writes_nothing(
    seeded: AsyncEngine, tmp_path: Path, case: str
) -> None:
    spoil, message = BAD_RECORDS[case]
    before = await _export(seeded)
    lines = before.splitlines()
    bad = spoil(lines)
    for index, line in enumerate(lines):  # every good article changes, so a partial write would show
        if index != bad and line.startswith(b'{"type":"article"'):
            article = orjson.loads(line)
            lines[index] = orjson.dumps(article | {"title": article["title"] + " (revised)"})
    path = tmp_path / "import.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    history = await _history(seeded)
    with pytest.raises(ContentFileError) as caught:
        await import_paths(seeded, [path], actor="test", now=NOW)
    assert (caught.value.path, caught.value.line) == (path, bad + 1), caught.value
    assert message in caught.value.message
    assert await _export(seeded) == before
    assert await _history(seeded) == history


async def test_an_ambiguous_original_is_named_by_id(
    engine: AsyncEngine, fresh: Fresh, tmp_path: Path
) -> None:
    """Two originals share a slug in two languages; a translation of one must still find the right one."""
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "1.md").write_text("---\ntitle: Budget\nlanguage: en\n---\nEnglish.\n")
    (folder / "2.md").write_text("---\ntitle: Budget\nlanguage: az\n---\nAzərbaycanca.\n")
    await import_paths(engine, [folder], actor="test", now=NOW)
    exported = [orjson.loads(line) for line in (await _export(engine)).splitlines()]
    az = next(line for line in exported if line.get("language") == "az")
    (folder / "3.md").write_text(
        f"---\ntitle: Бюджет\nslug: budget\nlanguage: ru\ntranslationOf: {az['id']}\n---\nТекст.\n"
    )
    await import_paths(engine, [folder / "3.md"], actor="test", now=NOW)
    exported_bytes = await _round_trip(engine, fresh, tmp_path)
    ru = next(orjson.loads(line) for line in exported_bytes.splitlines() if b'"language":"ru"' in line)
    assert ru["translationOf"] == az["id"]


def test_import_and_export_on_a_named_sqlite_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMS_DATABASE_URL", f"sqlite:///{tmp_path}/named.db")
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    imported = runner.invoke(app, ["import", str(SEEDS)])
    assert imported.exit_code == 0, imported.output
    assert "15 articles: 15 created, 0 updated, 0 unchanged" in imported.output
    exported = runner.invoke(app, ["export", "--out", str(tmp_path / "out.ndjson")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "out.ndjson").read_bytes().count(b'"type":"article"') == 15
    again = runner.invoke(app, ["import", str(tmp_path / "out.ndjson")])
    assert "15 articles: 0 created, 0 updated, 15 unchanged" in again.output


def test_a_bad_import_exits_non_zero_naming_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CMS_DATABASE_URL", f"sqlite:///{tmp_path}/named.db")
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    bad = tmp_path / "bad.ndjson"
    bad.write_text(
        '{"type":"author","slug":"a","name":"A"}\n\n{"type":"article","title":"x","status":"NOPE"}\n'
    )
    result = runner.invoke(app, ["import", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:3: status: unknown status 'NOPE'" in result.output


def test_import_into_an_unmigrated_database_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CMS_DATABASE_URL", f"sqlite:///{tmp_path}/never-migrated.db")
    result = runner.invoke(app, ["import", str(SEEDS)])
    assert result.exit_code == 1
    assert "cms migrate" in result.output


def test_import_and_export_on_a_named_postgres_database(
    postgres_database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(
        "CMS_DATABASE_URL", postgres_database.replace("postgresql+asyncpg://", "postgresql://")
    )
    imported = runner.invoke(app, ["import", str(SEEDS)])
    assert imported.exit_code == 0, imported.output
    assert "15 articles:" in imported.output
    exported = runner.invoke(app, ["export", "--out", str(tmp_path / "pg.ndjson")])
    assert exported.exit_code == 0, exported.output
    assert (tmp_path / "pg.ndjson").read_bytes().count(b'"type":"article"') >= 15


async def test_a_big_import_renders_on_every_core_to_the_same_html(
    engine: AsyncEngine, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "PARALLEL_FROM", 100)
    await import_paths(engine, [archive], actor="test", now=NOW)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(col(Article.body), col(Article.body_html), col(Article.word_count))
            )
        ).all()
    assert len(rows) == 400
    assert all((html, words) == (render(body).html, render(body).word_count) for body, html, words in rows)


async def test_an_import_leaves_the_planner_statistics_fresh(engine: AsyncEngine) -> None:
    """Without statistics SQLite may walk the whole (status, published_at) index to find translations."""
    await import_paths(engine, [SEEDS], actor="test", now=NOW)
    statistics = (
        "SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'article'"
        if engine.dialect.name == "sqlite"
        else "SELECT count(*) FROM pg_stats WHERE tablename = 'article'"
    )
    async with engine.connect() as connection:
        assert await connection.scalar(text(statistics))


def _seed_articles() -> list[ArticleRecord]:
    return [item.record for item in read_records([SEEDS]) if isinstance(item.record, ArticleRecord)]


async def test_a_transaction_of_many_rows_changes_the_content_version_once(engine: AsyncEngine) -> None:
    """PostgreSQL's version triggers fire per statement, and asyncpg writes a row per statement. A bump per
    statement left a version of the token's row per row written, and each UPDATE scanned all the earlier
    ones: an import's cost grew with the square of its rows (migration 0017). Each transaction changes the
    token once, the next one again (SQLite, whose triggers update the row in place, changes it too)."""
    records = _seed_articles()
    postgres = engine.dialect.name == "postgresql"
    # the backend's counts not yet reported (of earlier transactions too): what this one adds is the change
    updates = text("SELECT pg_stat_get_xact_tuples_updated('content_version'::regclass)")
    tokens = [await versions.token(engine)]
    for edit in ("", " (updated)"):
        async with AsyncSession(engine) as session, session.begin():
            before = await session.scalar(updates) if postgres else 0
            written = [dataclasses.replace(r, title=f"{r.title}{edit}") for r in records]
            outcomes = await write_articles(session, written, actor="test", now=NOW)
            assert {w.outcome for w in outcomes} == {"updated" if edit else "created"}
            if postgres:
                assert await session.scalar(updates) - before == 1
        tokens.append(await versions.token(engine))
    assert len(set(tokens)) == 3


async def test_a_write_after_a_rolled_back_savepoint_changes_the_content_version(engine: AsyncEngine) -> None:
    """The savepoint's rollback undoes its change of the token, and with it the mark that it was made."""
    first, second = _seed_articles()[:2]
    before = await versions.token(engine)
    async with AsyncSession(engine) as session, session.begin():
        savepoint = await session.begin_nested()
        await write_articles(session, [first], actor="test", now=NOW)
        await savepoint.rollback()
        await write_articles(session, [second], actor="test", now=NOW)
    assert await versions.token(engine) != before


async def test_a_big_import_that_fails_late_writes_nothing(
    engine: AsyncEngine, archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendering in processes, batches stored while the next is prepared, the import's tuned connection:
    a bad last line, or a failure while the third batch is stored, still leaves the database as it was."""
    monkeypatch.setattr(importer, "PARALLEL_FROM", 100)
    monkeypatch.setattr(editing, "CHUNK", 50)
    bad, line = _last_line_spoiled(archive, tmp_path / "bad.ndjson")
    empty = (await _export(engine), await _history(engine))
    with pytest.raises(ContentFileError) as caught:
        await import_paths(engine, [bad], actor="test", now=NOW)
    assert (caught.value.path, caught.value.line) == (bad, line)
    assert (await _export(engine), await _history(engine)) == empty

    stored: list[int] = []
    store = editing._store

    async def failing(*args: object, **kwargs: object) -> None:
        stored.append(len(stored))
        if len(stored) == 3:
            raise RuntimeError("the disk is full")
        await store(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(editing, "_store", failing)
    with pytest.raises(RuntimeError, match="disk"):
        await import_paths(engine, [archive], actor="test", now=NOW)
    assert (await _export(engine), await _history(engine)) == empty
    monkeypatch.setattr(editing, "_store", store)
    assert (await import_paths(engine, [archive], actor="test", now=NOW)).articles["created"] == 400


def _last_line_spoiled(archive: Path, path: Path) -> tuple[Path, int]:
    """The archive with its last article naming an author that does not exist, and that line's number."""
    lines = archive.read_bytes().splitlines()
    spoiled = orjson.loads(lines[-1]) | {"authors": ["nobody"]}
    path.write_bytes(b"\n".join([*lines[:-1], orjson.dumps(spoiled)]))
    return path, len(lines)
