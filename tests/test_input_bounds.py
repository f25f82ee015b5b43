"""Bounds on what a caller gives (issue 15): filters held to limits before anything is read, statements
prepared per filter shape whatever its words, and NUL refused on every way content comes in (the pipeline
refuses it in a request's parameters and document; these are the content layer's own checks, which the
importer, the CLI and any other caller rely on)."""

from __future__ import annotations

import gc
import itertools
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from cms import db
from cms.content import articles, filters, workflow
from cms.content.editing import API_NAMES, write_articles
from cms.content.errors import BadInput, InvalidInput, InvalidRecord
from cms.content.filters import NEWEST_FIRST, ArticleFilter, StringMatch
from cms.content.forms import nul_errors
from cms.content.pagination import PageRequest
from cms.content.records import ArticleRecord, SourceRef
from cms.content.references import AUTHOR, CATEGORY, SOURCE, create_item, update_item
from cms.content.roles import PUBLIC
from cms.db import StatementCounter
from cms.delivery import http
from cms.files.errors import ContentFileError
from cms.files.importer import import_paths
from cms.graphql import inputs
from cms.models import Article, Author, ChangeEvent
from tests.conftest import NOW, data, gql

LIST = "query ($filter: ArticleFilter) { articles(filter: $filter, first: 5) { totalCount nodes { slug } } }"
_ASKED = itertools.count()
WORDS = ["carpet", "baku", "caspian", "heritage", "wind", "glacier", "manuscript", "festival"]


async def _refused(client: httpx.AsyncClient, engine: AsyncEngine, filter_: dict[str, Any]) -> str:
    """The one BAD_USER_INPUT error a list with this filter gets, quickly and without reading any more than
    a list whose page size is refused: a public query reads the content version first, whatever it asks
    (and once per version, the next scheduled instant: a first query reads it). The refused page is asked
    anew each time (a kept answer would cost it nothing)."""
    await data(client, "{ articles(first: 1) { totalCount } }")
    with StatementCounter(engine) as baseline:
        page = f"query Refused{next(_ASKED)} {{ articles(first: 0) {{ totalCount }} }}"
        refused_page = await gql(client, page)
    assert [e["extensions"]["code"] for e in refused_page["errors"]] == ["BAD_USER_INPUT"]
    started = time.perf_counter()
    with StatementCounter(engine) as counter:
        body = await gql(client, LIST, {"filter": filter_})
    assert time.perf_counter() - started < 2, "refused before it costs anything"
    assert counter.count <= baseline.count
    assert body.get("data") is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return str(error["message"])


@pytest.mark.parametrize("terms", [100, 700, 2000])
async def test_an_or_of_hundreds_of_searches_in_variables_is_refused(
    client: httpx.AsyncClient, seeded: AsyncEngine, terms: int
) -> None:
    """It took seconds on SQLite, minutes on PostgreSQL and 80-170 MB of statement cache; 2,000 were an
    internal error ("Expression tree is too large"). Past MAX_VALUES values the variables are refused as
    they are read, before any of them becomes an input object; below, by the filter's own limit."""
    wide = {"or": [{"search": f"{WORDS[n % len(WORDS)]} w{n}"} for n in range(terms)]}
    message = await _refused(client, seeded, wide)
    if 2 * terms + 2 > http.MAX_VALUES:
        assert f"more than {http.MAX_VALUES:,} values" in message
    else:
        assert f"at most {filters.MAX_TERMS} conditions" in message


async def test_terms_are_counted_across_and_or_not(client: httpx.AsyncClient, seeded: AsyncEngine) -> None:
    leaf = {"tag": "carpets", "language": "en"}  # two conditions
    spread = {"and": [{"or": [leaf] * 5}, {"not": {"or": [leaf] * 5}}, leaf]}  # 22
    assert "conditions" in await _refused(client, seeded, spread)
    empties: dict[str, Any] = {"or": [{}] * (filters.MAX_TERMS + 1)}  # each empty one matches all: 1 each
    assert "conditions" in await _refused(client, seeded, empties)


async def test_sixty_nested_nots_are_refused(client: httpx.AsyncClient, seeded: AsyncEngine) -> None:
    """An internal error on SQLite before ("parser stack overflow")."""
    nested: dict[str, Any] = {"title": {"contains": "a"}}
    for _ in range(60):
        nested = {"not": nested}
    message = await _refused(client, seeded, nested)
    assert f"at most {filters.MAX_DEPTH} levels deep" in message


