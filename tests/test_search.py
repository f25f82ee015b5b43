"""Full-text search through the HTTP API on SQLite and PostgreSQL: the fields it covers, ranking, phrases,
prefixes, Azerbaijani and Russian words, filters, pagination, bad input, and an index kept in step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Select, delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col

from cms.content import articles
from cms.content.editing import write_articles
from cms.content.filters import ArticleFilter, ArticleOrder, OrderField
from cms.content.pagination import PageRequest
from cms.content.reads import Read
from cms.content.records import ArticleRecord
from cms.content.roles import PUBLIC
from cms.content.search import reindex, search_clause, words
from cms.db import StatementCounter
from cms.models import Article
from tests.conftest import NOW, data, error_codes, gql, migrated_down_and_up

LIST = """
query ($filter: ArticleFilter, $order: ArticleOrder, $first: Int, $after: String, $last: Int,
       $before: String) {
  articles(filter: $filter, orderBy: $order, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    nodes { slug language }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
RELEVANCE = {"field": "RELEVANCE", "direction": "DESC"}
GOBUSTAN = "gobustan-rock-art-digital-archive"
GOBUSTAN_RU = "gobustan-naskalnye-risunki-tsifrovoy-arkhiv"


def _record(slug: str, **fields: Any) -> ArticleRecord:
    """A published, visible article whose only words are those given (the title defaults to a neutral one)."""
    fields.setdefault("title", "Untitled")
    fields.setdefault("status", "PUBLISHED")
    if fields["status"] == "PUBLISHED":
        fields.setdefault("published_at", NOW - timedelta(days=1))
    return ArticleRecord(slug=slug, **fields)


async def _write(engine: AsyncEngine, *records: ArticleRecord) -> None:
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        for record in records:
            await write_articles(session, [record], actor="test", now=NOW)


def _bound(read: Read) -> Select[Any]:
    """A read's statement with its values in it, to compile them inline."""
    assert isinstance(read.statement, Select)
    return read.statement.params(read.values)


async def _list(client: httpx.AsyncClient, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await data(client, LIST, {"first": 100, **variables}))["articles"]
    assert result["totalCount"] == len(result["nodes"]), result  # every test list fits on one page
    return result


async def _slugs(client: httpx.AsyncClient, search: str, **filters: Any) -> list[str]:
    return [node["slug"] for node in (await _list(client, filter={"search": search, **filters}))["nodes"]]


async def _found(client: httpx.AsyncClient, search: str) -> set[tuple[str, str]]:
    nodes = (await _list(client, filter={"search": search}))["nodes"]
    return {(node["slug"], node["language"]) for node in nodes}


# ---------------------------------------------------------------------------------------- what is searched


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "Zebrafinch numbers recover"},
        {"subtitle": "A note on the zebrafinch"},
        {"excerpt": "What the zebrafinch sings at dawn."},
        {"body": "Birdwatchers counted **zebrafinch** nests along the river."},
        {"tags": ["Zebrafinch", "birds"]},
    ],
    ids=["title", "subtitle", "excerpt", "body", "tags"],
)
async def test_each_searched_field_finds_its_article(
    engine: AsyncEngine, client: httpx.AsyncClient, fields: dict[str, Any]
) -> None:
    await _write(engine, _record("the-one", **fields), _record("another", body="Nothing about birds here."))
    assert await _slugs(client, "zebrafinch") == ["the-one"]
    assert await _slugs(client, "ZEBRAFINCH") == ["the-one"]


