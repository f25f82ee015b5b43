"""The sample content: the user's article as given, and what a new user reads after `make run`."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from cms.files.importer import import_paths
from cms.models import Article, ChangeEvent, Revision
from tests.conftest import IN_CI, NOW, ROOT, SEEDS, data

SHARED_SAMPLE = ROOT.parent / "shared" / "seeds" / "000_82c086c08b88bdb7.txt"

ARTICLE_PAGE = """
query ($slug: String!) {
  article(slug: $slug) {
    title status language
    category { name path { name } }
    authors { name }
    sources { role source { name kind } }
  }
}
"""


def test_the_users_sample_is_kept_byte_for_byte() -> None:
    if not SHARED_SAMPLE.exists():
        assert not IN_CI, "CI runs beside shared/: the user's sample must be there to compare"
        pytest.skip("shared/ is not beside this checkout")
    assert (SEEDS / SHARED_SAMPLE.name).read_bytes() == SHARED_SAMPLE.read_bytes()


async def test_the_users_article_reads_as_published_with_its_path_author_and_sources(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    article = (await data(client, ARTICLE_PAGE, {"slug": "unesco-mission-nagorno-karabakh"}))["article"]
    assert article["title"] == "UNESCO Director General proposes sending mission to Nagorno Karabakh"
    assert article["status"] == "PUBLISHED"
    assert [c["name"] for c in article["category"]["path"]] == ["Azerbaijan", "Culture"]
    assert [a["name"] for a in article["authors"]] == ["Fidan Abdullayeva"]
    assert [(s["role"], s["source"]["name"], s["source"]["kind"]) for s in article["sources"]] == [
        ("WIRE", "Trend", "NEWS_AGENCY"),
        ("REFERENCE", "UNESCO", "ORGANIZATION"),
    ]


async def test_the_capture_body_drops_the_breadcrumbs_title_and_byline(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    query = '{ article(slug: "unesco-mission-nagorno-karabakh") { body(format: MARKDOWN) } }'
    body = (await data(client, query))["article"]["body"]
    assert body.startswith("The Director-General of UNESCO, Audrey Azoulay")
    assert body.rstrip().endswith("The 1994 ceasefire agreement was followed by peace negotiations.")
    assert "Home /" not in body
    assert "About Fidan" not in body


async def test_seeding_twice_changes_nothing(engine: AsyncEngine) -> None:
    first = await import_paths(engine, [SEEDS], actor="test", now=NOW)
    counts = await _counts(engine)
    second = await import_paths(engine, [SEEDS], actor="test", now=NOW)
    files = len([p for p in SEEDS.iterdir() if p.suffix in (".md", ".txt")])
    assert first.articles["created"] == files >= 13
    assert second.articles == {"unchanged": files}
    assert await _counts(engine) == counts


async def _counts(engine: AsyncEngine) -> tuple[int, ...]:
    async with engine.connect() as connection:
        return tuple(
            [
                await connection.scalar(select(func.count()).select_from(table))
                for table in (Article, Revision, ChangeEvent)
            ]
            + [await connection.scalar(select(func.max(col(Article.version))))]
        )


async def test_the_samples_exercise_the_model(seeded: AsyncEngine) -> None:
    async with seeded.connect() as connection:
        by_status = select(col(Article.status), func.count()).group_by(col(Article.status))
        statuses: dict[str, int] = dict((await connection.execute(by_status)).all())
        languages = {row[0] for row in (await connection.execute(select(col(Article.language)))).all()}
        due_later = select(func.count()).select_from(Article).where(col(Article.published_at) > NOW)
        scheduled = (await connection.execute(due_later)).scalar_one()
    assert statuses["DRAFT"] >= 1
    assert statuses["ARCHIVED"] >= 1
    assert statuses["PUBLISHED"] >= 10
    assert languages >= {"en", "az", "ru"}
    assert scheduled >= 1