async def test_a_50000_character_contains_is_refused(client: httpx.AsyncClient, seeded: AsyncEngine) -> None:
    """An internal error on SQLite before ("LIKE or GLOB pattern too complex"), 7.5 s on PostgreSQL."""
    message = await _refused(client, seeded, {"title": {"contains": "ab" * 25_000}})
    assert "title.contains is at most 200 characters, got 50,000" in message


@pytest.mark.parametrize(
    ("filter_", "limit"),
    [
        ({"title": {"startsWith": "x" * 201}}, "title.startsWith is at most 200 characters"),
        ({"title": {"eq": "x" * 301}}, "title.eq is at most 300 characters"),
        ({"title": {"in": ["x" * 301]}}, "title.in is at most 300 characters"),
        ({"title": {"in": [f"t{n}" for n in range(21)]}}, "title.in lists at most 20 values"),
        ({"status": ["PUBLISHED"] * 21}, "status lists at most 20 values"),
        ({"search": "carpet " * 100}, "search is at most 500 characters"),
        ({"or": [{"category": "c" * 201}]}, "category is at most 200 characters"),
        ({"not": {"author": "a" * 201}}, "author is at most 200 characters"),
        ({"source": "s" * 201}, "source is at most 200 characters"),
        ({"tag": "t" * 51}, "tag is at most 50 characters"),
        ({"language": "l" * 36}, "language is at most 35 characters"),
    ],
)
async def test_each_string_and_list_of_a_filter_has_its_limit(
    client: httpx.AsyncClient, seeded: AsyncEngine, filter_: dict[str, Any], limit: str
) -> None:
    assert limit in await _refused(client, seeded, filter_)


async def test_a_filter_at_every_limit_runs(client: httpx.AsyncClient, seeded: AsyncEngine) -> None:
    nested: dict[str, Any] = {"search": "carpet"}
    for _ in range(2):
        nested = {"not": {"not": nested}}  # the search 5 levels deep, under the top level's `and`
    wide = {"or": [{"search": word} for word in WORDS] * 2 + [{"title": {"contains": "x" * 200}}]}
    both = {"language": "en", "tag": "carpets"}
    found = await data(client, LIST, {"filter": {"and": [nested, wide, both]}})  # 1 + 17 + 2 conditions
    assert found["articles"]["nodes"] == [{"slug": "baku-carpet-weaving-festival"}]
    listed = {
        "status": ["PUBLISHED"] * 20,
        "title": {"in": ["x" * 300] * 19 + ["Baku hosts regional carpet weaving festival"]},
    }
    found = await data(client, LIST, {"filter": listed})
    assert found["articles"]["nodes"] == [{"slug": "baku-carpet-weaving-festival"}]


@pytest.mark.parametrize(
    "given",
    [
        {"search": "carpet\x00"},
        {"language": "en\x00"},
        {"tag": "carpets\x00"},
        {"category": "culture\x00"},
        {"author": "fidan\x00"},
        {"source": "trend\x00"},
        {"title": {"eq": "\x00"}},
        {"title": {"in": ["a", "b\x00"]}},
        {"title": {"contains": "a\x00"}},
        {"title": {"startsWith": "\x00a"}},
        {"or": [{"tag": "a"}, {"not": {"tag": "b\x00"}}]},
    ],
)
async def test_nul_in_a_filter_string_is_bad_user_input(seeded: AsyncEngine, given: dict[str, Any]) -> None:
    """PostgreSQL refuses a statement with NUL in a parameter (an internal error), so the filter is refused
    as it is converted, on both engines; the HTTP pipeline refuses NUL in a request before this."""
    converted = _input(given)
    with pytest.raises(BadInput, match="NUL"):
        inputs.filter_of(converted)


def _input(given: dict[str, Any]) -> inputs.ArticleFilter:
    """The API's input object, as Strawberry makes it of a request's variables."""
    title = given.get("title")
    return inputs.ArticleFilter(
        search=given.get("search"),
        language=given.get("language"),
        tag=given.get("tag"),
        category=given.get("category"),
        author=given.get("author"),
        source=given.get("source"),
        title=None
        if title is None
        else inputs.StringMatch(
            eq=title.get("eq"),
            in_=title.get("in"),
            contains=title.get("contains"),
            starts_with=title.get("startsWith"),
        ),
        or_=[_input(item) for item in given["or"]] if "or" in given else None,
        not_=_input(given["not"]) if "not" in given else None,
    )


