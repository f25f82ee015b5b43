"""firstPublishedAt: when the public first could see an article, kept through unpublish and republish, on
the settable clock; lossless through export and import; given to the articles written before it."""

from __future__ import annotations

import contextlib
import sqlite3
from datetime import timedelta
from pathlib import Path

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from cms.clock import FixedClock
from cms.content.documents import article_document
from cms.migrate import upgrade
from cms.settings import async_database_url
from tests.conftest import NOW, data
from tests.test_article_mutations import PUBLISH, UNPUBLISH, create
from tests.test_import_export import Fresh, _round_trip
from tests.test_import_export import fresh as fresh  # noqa: F401  (the fixture)

READ = "query ($id: ID!) { article(id: $id) { status publishedAt firstPublishedAt } }"


async def _first(editor: httpx.AsyncClient, id_: str) -> str | None:
    article = (await data(editor, READ, {"id": id_}))["article"]
    first: str | None = article["firstPublishedAt"]
    return first


async def test_the_first_publication_is_kept_through_unpublish_and_republish(
    seeded: AsyncEngine, editor: httpx.AsyncClient, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    article = await create(editor, title="Kept first")
    assert await _first(editor, article["id"]) is None
    await data(editor, PUBLISH, {"id": article["id"]})
    assert await _first(editor, article["id"]) == NOW.isoformat()
    clock.set(NOW + timedelta(days=1))
    await data(editor, UNPUBLISH, {"id": article["id"]})
    assert await _first(editor, article["id"]) == NOW.isoformat()
    clock.set(NOW + timedelta(days=2))
    republished = (await data(editor, PUBLISH, {"id": article["id"]}))["publishArticle"]["article"]
    assert republished["publishedAt"] == (NOW + timedelta(days=2)).isoformat()
    assert (await data(client, READ, {"id": article["id"]}))["article"]["firstPublishedAt"] == NOW.isoformat()


async def test_a_schedule_never_seen_leaves_no_first_publication(
    seeded: AsyncEngine, editor: httpx.AsyncClient, clock: FixedClock
) -> None:
    """Scheduled, it is the instant the public will see it; unpublished before then, the public never saw
    it; scheduled again and seen, that instant is kept."""
    article = await create(editor, title="Embargo lifted twice")
    first_at, second_at = NOW + timedelta(hours=2), NOW + timedelta(hours=5)
    await data(editor, PUBLISH, {"id": article["id"], "at": first_at.isoformat()})
    assert await _first(editor, article["id"]) == first_at.isoformat()
    clock.set(first_at - timedelta(minutes=1))
    await data(editor, UNPUBLISH, {"id": article["id"]})
    assert await _first(editor, article["id"]) is None
    await data(editor, PUBLISH, {"id": article["id"], "at": second_at.isoformat()})
    clock.set(second_at + timedelta(minutes=1))
    await data(editor, UNPUBLISH, {"id": article["id"]})
    assert await _first(editor, article["id"]) == second_at.isoformat()


async def test_the_first_publication_round_trips_and_is_derived_when_absent(
    seeded: AsyncEngine, editor: httpx.AsyncClient, clock: FixedClock, fresh: Fresh, tmp_path: Path
) -> None:
    article = await create(editor, title="Once public")
    await data(editor, PUBLISH, {"id": article["id"]})
    clock.set(NOW + timedelta(days=1))
    await data(editor, UNPUBLISH, {"id": article["id"]})
    exported = await _round_trip(seeded, fresh, tmp_path)
    lines = [orjson.loads(line) for line in exported.splitlines()]
    by_slug = {line["slug"]: line for line in lines if line["type"] == "article"}
    assert (by_slug[article["slug"]]["status"], by_slug[article["slug"]]["firstPublishedAt"]) == (
        "DRAFT",
        NOW.isoformat(),
    )
    published = [line for line in by_slug.values() if line["status"] == "PUBLISHED"]
    assert published
    assert all(line["firstPublishedAt"] == line["publishedAt"] for line in published)


def test_the_migration_gives_earlier_articles_their_publication(tmp_path: Path) -> None:
    """Articles written before the column: published and archived ones were first public at publishedAt."""
    path = tmp_path / "old.db"
    upgrade(async_database_url(f"sqlite:///{path}"), "0009")
    at = "2026-11-20 09:00:00.000000"
    with contextlib.closing(sqlite3.connect(path)) as connection, connection:
        connection.executemany(
            "INSERT INTO article (id, slug, language, title, derived_excerpt, body, body_html, body_text,"
            " word_count, status, published_at, created_at, updated_at, version)"
            " VALUES (?, ?, 'en', 't', '', '', '', '', 0, ?, ?, ?, ?, 1)",
            [
                (id_, id_, status, published, at, at)
                for id_, status, published in (
                    ("a", "PUBLISHED", at),
                    ("b", "ARCHIVED", at),
                    ("c", "DRAFT", None),
                )
            ],
        )
    upgrade(async_database_url(f"sqlite:///{path}"))
    with contextlib.closing(sqlite3.connect(path)) as connection:
        found = dict(connection.execute("SELECT id, first_published_at FROM article ORDER BY id").fetchall())
    assert found == {"a": at, "b": at, "c": None}


def test_export_lines_carry_it_next_to_published_at() -> None:
    """The key order is the format: firstPublishedAt follows publishedAt."""
    columns = "id slug language title subtitle excerpt body status published_at first_published_at"
    row = dict.fromkeys(f"{columns} cover_image seo created_at updated_at".split())
    document = article_document(
        row,
        authors=[],
        category=None,
        tags=[],
        sources=[],
        translation_of=None,
        corrections=[],
        previous_slugs=[],
    )
    keys = list(document)
    assert keys[keys.index("publishedAt") + 1] == "firstPublishedAt"