async def test_drafts_are_not_found_by_the_public(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    await _write(
        engine,
        _record("published", body="An okapi was seen."),
        _record("draft", body="An okapi was seen again.", status="DRAFT"),
    )
    assert await _slugs(client, "okapi") == ["published"]


# -------------------------------------------------------------------------------------------------- ranking


async def test_title_hits_rank_above_tag_hits_above_body_hits(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    await _write(
        engine,
        _record("in-the-body", body="Pangolin, pangolin, pangolin: the pangolin is shy. A pangolin."),
        _record("in-the-title", title="The pangolin returns", body="Sightings are up."),
        _record("in-the-tags", tags=["pangolin"], body="Sightings are up."),
        _record("elsewhere", body="No such animal."),
    )
    ranked = ["in-the-title", "in-the-tags", "in-the-body"]
    best_first = await _list(client, filter={"search": "pangolin"}, order=RELEVANCE)
    assert [node["slug"] for node in best_first["nodes"]] == ranked
    worst_first = await _list(
        client, filter={"search": "pangolin"}, order={"field": "RELEVANCE", "direction": "ASC"}
    )
    assert [node["slug"] for node in worst_first["nodes"]] == ranked[::-1]


async def test_relevance_needs_a_search(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    body = await gql(client, LIST, {"order": RELEVANCE})
    assert error_codes(body) == ["BAD_USER_INPUT"]


async def test_relevance_pages_meet_every_match_once_and_agree_with_the_total(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """Ties (several articles equally good) are broken by id, so no page skips or repeats one."""
    await _write(
        engine,
        *(_record(f"body-{n}", body=f"A narwhal, story {n}.") for n in range(5)),
        *(_record(f"title-{n}", title=f"Narwhal tale {n}") for n in range(3)),
        *(_record(f"tags-{n}", tags=["narwhal"]) for n in range(2)),
        _record("unrelated", body="A walrus."),
    )
    everything = [
        n["slug"] for n in (await _list(client, filter={"search": "narwhal"}, order=RELEVANCE))["nodes"]
    ]
    assert len(everything) == 10
    assert {slug.split("-")[0] for slug in everything[:3]} == {"title"}
    assert {slug.split("-")[0] for slug in everything[3:5]} == {"tags"}

    walked: list[str] = []
    after = None
    for _ in range(10):
        page = (
            await data(
                client,
                LIST,
                {"filter": {"search": "narwhal"}, "order": RELEVANCE, "first": 3, "after": after},
            )
        )["articles"]
        assert page["totalCount"] == 10
        walked += [node["slug"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert walked == everything

    backwards: list[str] = []
    before = None
    for _ in range(10):
        page = (
            await data(
                client,
                LIST,
                {"filter": {"search": "narwhal"}, "order": RELEVANCE, "last": 4, "before": before},
            )
        )["articles"]
        backwards = [node["slug"] for node in page["nodes"]] + backwards
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backwards == everything

    other = await gql(client, LIST, {"filter": {"search": "walrus"}, "order": RELEVANCE, "after": after})
    assert error_codes(other) == ["BAD_USER_INPUT"]  # a cursor of another search


# ---------------------------------------------------------------------------------------------- the syntax


async def test_a_phrase_matches_its_words_in_order(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    await _write(
        engine,
        _record("adjacent", body="The cultural heritage of the old town."),
        _record("apart", body="Heritage sites and cultural events."),
        _record("reversed", body="A heritage cultural programme."),
    )
    assert await _slugs(client, '"cultural heritage"') == ["adjacent"]
    assert sorted(await _slugs(client, "cultural heritage")) == ["adjacent", "apart", "reversed"]
    assert await _slugs(client, '"Cultural   HERITAGE"') == ["adjacent"]


async def test_a_trailing_star_searches_by_prefix(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    await _write(
        engine,
        _record("heritage", body="The cultural heritage of the old town."),
        _record("heritable", body="Heritable traits of the vine."),
        _record("hermit", body="A hermit lives here."),
    )
    assert sorted(await _slugs(client, "herit*")) == ["heritable", "heritage"]
    assert await _slugs(client, "herit") == []
    assert await _slugs(client, '"cultural herit*"') == ["heritage"]
    assert sorted(await _slugs(client, "HER*")) == ["heritable", "heritage", "hermit"]


async def test_or_and_exclusion(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    await _write(
        engine,
        _record("carpet", body="A carpet festival in the old town."),
        _record("manuscript", body="A manuscript exhibition in the old town."),
        _record("both", body="Carpet and manuscript, far from town."),
    )
    assert sorted(await _slugs(client, "carpet OR manuscript")) == ["both", "carpet", "manuscript"]
    assert sorted(await _slugs(client, "town carpet OR manuscript")) == ["both", "carpet", "manuscript"]
    assert sorted(await _slugs(client, "old town carpet OR manuscript")) == ["carpet", "manuscript"]
    assert await _slugs(client, "carpet -manuscript") == ["carpet"]
    assert await _slugs(client, "carpet NOT manuscript") == ["carpet"]
    assert await _slugs(client, 'town -"old town"') == ["both"]
    assert sorted(await _slugs(client, "carpet or manuscript")) == []  # lower-case "or" is a word


@pytest.mark.parametrize(
    "query",
    [
        '"***"',
        "***",
        "-",
        '""',
        "OR",
        "AND NOT",
        "NOT",
        "  ",
        "!?",
        "-heritage",
        "NOT heritage",
        "h*",
        "a OR -b",
        "-a OR b",
        "x" * 501,
        "y" * 101,
        " ".join(["word"] * 25),
    ],
)
async def test_a_search_with_nothing_to_look_for_is_bad_user_input(
    seeded: AsyncEngine, client: httpx.AsyncClient, query: str
) -> None:
    for variables in ({"filter": {"search": query}}, {"filter": {"search": query}, "order": RELEVANCE}):
        response = await client.post("/graphql", json={"query": LIST, "variables": variables})
        body = response.json()
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert "search" in body["errors"][0]["message"] or "OR" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    "query",
    [
        "heritage)",
        "(heritage",
        "title:heritage",
        "{title}: heritage",
        "NEAR(heritage culture)",
        "heritage^2",
        '"heritage',
        'heritage"',
        "'heritage'",
        "heritage & culture",
        "heritage | culture",
        "!heritage",
        "\\heritage",
        "heritage:*",
        "heritage <-> culture",
        "heri*tage",
        "*heritage",
        "heritage AND",
        "OR heritage",
        "heritage OR OR culture",
        "+heritage",
        "--heritage culture",
        "heritage -",
        "ÇƏKİLİŞ",
        "日本語",
    ],
)
async def test_engine_syntax_in_a_search_is_just_text(
    seeded: AsyncEngine, client: httpx.AsyncClient, query: str
) -> None:
    """FTS5 and tsquery operators reach neither engine as syntax: no query like these is a 500."""
    body = await gql(client, LIST, {"filter": {"search": query}, "order": RELEVANCE})
    assert "errors" not in body, body


async def test_punctuation_inside_a_word_makes_a_phrase(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    assert await _found(client, "UNESCO-nun") == {(GOBUSTAN, "az")}
    assert await _found(client, "2007-ci") == {(GOBUSTAN, "az")}
    assert await _found(client, '"Nagorno Karabakh"') == await _found(client, "Nagorno-Karabakh")


# ------------------------------------------------------------------------------------------------ languages


@pytest.mark.parametrize(
    "query",
    [
        "rəqəmsal",
        "RƏQƏMSAL",
        "Rəqəmsal",
        "qayaüstü",
        "QAYAÜSTÜ",
        "BAKININ",
        "bakının",
        "ümumdünya",
        "BÖYÜKDAŞ",
        "çəkmək",
        "AŞINDIRIR",
        "yağış",
        "YAĞIŞ",
        '"qayaüstü təsvirləri"',
        "ziyarətçi*",
        "QOBUSTAN",
    ],
)
async def test_azerbaijani_words_are_found_in_any_case(
    seeded: AsyncEngine, client: httpx.AsyncClient, query: str
) -> None:
    assert await _found(client, query) == {(GOBUSTAN, "az")}


@pytest.mark.parametrize("query", ["İsmayılov", "ISMAYILOV", "ismayılov", "Ismayilov", "İSMAYİLOV"])
async def test_dotted_and_dotless_i_are_one_letter(
    seeded: AsyncEngine, client: httpx.AsyncClient, query: str
) -> None:
    """Upper-case I is ı in Azerbaijani and i in English, so the name in the Azerbaijani text (İsmayılov)
    and in the English one (Ismayilov) are one word."""
    assert await _found(client, query) == {(GOBUSTAN, "az"), (GOBUSTAN, "en")}


async def test_azerbaijani_letters_are_not_their_latin_lookalikes(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """Diacritics count (süd is not sud): only I, ı, İ and i are one letter, as upper case cannot tell."""
    assert await _found(client, "reqemsal") == set()
    assert await _found(client, "qayaustu") == set()


@pytest.mark.parametrize(
    "query",
    [
        "Гобустана",
        "ГОБУСТАНА",
        "гобустана",
        "НаСкАлЬнЫе",
        "цифровом",
        "ВКЛЮЧЁННОГО",
        "включенного",
        '"цифровой архив"',
        "археолог*",
        "ЮНЕСКО",
    ],
)
async def test_russian_words_are_found_in_any_case(
    seeded: AsyncEngine, client: httpx.AsyncClient, query: str
) -> None:
    assert await _found(client, query) == {(GOBUSTAN_RU, "ru")}


async def test_the_index_holds_exactly_the_words_a_query_can_name(
    seeded: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """Whatever either engine's tokenizer does, every word of every field is found by typing it, and the
    index holds nothing a query could not name: the tokens are the runs of letters and digits, folded."""
    await _write(
        seeded,
        _record(
            "punctuation",
            title="Trend.az: UNESCO-nun 2007-ci il, 3.5% +994 -5 e-mail x@y.com foo_bar don't",
            subtitle="https://whc.unesco.org/en/list/1076 C:\\files\\a.txt ~/notes 1.2.3 <b>bold</b> &amp;",
            tags=["caspian-sea", "İsmayılov", "Ёлка"],
            body="«Наскальное» искусство — ŞƏHƏR, Bakı; “quoted”, (brackets) {braces} a/b a|b #tag @me 1e10",
        ),
    )
    async with seeded.connect() as connection:
        statement = select(
            col(Article.title),
            col(Article.subtitle),
            col(Article.excerpt),
            col(Article.body_text),
            col(Article.id),
        )
        rows = (await connection.execute(statement)).all()
        tags = (await connection.execute(text("SELECT tag FROM article_tag"))).scalars().all()
        if seeded.dialect.name == "sqlite":
            await connection.execute(
                text("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, article_fts, row)")
            )
            indexed = set((await connection.execute(text("SELECT term FROM temp.vocab"))).scalars())
        else:
            indexed = set(
                (
                    await connection.execute(
                        text("SELECT DISTINCT unnest(tsvector_to_array(search_vector)) FROM article_search")
                    )
                ).scalars()
            )
    texts = [value for row in rows for value in row[:4] if value] + list(tags)
    expected = {word.lower() for value in texts for word in words(value)}
    assert indexed == expected, (indexed - expected, expected - indexed)


# ------------------------------------------------------------------------------------------------- filters


async def test_search_combines_with_every_other_filter(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    await _write(
        engine,
        _record("en-quokka", title="A quokka", tags=["marsupials"]),
        _record("az-quokka", language="az", body="Bir quokka."),
        _record("en-wombat", body="A wombat."),
        _record("en-both", body="A quokka and a wombat."),
        _record("draft-both", body="A quokka and a wombat.", status="DRAFT"),
    )
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"search": "quokka"}, ["az-quokka", "en-both", "en-quokka"]),
        ({"search": "quokka", "language": "en"}, ["en-both", "en-quokka"]),
        ({"search": "quokka", "tag": "marsupials"}, ["en-quokka"]),
        ({"search": "quokka", "not": {"search": "wombat"}}, ["az-quokka", "en-quokka"]),
        ({"search": "wombat", "not": {"language": "en"}}, []),
        (
            {"or": [{"search": "quokka"}, {"search": "wombat"}]},
            ["az-quokka", "en-both", "en-quokka", "en-wombat"],
        ),
        ({"or": [{"search": "wombat"}, {"language": "az"}]}, ["az-quokka", "en-both", "en-wombat"]),
        ({"and": [{"search": "quokka"}, {"search": "wombat"}]}, ["en-both"]),
        ({"not": {"search": "quokka"}}, ["en-wombat"]),
        ({"search": "quokka", "title": {"contains": "quokka"}}, ["en-quokka"]),
        ({"search": "quokka wombat", "publishedAt": {"lte": NOW.isoformat()}}, ["en-both"]),
    ]
    for filter_, expected in cases:
        result = await _list(client, filter=filter_)
        assert sorted(node["slug"] for node in result["nodes"]) == expected, filter_
        search = filter_.get("search", "quokka OR wombat")
        ranked = await _list(client, filter={**filter_, "search": search}, order=RELEVANCE)
        assert ranked["totalCount"] == len(ranked["nodes"])


async def test_search_works_in_nested_connections(seeded: AsyncEngine, client: httpx.AsyncClient) -> None:
    query = """{
      authors(first: 100) { nodes { slug articles(filter: {search: "heritage"}, orderBy: {field: RELEVANCE}) {
        totalCount nodes { slug } } } }
      fidan: author(slug: "fidan-abdullayeva") { articles(filter: {search: "heritage"}) { totalCount } }
      root: articles(filter: {search: "heritage", author: "fidan-abdullayeva"}) { totalCount }
    }"""
    result = await data(client, query)
    assert result["fidan"]["articles"]["totalCount"] == result["root"]["totalCount"] > 0
    for author in result["authors"]["nodes"]:
        root = await _list(client, filter={"search": "heritage", "author": author["slug"]}, order=RELEVANCE)
        assert author["articles"]["totalCount"] == root["totalCount"], author["slug"]
        assert [n["slug"] for n in author["articles"]["nodes"]] == [n["slug"] for n in root["nodes"]]


async def test_lists_and_counts_take_their_matches_from_the_full_text_index(seeded: AsyncEngine) -> None:
    f = ArticleFilter(search="heritage")
    page = PageRequest(size=20)
    reads = [
        articles.count_statement(viewer=PUBLIC, now=NOW, f=f),
        articles.page_statement(viewer=PUBLIC, now=NOW, f=f, order=ArticleOrder(), page=page)[0],
        articles.page_statement(
            viewer=PUBLIC, now=NOW, f=f, order=ArticleOrder(OrderField.RELEVANCE), page=page
        )[0],
    ]
    statements = [_bound(read) for read in reads]
    async with seeded.connect() as connection:
        if seeded.dialect.name == "postgresql":  # a few rows: make the planner show it can use the index
            for method in ("seqscan", "indexscan", "indexonlyscan", "nestloop"):
                await connection.exec_driver_sql(f"SET enable_{method} = off")
        for statement in statements:
            sql = str(statement.compile(seeded.sync_engine, compile_kwargs={"literal_binds": True}))
            if seeded.dialect.name == "sqlite":
                plan = [
                    row[-1] for row in (await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")).all()
                ]
                assert any(step.startswith("SCAN article_fts VIRTUAL TABLE INDEX 0:M") for step in plan), plan
                assert not any(step.startswith("SCAN article ") for step in plan), plan  # no full scan
            else:
                plan = [row[0] for row in (await connection.exec_driver_sql(f"EXPLAIN {sql}")).all()]
                explained = "\n".join(plan)
                assert "Bitmap Index Scan on ix_article_search_" in explained, explained
            assert (await connection.execute(statement)).all()


# -------------------------------------------------------------------------------------------------- writes


async def test_an_update_is_found_by_its_new_words_and_not_its_old_ones(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    await _write(engine, _record("the-story", title="Walrus colony grows", tags=["arctic"]))
    assert await _slugs(client, "walrus") == ["the-story"]
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        changed = _record("the-story", title="Narwhal colony grows", tags=["antarctic"])
        (written,) = await write_articles(session, [changed], actor="test", now=NOW)
        assert written.outcome == "updated"
        found = select(col(Article.slug)).where(search_clause("narwhal"))
        assert (await session.scalars(found)).all() == ["the-story"]  # in the writing transaction
        gone = select(col(Article.slug)).where(search_clause("walrus"))
        assert (await session.scalars(gone)).all() == []
    assert await _slugs(client, "narwhal") == ["the-story"]
    assert await _slugs(client, "antarctic") == ["the-story"]
    assert await _slugs(client, "walrus") == []
    assert await _slugs(client, "arctic") == []
    assert await _slugs(client, "colony") == ["the-story"]


async def test_reindex_forgets_articles_that_no_longer_exist(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    await _write(engine, _record("stays", body="An ibis."), _record("goes", body="An ibis too."))
    async with AsyncSession(engine) as session, session.begin():
        gone = (await session.scalars(select(col(Article.id)).where(col(Article.slug) == "goes"))).one()
        await session.execute(delete(Article).where(col(Article.id) == gone))
        await reindex(session, [gone, "art_never_existed"])
    assert await _slugs(client, "ibis") == ["stays"]
    if engine.dialect.name == "sqlite":
        async with engine.connect() as connection:
            keys = (await connection.execute(text("SELECT article_id FROM article_fts_key"))).scalars().all()
            rows = (await connection.execute(text("SELECT count(*) FROM article_fts"))).scalar_one()
            await connection.execute(text("INSERT INTO article_fts (article_fts) VALUES ('integrity-check')"))
        assert gone not in keys
        assert rows == len(keys) == 1


async def test_reindex_takes_the_same_few_statements_for_one_article_or_many(engine: AsyncEngine) -> None:
    await _write(engine, *(_record(f"story-{n}", body=f"A heron, number {n}.") for n in range(40)))
    async with AsyncSession(engine) as session, session.begin():
        ids = (await session.scalars(select(col(Article.id)))).all()
        counts = []
        for chunk in (ids[:1], ids):
            with StatementCounter(engine) as counter:
                await reindex(session, chunk)
            counts.append(counter.count)
    assert counts[0] == counts[1] <= 4


async def test_the_migration_indexes_existing_articles_as_reindex_does(seeded: AsyncEngine) -> None:
    """Down to the revision before search and up again: the migration indexes what the seeds wrote exactly
    as `reindex` did when they were written."""
    if seeded.dialect.name == "sqlite":
        snapshot = text(
            "SELECT k.article_id, f.title, f.subtitle, f.excerpt, f.tags, f.body"
            " FROM article_fts f JOIN article_fts_key k ON k.key = f.rowid ORDER BY k.article_id"
        )
    else:
        snapshot = text(
            "SELECT article_id, search_vector::text, rank_vector::text"
            " FROM article_search ORDER BY article_id"
        )
    before, after = await migrated_down_and_up(seeded, "0002", snapshot)
    assert len(before) == 15
    assert after == before