def test_a_filter_is_checked_on_its_own_before_it_becomes_sql() -> None:
    """`filters.checked` is what the edge calls; content functions can call it for any filter they make."""
    assert filters.checked(None) is None
    ok = ArticleFilter(title=StringMatch(contains="x" * filters.MAX_MATCH))
    assert filters.checked(ok) is ok
    deep = ArticleFilter(tag="a")
    for _ in range(filters.MAX_DEPTH + 1):
        deep = ArticleFilter(not_=deep)
    with pytest.raises(BadInput, match="levels deep"):
        filters.checked(deep)


async def test_searches_for_other_words_share_one_prepared_statement(
    client: httpx.AsyncClient, seeded: AsyncEngine
) -> None:
    """The words are bound parameters, and a search is one small element of its statement's tree and
    cache key: searches of one shape are one entry of each statement cache, whatever their words."""

    def cached() -> set[Any]:
        """The keys of the statements kept compiled: cms.db's, and on PostgreSQL SQLAlchemy's (what it runs
        itself: a snapshot's first statement, a search's ranked page)."""
        if seeded.dialect.name == "sqlite":
            return set(db._by_cache_key._items)
        return set(db._by_cache_key._items) | set(db.compiled_cache(seeded)._items)

    order = {"field": "RELEVANCE", "direction": "DESC"}
    query = """query ($filter: ArticleFilter, $order: ArticleOrder) {
      articles(filter: $filter, orderBy: $order, first: 5) { totalCount nodes { slug } } }"""

    async def search(words: str) -> None:
        shape = {"or": [{"search": words}, {"not": {"search": f"{words} -nothing"}}], "search": words}
        await data(client, query, {"filter": shape, "order": order})

    await search("carpet")
    before = cached()
    assert before, "the statements are kept compiled"
    for words in ("caspian", "glacier", "heritage", "manuscripts"):
        await search(words)
    assert cached() - before == set()


async def test_nul_in_a_mutation_input_is_a_user_error_and_writes_nothing(seeded: AsyncEngine) -> None:
    """Each editor's write: INVALID at the field's path, before any statement that would carry it (on
    PostgreSQL the slug and language lookups, the insert itself)."""
    async with AsyncSession(seeded, expire_on_commit=False) as session, session.begin():
        before = await _counts(session)
        for edit, path in [
            (workflow.Edit(title="A story\x00"), ("title",)),
            (workflow.Edit(title="A story", language="en\x00"), ("language",)),
            (workflow.Edit(title="A story", slug="a-story\x00"), ("slug",)),
            (workflow.Edit(title="A story", tags=["ok", "no\x00"]), ("tags", "1")),
            (workflow.Edit(title="A story", seo={"title": "x\x00"}), ("seo", "title")),
            (
                workflow.Edit(title="A story", sources=[SourceRef(name="trend", note="n\x00")]),
                ("sources", "0", "note"),
            ),
        ]:
            with pytest.raises(InvalidInput) as refused:
                await workflow.create_article(session, edit=edit, actor="test", now=NOW)
            assert [(e.field, e.code) for e in refused.value.errors] == [(path, "INVALID")]
            assert "NUL" in refused.value.message
        article_id = (await session.execute(select(col(Article.id)).limit(1))).scalar_one()
        edit = workflow.Edit(body="text\x00")
        with pytest.raises(InvalidInput, match="NUL"):
            await workflow.update_article(
                session, id=article_id, edit=edit, expected_version=None, actor="test", now=NOW
            )
        for entity, values, label in [
            (AUTHOR, {"name": "Ann\x00"}, "name"),
            (AUTHOR, {"name": "Ann", "avatar_url": "https://a.example/\x00"}, "avatarUrl"),
            (CATEGORY, {"name": "Food", "parent": "culture\x00"}, "parent"),
            (SOURCE, {"name": "Wire", "url": "https://w.example/\x00"}, "url"),
        ]:
            with pytest.raises(InvalidInput) as refused:
                await create_item(session, entity=entity, values=values, now=NOW, actor="test")
            assert [(e.field, e.code) for e in refused.value.errors] == [(("input", label), "INVALID")]
        with pytest.raises(InvalidInput) as missing:
            await update_item(session, entity=AUTHOR, id="aut\x00", values={"name": "B"}, now=NOW, actor="t")
        assert [e.code for e in missing.value.errors] == ["NOT_FOUND"]
        with pytest.raises(InvalidRecord, match="NUL"):
            await write_articles(
                session, [ArticleRecord(title="Imported", body="a\x00b")], actor="t", now=NOW
            )
        assert await _counts(session) == before


def test_every_nul_is_named_at_its_path_in_the_order_of_the_input() -> None:
    """The walk names paths only once it has found a NUL: each path still as the API names it."""
    record = ArticleRecord(
        title="a\x00",
        tags=["x", "y\x00"],
        sources=[SourceRef(name="s", note="\x00")],
        seo={"k\x00": "v", "n": {"m": ["\x00"]}},
    )
    assert [e.field for e in nul_errors(record, ("input",), renamed=API_NAMES)] == [
        ("input", "title"),
        ("input", "tags", "1"),
        ("input", "sources", "0", "note"),
        ("input", "seo", "k\\0"),
        ("input", "seo", "n", "m", "0"),
    ]
    assert nul_errors(ArticleRecord(title="clean", tags=["a"], seo={"k": None})) == []


async def _counts(session: AsyncSession) -> tuple[int, int, int]:
    return (
        (await session.execute(select(func.count()).select_from(Article))).scalar_one(),
        (await session.execute(select(func.count()).select_from(Author))).scalar_one(),
        (await session.execute(select(func.count()).select_from(ChangeEvent))).scalar_one(),
    )


MARKDOWN = "---\ntitle: A story\nslug: a-story\n---\n\nFirst paragraph.\n\nSecond one.\n"


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("a.md", MARKDOWN.replace("Second", "Sec\x00ond"), 8),
        ("a.md", MARKDOWN.replace("title: A story", 'title: "A \\0story"'), 2),
        ("a.md", MARKDOWN.replace("slug: a-story", 'slug: "a-story"\ntags: ["x", "y\\x00"]'), 4),
        ("a.txt", "Home / Culture / A story\n\nA story\n\nBody \x00 text.\n", 5),
        ("a.yaml", 'slug: a-story\nexcerpt: "An \\u0000 excerpt"\n', 2),
        (
            "a.ndjson",
            '{"type": "author", "slug": "ann", "name": "Ann"}\n{"type": "article", "title": "A\\u0000"}\n',
            2,
        ),
        ("a.ndjson", '{"type": "article", "title": "A", "seo": {"title": "x\\u0000"}}\n', 1),
    ],
)
async def test_nul_in_an_imported_file_is_an_error_at_its_line_and_nothing_is_written(
    seeded: AsyncEngine, tmp_path: Path, name: str, content: str, line: int
) -> None:
    if name.endswith(".yaml"):  # a capture's sidecar
        (tmp_path / "a.txt").write_text(
            "Home / Culture / A story\n\nA story\n\nBody text.\n", encoding="utf-8"
        )
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    good = tmp_path / "0_good.md"
    good.write_text(MARKDOWN.replace("a-story", "a-good-story"), encoding="utf-8")
    async with AsyncSession(seeded) as session:
        before = await _counts(session)
    with pytest.raises(ContentFileError, match="NUL") as refused:
        await import_paths(seeded, [tmp_path], actor="test", now=NOW)
    assert (refused.value.path, refused.value.line) == (path, line)
    async with AsyncSession(seeded) as session:
        assert await _counts(session) == before


def test_a_statement_of_many_searches_stays_small_in_the_prepared_cache() -> None:
    """A search is one element of its statement (both databases' subqueries are made when it is compiled,
    and one alias serves them all): a statement with the 20 searches a filter may hold keeps about 150 KB
    prepared, where it kept 1.4 MB, so the cache's 1,000 shapes stay within a few hundred MB at worst."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    dialect = sqlite.dialect()

    def prepare(shape: int) -> Any:
        leaves = [ArticleFilter(search=f"{WORDS[n % len(WORDS)]} w{n}") for n in range(filters.MAX_TERMS)]
        f = ArticleFilter(or_=(ArticleFilter(and_=tuple(leaves[: shape + 1])), *leaves[shape + 1 :]))
        read, _ = articles.page_statement(
            viewer=PUBLIC,
            now=now,
            f=f,
            order=NEWEST_FIRST,
            page=PageRequest.of(first=5),
            columns=articles.COLUMNS,
        )
        return db._prepared(read.statement, read.values, dialect)

    prepare(0)
    gc.collect()
    tracemalloc.start()
    try:
        kept = [prepare(shape) for shape in range(1, 6)]  # five shapes, each compiled and kept
        gc.collect()
        each = tracemalloc.get_traced_memory()[0] / len(kept)
    finally:
        tracemalloc.stop()
    assert each < 400 * 1024, f"{each / 1024:.0f} KB a statement"
