"""The raw-SQL baseline: the fastest honest way to answer the pages, the walk and the feeds of the benchmark.

What the CMS's layers (GraphQL, SQLAlchemy, aiosqlite's thread hop, DataLoaders) cost is the difference
between it and this: a plain Starlette app with hand-written SQL, one statement per relation, and orjson;
on SQLite ONE synchronous sqlite3 connection used directly on the event loop, on PostgreSQL asyncpg's pool
(a request on one connection, each statement text prepared once per connection). It answers POST /graphql
for schema/examples/front_page.graphql, article_page.graphql, category_page.graphql and tag_page.graphql,
and for bench/run.py's SEARCH and WALK (recognised by operationName or the query text; the selections are
those) with the same JSON as the CMS, under the same visibility rule, order and cursors, and nothing else;
and GET /feeds/articles.xml and /feeds/articles.json, the CMS's RSS 2.0 and JSON Feed 1.1 of the 50 latest
visible articles (the XML built with lxml, the JSON with orjson), the same items a feed reader reads. The
pages are built by the same code on both engines; a `Database` says what the two say differently. The
front and category pages' totals come from the counters the writes keep (`COUNTED`), as a hand-written
design for these pages would keep them, and the search page's list and total from the public's part of the
search index (`SQLITE_SEARCHED`, `POSTGRES_SEARCHED`); the other lists' totals are counted.
The search's FTS5 match string and tsquery come from the CMS's parser of the reader's words
(`search_terms`), and an article's URL from CMS_ARTICLE_URL by the CMS's rule (`article_url`): those are the
contract's query syntax and the setting's meaning, rules rather than layers, and re-implementing them would
only risk a different answer.

Serve it as `cms serve` serves the CMS (the same CMS_* variables, one uvicorn process):
    CMS_DATABASE_URL=sqlite:///var/bench/bench.db CMS_ARTICLE_URL='https://news.example/{language}/{slug}' \
        CMS_PORT=8001 .venv/bin/python bench/baseline.py
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import sqlite3
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol, cast

import asyncpg
import orjson
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cms import collector  # noqa: E402
from cms.content.errors import DomainError  # noqa: E402
from cms.content.search import PUBLIC_EPOCH, SECOND, SearchQuery, search_terms  # noqa: E402
from cms.content.urls import article_url  # noqa: E402
from cms.settings import Settings  # noqa: E402

Row = Sequence[Any]  # a tuple of sqlite3, a Record of asyncpg
Tree = dict[str, Row]  # every category by id: (id, slug, name, description, parent_id)
Clock = Callable[[], datetime]
Json = dict[str, Any]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
WORDS_PER_MINUTE = 200
NEWEST_FIRST = "Article:PUBLISHED_AT:DESC"  # the CMS's cursor tag for the order of every card list here
VISIBLE = "a.status = 'PUBLISHED' AND a.published_at <= ?"
CATEGORIES = "SELECT id, slug, name, description, parent_id FROM category"
# The public's part of the search index (cms.content.search): on SQLite the FTS keys of the PUBLISHED
# articles, in the order of their publishedAt's seconds, those below the request's second visible; on
# PostgreSQL the rows with a public_at, from their own GIN index. A total counts the keys (and tests the few
# of the request's second); a page is the 21 newest keys, the rest of the last one's second (ties go by id,
# which keys do not know) and the request's second, which the page's own conditions sort and test.
SQLITE_SECOND = f"(CAST(strftime('%s', ?) AS INTEGER) + {PUBLIC_EPOCH}) * {SECOND}"
SQLITE_BEFORE = f"article_fts MATCH ? AND rowid > 0 AND rowid < {SQLITE_SECOND}"
SQLITE_WITHIN = (
    f"f.article_fts MATCH ? AND f.rowid >= {SQLITE_SECOND} AND f.rowid < {SQLITE_SECOND} + {SECOND}"
)
SQLITE_LAST = f"SELECT rowid FROM article_fts WHERE {SQLITE_BEFORE} ORDER BY rowid DESC LIMIT 1 OFFSET ?"
SQLITE_SEARCHED = f""" AND a.id IN (SELECT k.article_id FROM article_fts_key k WHERE k.key IN (
SELECT f.rowid FROM article_fts f WHERE f.article_fts MATCH ? AND f.rowid < {SQLITE_SECOND} + {SECOND}
AND f.rowid >= coalesce(({SQLITE_LAST}) / {SECOND} * {SECOND}, 1)))"""
SQLITE_SEARCH_TOTAL = f"""SELECT (SELECT count(*) FROM article_fts WHERE {SQLITE_BEFORE})
+ (SELECT count(*) FROM article a WHERE {VISIBLE} AND a.id IN (
   SELECT k.article_id FROM article_fts f JOIN article_fts_key k ON k.key = f.rowid WHERE {SQLITE_WITHIN}))"""
POSTGRES_FOUND = "public_at <= ? AND search_vector @@ to_tsquery('simple'::regconfig, ?)"
POSTGRES_SEARCHED = f""" AND a.id IN (SELECT article_id FROM article_search WHERE {POSTGRES_FOUND}
ORDER BY public_at DESC, article_id DESC LIMIT ?)"""
POSTGRES_SEARCH_TOTAL = f"SELECT count(*) FROM article_search WHERE {POSTGRES_FOUND}"
# The unary + keeps SQLite on the translation-group index: left to itself it takes the visibility index and
# reads every visible article.
SQLITE_TRANSLATIONS = """
SELECT a.language, a.slug, a.title FROM article a
WHERE a.translation_group = ? AND a.id != ? AND +a.status = 'PUBLISHED' AND +a.published_at <= ?
ORDER BY a.language, a.id
"""
TRANSLATIONS = SQLITE_TRANSLATIONS.replace("+", "")  # PostgreSQL's: no hint of SQLite's
_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+(\w+)")
DEFAULTS = Settings()


@dataclass(frozen=True)
class Searched:
    """A search's condition (" AND ...") and its parameters, and the statement of its total with its own."""

    where: str
    params: Sequence[Any]
    total: tuple[str, Sequence[Any]]


class Database:
    """One request's reads: its statements counted on the source's tally, and the few things the two engines
    say differently (placeholders, a list of keys, timestamps, the search, one index hint) behind these
    methods, so that every page is built by the same code whichever engine answers it."""

    translations: str
    """TRANSLATIONS as this engine is told to read it."""

    def __init__(self, tally: Tally) -> None:
        self.tally = tally

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """The rows of one statement written with `?` placeholders."""
        raise NotImplementedError

    def among(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """What goes in `IN (...)` for these values, and its parameters."""
        raise NotImplementedError

    def stored(self, moment: datetime) -> Any:
        """A moment as the CMS stores it, so that comparisons are the CMS's."""
        raise NotImplementedError

    def aware(self, stored: Any) -> datetime:
        """A stored timestamp as an aware UTC datetime."""
        raise NotImplementedError

    def searching(self, query: SearchQuery, now: datetime, first: int) -> Searched:
        """The condition that an article can be on the first page of `first` of the public's matches newest
        first, and their total."""
        raise NotImplementedError

    def moment(self, stored: Any) -> str:
        """A stored timestamp as the CMS prints it (ISO 8601 with +00:00)."""
        return self.aware(stored).isoformat()

    async def related(self, sql: str, ids: Sequence[str]) -> dict[str, list[Row]]:
        """One relation of many articles in one statement, grouped by the article id each row starts with."""
        groups: dict[str, list[Row]] = defaultdict(list)
        among, params = self.among(ids)
        for row in await self.rows(sql.format(ids=among), params):
            groups[row[0]].append(row)
        return groups

    async def categories(self) -> Tree:
        """The whole category tree in one statement, as the CMS reads it: breadcrumbs, children and subtrees
        then need no more SQL."""
        return {row[0]: tuple(row) for row in await self.rows(CATEGORIES)}


@dataclass
class Tally:
    """The statements a source's requests ran, for the benchmark's report."""

    statements: int = 0


class Source(Protocol):
    """Where the pages are read from: a reader per request, and the count of their statements."""

    tally: Tally

    def reading(self) -> contextlib.AbstractAsyncContextManager[Database]: ...

    async def close(self) -> None: ...


class SQLite(Database):
    """The one synchronous sqlite3 connection, used directly on the event loop (in autocommit: each
    statement its own snapshot)."""

    translations = SQLITE_TRANSLATIONS

    def __init__(self, path: str, mmap_mib: int) -> None:
        super().__init__(Tally())
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA query_only = ON")
        self.connection.execute(f"PRAGMA mmap_size = {mmap_mib << 20}")  # as the CMS's readers map it

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[Database]:
        yield self

    async def close(self) -> None:
        self.connection.close()

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.tally.statements += 1
        return self.connection.execute(sql, params).fetchall()

    def among(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return ", ".join("?" * len(values)), list(values)

    def stored(self, moment: datetime) -> str:
        """As SQLAlchemy stores it in SQLite: text, compared as text."""
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def aware(self, stored: str) -> datetime:
        return datetime.fromisoformat(stored).replace(tzinfo=UTC)

    def searching(self, query: SearchQuery, now: datetime, first: int) -> Searched:
        match, at = query.fts5(), self.stored(now)
        total = (match, at, at, match, at, at)
        return Searched(SQLITE_SEARCHED, (match, at, match, at, first), (SQLITE_SEARCH_TOTAL, total))


class Postgres(Database):
    """A request's connection of asyncpg's pool, in autocommit as SQLite's is; asyncpg prepares each
    statement text once per connection, and a list of keys is one array parameter, so a text stays the
    same whatever the count."""

    translations = TRANSLATIONS

    def __init__(self, connection: asyncpg.pool.PoolConnectionProxy[asyncpg.Record], tally: Tally) -> None:
        super().__init__(tally)
        self.connection = connection

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.tally.statements += 1
        return cast(list[Row], await self.connection.fetch(_numbered(sql), *params))

    def among(self, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return "SELECT unnest(?::text[])", [list(values)]

    def stored(self, moment: datetime) -> datetime:
        return moment.astimezone(UTC)

    def aware(self, stored: datetime) -> datetime:
        return stored.astimezone(UTC)

    def searching(self, query: SearchQuery, now: datetime, first: int) -> Searched:
        found = (self.stored(now), query.tsquery())
        return Searched(POSTGRES_SEARCHED, (*found, first + 1), (POSTGRES_SEARCH_TOTAL, found))


class PostgresPool:
    """asyncpg's pool (its default size), made on the first request: the in-process count sends requests
    with no lifespan."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.tally = Tally()
        self.pool: asyncpg.Pool | None = None
        self.made = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def reading(self) -> AsyncIterator[Database]:
        if self.pool is None:
            async with self.made:
                self.pool = self.pool or await asyncpg.create_pool(self.url)
        async with self.pool.acquire() as connection:
            yield Postgres(connection, self.tally)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()


@lru_cache(maxsize=256)
def _numbered(sql: str) -> str:
    """A statement's `?` placeholders as PostgreSQL's $1, $2, ... (no statement here has one in a literal)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${number}{part}" for number, part in enumerate(parts[1:], 1))


def connect(where: str, settings: Settings = DEFAULTS) -> Source:
    """The source at `where`: a postgresql:// URL, else the path of a SQLite file."""
    if where.startswith(("postgresql://", "postgres://")):
        return PostgresPool(where)
    return SQLite(where, settings.sqlite_mmap_mib)


def _json(raw: str | None) -> Any:
    return orjson.loads(raw) if raw else None


def _reading_time(words: int) -> int:
    return max(1, -(-words // WORDS_PER_MINUTE))


def _first(variables: Json) -> int:
    """The page size of a connection, checked as the CMS checks it: `first`, else 20, within 1..100."""
    first = variables.get("first")
    first = DEFAULT_PAGE_SIZE if first is None else first
    if not isinstance(first, int) or not 1 <= first <= MAX_PAGE_SIZE:
        raise ValueError(f"first must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    return first


def _cursor(card: Json) -> str:
    """The CMS's keyset cursor of a card in a newest-first list."""
    payload = json.dumps([NEWEST_FIRST, card["publishedAt"], card["id"]], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _seek(db: Database, cursor: str) -> tuple[Any, str | int]:
    """The (published_at, id) a newest-first cursor stands for; a cursor the CMS would refuse is refused."""
    try:
        tag, moment, item_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        published_at = datetime.fromisoformat(moment)
    except (TypeError, ValueError) as error:  # base64's, JSON's and Unicode's errors are ValueErrors
        raise ValueError(f"malformed cursor: {cursor!r}") from error
    if tag != NEWEST_FIRST or not isinstance(item_id, str | int) or published_at.tzinfo is None:
        raise ValueError(f"not a cursor of this list: {cursor!r}")
    return db.stored(published_at), item_id


def _path(tree: Tree, category_id: str) -> list[Json]:
    """Breadcrumbs ({slug, name}), root first, self last."""
    path: list[Row] = []
    row = tree.get(category_id)
    while row is not None and row not in path:
        path.append(row)
        row = tree.get(row[4]) if row[4] else None
    return [{"slug": r[1], "name": r[2]} for r in reversed(path)]


def _category(category_id: str | None, tree: Tree) -> Json | None:
    path = _path(tree, category_id) if category_id else []
    return {**path[-1], "path": path} if path else None


CARD_COLUMNS = """
a.id, a.slug, a.title, a.subtitle, coalesce(nullif(a.excerpt, ''), a.derived_excerpt), a.published_at,
a.language, a.word_count, a.cover_image, a.category_id
"""
NEWEST = "ORDER BY a.published_at DESC, a.id DESC LIMIT ?"
COUNTED = """SELECT (SELECT CAST(coalesce(sum(n), 0) AS BIGINT) FROM published_count
   WHERE kind = ? AND key IN ({among}))
- (SELECT count(*) FROM article a WHERE a.status = 'PUBLISHED' AND a.published_at > ?{where})"""
"""A total from the counters the writes keep (migration 0018: the PUBLISHED articles of a kind's key, whatever
their publishedAt), less the few PUBLISHED articles of the list not yet due: what a hand-written server that
keeps counts answers, exact at a scheduled instant with no job. They are one range of the visible-order index
(a PUBLISHED article always has a publishedAt)."""
AFTER = " AND (a.published_at, a.id) < (?, ?)"
CARD_AUTHORS = """
SELECT aa.article_id, au.slug, au.name FROM article_author aa JOIN author au ON au.id = aa.author_id
WHERE aa.article_id IN ({ids}) ORDER BY aa.article_id, aa.position
"""
CARD_SOURCES = """
SELECT s.article_id, s.role, s.url, src.slug, src.name, src.kind FROM article_source s
JOIN source src ON src.id = s.source_id WHERE s.article_id IN ({ids}) ORDER BY s.article_id, s.position
"""
TAGS = "SELECT article_id, tag FROM article_tag WHERE article_id IN ({ids}) ORDER BY article_id, position"


@dataclass(frozen=True)
class Cards:
    """One page of a card list, whether more follow it, and how many cards the whole list holds."""

    cards: list[Json]
    more: bool
    total: int

    def page_info(self) -> Json:
        return {"hasNextPage": self.more, "endCursor": _cursor(self.cards[-1]) if self.cards else None}

    def nodes(self) -> Json:
        """The connection as the front page and the search select it."""
        return {"nodes": self.cards, "pageInfo": self.page_info(), "totalCount": self.total}

    def edges(self) -> Json:
        """The connection as the category page selects it: each card with its cursor."""
        edges = [{"cursor": _cursor(card), "node": card} for card in self.cards]
        return {"edges": edges, "pageInfo": self.page_info(), "totalCount": self.total}


async def newest_cards(
    db: Database,
    tree: Tree,
    now: datetime,
    first: int,
    where: str = "",
    params: Sequence[Any] = (),
    after: str | None = None,
    counted: tuple[str, Sequence[str]] | None = None,
    total: tuple[str, Sequence[Any]] | None = None,
) -> Cards:
    """A page of the visible articles as cards, newest first: the list of the front, category and search
    pages. `where` (" AND ...", with `params` for its placeholders) narrows the list; `after` is a cursor.
    `counted` (a kind of the writes' counters and its keys, which hold what `where` narrows to) gives the
    total from them (`COUNTED`), `total` (a statement and its parameters) gives it itself, else the visible
    articles are counted."""
    narrowed = (db.stored(now), *params)
    seek = _seek(db, after) if after is not None else ()
    rows = await db.rows(
        f"SELECT {CARD_COLUMNS} FROM article a WHERE {VISIBLE}{where}{AFTER if seek else ''} {NEWEST}",
        (*narrowed, *seek, first + 1),
    )
    if total is not None:
        found = (await db.rows(*total))[0][0]
    elif counted is None:
        found = (await db.rows(f"SELECT count(*) FROM article a WHERE {VISIBLE}{where}", narrowed))[0][0]
    else:
        kind, keys = counted
        among, key_params = db.among(list(keys))
        statement = COUNTED.format(among=among, where=where)
        found = (await db.rows(statement, (kind, *key_params, *narrowed)))[0][0]
    page = rows[:first]
    ids = [row[0] for row in page]
    authors = await db.related(CARD_AUTHORS, ids)
    sources = await db.related(CARD_SOURCES, ids)
    tags = await db.related(TAGS, ids)
    cards = []
    for article_id, slug, title, subtitle, excerpt, published, language, words, cover, category_id in page:
        image = _json(cover)
        cards.append(
            {
                "id": article_id,
                "slug": slug,
                "title": title,
                "subtitle": subtitle,
                "excerpt": excerpt,
                "publishedAt": db.moment(published),
                "language": language,
                "readingTimeMinutes": _reading_time(words),
                "coverImage": {"url": image["url"], "alt": image.get("alt") or ""}
                if image and image.get("url")
                else None,
                "authors": [{"slug": r[1], "name": r[2]} for r in authors[article_id]],
                "category": _category(category_id, tree),
                "sources": [
                    {"role": r[1], "url": r[2], "source": {"slug": r[3], "name": r[4], "kind": r[5]}}
                    for r in sources[article_id]
                ],
                "tags": [r[1] for r in tags[article_id]],
            }
        )
    return Cards(cards, len(rows) > first, found)


async def front_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/front_page.graphql: the newest visible articles as cards, with the page's cursor."""
    cards = await newest_cards(db, await db.categories(), now, _first(variables), counted=("all", [""]))
    return {"articles": cards.nodes()}


async def category_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/category_page.graphql: a category by slug with its breadcrumbs and children, and a page
    of the visible articles of it and of its descendants as cards, newest first, each with its cursor."""
    tree = await db.categories()
    found = next((row for row in tree.values() if row[1] == variables.get("slug")), None)
    if found is None:
        return {"category": None}
    category_id, slug, name, description, _ = found
    children: dict[str | None, list[Row]] = defaultdict(list)
    for row in tree.values():
        children[row[4]].append(row)
    subtree = [category_id]
    for parent_id in subtree:  # the list grows as it is walked: the descendants, level by level
        subtree.extend(row[0] for row in children[parent_id])
    among, params = db.among(subtree)
    where = f" AND a.category_id IN ({among})"
    after, counted = variables.get("after"), ("category", subtree)
    cards = await newest_cards(db, tree, now, _first(variables), where, params, after, counted)
    own = sorted(children[category_id], key=lambda row: (row[2].lower(), row[1]))  # the CMS's order
    category = {
        "id": category_id,
        "slug": slug,
        "name": name,
        "description": description,
        "path": _path(tree, category_id),
        "children": [{"slug": r[1], "name": r[2]} for r in own],
        "articles": cards.edges(),
    }
    return {"category": category}


TAG = f"""SELECT t.tag FROM article_tag t WHERE t.slug = ?
AND EXISTS (SELECT 1 FROM article a WHERE a.id = t.article_id AND {VISIBLE}) ORDER BY t.tag LIMIT 1"""
"""A tag's name: its first spelling, in the (slug, tag) index's order, on a visible article."""
TAGGED = " AND a.id IN (SELECT article_id FROM article_tag WHERE slug = ?)"


async def tag_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/tag_page.graphql: a tag by slug (its name the first of its spellings on visible
    articles, its count theirs, from its counter; null when none carries it) and a page of them as cards,
    newest first."""
    slug: str = variables["slug"]
    named = await db.rows(TAG, (slug, db.stored(now)))
    if not named:
        return {"tag": None}
    tree, first, after = await db.categories(), _first(variables), variables.get("after")
    cards = await newest_cards(db, tree, now, first, TAGGED, (slug,), after, ("tag", [slug]))
    tag = {"slug": slug, "name": named[0][0], "articleCount": cards.total, "articles": cards.nodes()}
    return {"tag": tag}


async def search(db: Database, variables: Json, now: datetime) -> Json:
    """bench/run.py's SEARCH: the first 20 visible articles that match the words, as cards, newest first (the
    CMS's order when none is asked, a search included)."""
    searched = db.searching(search_terms(variables.get("q") or ""), now, DEFAULT_PAGE_SIZE)
    tree = await db.categories()
    cards = await newest_cards(
        db, tree, now, DEFAULT_PAGE_SIZE, searched.where, searched.params, total=searched.total
    )
    return {"articles": cards.nodes()}


ARTICLE = f"""
SELECT a.id, a.slug, a.title, a.subtitle, coalesce(nullif(a.excerpt, ''), a.derived_excerpt), a.body_html,
       a.language, a.published_at, a.updated_at, a.word_count, a.cover_image, a.category_id,
       a.translation_group, a.seo
FROM article a WHERE a.slug = ? AND a.language = ? AND {VISIBLE}
"""
PAGE_AUTHORS = """
SELECT aa.article_id, au.slug, au.name, au.bio, au.avatar_url FROM article_author aa
JOIN author au ON au.id = aa.author_id WHERE aa.article_id IN ({ids}) ORDER BY aa.article_id, aa.position
"""
PAGE_SOURCES = """
SELECT s.article_id, s.role, s.url, s.note, src.slug, src.name, src.kind, src.url FROM article_source s
JOIN source src ON src.id = s.source_id WHERE s.article_id IN ({ids}) ORDER BY s.article_id, s.position
"""
IMAGE_FIELDS = ("url", "alt", "caption", "credit", "width", "height")


def _attributions(rows: list[Row]) -> list[Json]:
    """PAGE_SOURCES rows as the article page and the walk select them."""
    return [
        {
            "role": r[1],
            "url": r[2],
            "note": r[3],
            "source": {"slug": r[4], "name": r[5], "kind": r[6], "url": r[7]},
        }
        for r in rows
    ]


async def article_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/article_page.graphql: one visible article by slug and language, with its relations."""
    visible_at = db.stored(now)
    found = await db.rows(ARTICLE, (variables.get("slug"), variables.get("language") or "en", visible_at))
    if not found:
        return {"article": None}
    (
        article_id,
        slug,
        title,
        subtitle,
        excerpt,
        body,
        language,
        published,
        updated,
        words,
        cover,
        category_id,
        group,
        seo_json,
    ) = found[0]
    ids = [article_id]
    tags = (await db.related(TAGS, ids))[article_id]
    authors = (await db.related(PAGE_AUTHORS, ids))[article_id]
    sources = (await db.related(PAGE_SOURCES, ids))[article_id]
    tree = await db.categories()
    translations = await db.rows(db.translations, (group, article_id, visible_at)) if group else []
    image = _json(cover)
    seo = _json(seo_json) or {}
    article = {
        "id": article_id,
        "slug": slug,
        "title": title,
        "subtitle": subtitle,
        "excerpt": excerpt,
        "body": body,
        "language": language,
        "publishedAt": db.moment(published),
        "updatedAt": db.moment(updated),
        "wordCount": words,
        "readingTimeMinutes": _reading_time(words),
        "tags": [r[1] for r in tags],
        "coverImage": {name: image.get(name) for name in IMAGE_FIELDS} | {"alt": image.get("alt") or ""}
        if image and image.get("url")
        else None,
        "authors": [{"slug": r[1], "name": r[2], "bio": r[3], "avatarUrl": r[4]} for r in authors],
        "category": _category(category_id, tree),
        "sources": _attributions(sources),
        "translations": [{"language": r[0], "slug": r[1], "title": r[2]} for r in translations],
        "seo": {
            "title": seo.get("title") or title,
            "description": seo.get("description") or excerpt,
            "canonicalUrl": seo.get("canonicalUrl"),
        },
    }
    return {"article": article}


WALK_COLUMNS = "a.id, a.slug, a.language, a.title, a.published_at, a.body_html, a.category_id"


async def walk(db: Database, variables: Json, now: datetime) -> Json:
    """bench/run.py's WALK: a page of every visible article, newest first, with its body, relations and
    the cursor of the next page, as a static-site build reads the whole archive."""
    first, after = _first(variables), variables.get("after")
    seek = _seek(db, after) if after is not None else ()
    rows = await db.rows(
        f"SELECT {WALK_COLUMNS} FROM article a WHERE {VISIBLE}{AFTER if seek else ''} {NEWEST}",
        (db.stored(now), *seek, first + 1),
    )
    page = rows[:first]
    ids = [row[0] for row in page]
    authors = await db.related(CARD_AUTHORS, ids)
    sources = await db.related(PAGE_SOURCES, ids)
    tags = await db.related(TAGS, ids)
    tree = await db.categories()
    nodes = [
        {
            "id": article_id,
            "slug": slug,
            "language": language,
            "title": title,
            "publishedAt": db.moment(published),
            "body": body,
            "authors": [{"slug": r[1], "name": r[2]} for r in authors[article_id]],
            "category": _category(category_id, tree),
            "sources": _attributions(sources[article_id]),
            "tags": [r[1] for r in tags[article_id]],
        }
        for article_id, slug, language, title, published, body, category_id in page
    ]
    more = len(rows) > first
    end = _cursor(nodes[-1]) if nodes else None
    return {"articles": {"pageInfo": {"hasNextPage": more, "endCursor": end}, "nodes": nodes}}


OPERATIONS: dict[str, Callable[[Database, Json, datetime], Awaitable[Json]]] = {
    "FrontPage": front_page,
    "ArticlePage": article_page,
    "CategoryPage": category_page,
    "TagPage": tag_page,
    "Search": search,
    "Walk": walk,
}


FEED_SIZE = 50
FEED = f"""
SELECT a.id, a.slug, a.language, a.title, coalesce(nullif(a.excerpt, ''), a.derived_excerpt), a.body_html,
       a.published_at, a.updated_at, a.cover_image, c.name
FROM article a LEFT JOIN category c ON c.id = a.category_id WHERE {VISIBLE} {NEWEST}
"""
FEED_AUTHORS = """
SELECT aa.article_id, au.name, au.avatar_url FROM article_author aa JOIN author au ON au.id = aa.author_id
WHERE aa.article_id IN ({ids}) ORDER BY aa.article_id, aa.position
"""
RSS_TYPE = "application/rss+xml"
JSON_FEED_TYPE = "application/feed+json"
ATOM = "http://www.w3.org/2005/Atom"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What XML 1.0 cannot hold even escaped: lxml refuses it, and one control character in a title would fail
the feed."""


@dataclass(frozen=True, slots=True)
class Item:
    """One article as both feeds show it."""

    id: str
    url: str
    title: str
    summary: str | None
    content: str
    language: str
    published: datetime
    updated: datetime
    authors: list[Row]
    """(article id, name, avatar URL), in byline order."""
    category: str | None
    image: str | None


@dataclass(frozen=True, slots=True)
class Feed:
    """The site's feed of its latest articles: the publisher's name, the site's address, its logo."""

    title: str
    home: str
    site: str
    logo: str | None
    items: list[Item]

    @property
    def description(self) -> str:
        return f"The latest articles of {self.title}"

    @property
    def updated(self) -> datetime | None:
        return max((item.updated for item in self.items), default=None)


async def latest(db: Database, settings: Settings, template: str, now: datetime) -> Feed:
    """The 50 newest visible articles with their category's name (joined) and bylines: two statements."""
    rows = await db.rows(FEED, (db.stored(now), FEED_SIZE))
    authors = await db.related(FEED_AUTHORS, [row[0] for row in rows])
    items = []
    for article_id, slug, language, title, summary, body, published, updated, cover, category in rows:
        image = _json(cover)
        items.append(
            Item(
                id=article_id,
                url=article_url(template, id=article_id, slug=slug, language=language),
                title=title,
                summary=summary,
                content=body,
                language=language,
                published=db.aware(published),
                updated=db.aware(updated),
                authors=authors[article_id],
                category=category,
                image=image["url"] if image and image.get("url") else None,
            )
        )
    site = settings.site or ""
    return Feed(settings.publisher_name, f"{site}/", site, settings.publisher_logo_url, items)


def _add(parent: Any, tag: str, value: str | None, **attributes: str) -> None:
    if value is not None:
        etree.SubElement(parent, tag, attributes).text = _NOT_XML.sub("", value)


def rss(feed: Feed) -> bytes:
    """RSS 2.0 with the Atom self link, content:encoded for the body and dc:creator for each byline."""
    root = etree.Element("rss", {"version": "2.0"}, nsmap={"atom": ATOM, "content": CONTENT, "dc": DC})
    channel = etree.SubElement(root, "channel")
    _add(channel, "title", feed.title)
    _add(channel, "link", feed.home)
    _add(channel, "description", feed.description)
    if feed.updated is not None:
        _add(channel, "lastBuildDate", format_datetime(feed.updated, usegmt=True))
    self_link = {"href": f"{feed.site}/feeds/articles.xml", "rel": "self", "type": RSS_TYPE}
    etree.SubElement(channel, f"{{{ATOM}}}link", self_link)
    if feed.logo is not None:
        image = etree.SubElement(channel, "image")
        _add(image, "url", feed.logo)
        _add(image, "title", feed.title)
        _add(image, "link", feed.home)
    for entry in feed.items:
        item = etree.SubElement(channel, "item")
        _add(item, "title", entry.title)
        _add(item, "link", entry.url)
        _add(item, "guid", entry.id, isPermaLink="false")
        _add(item, "description", entry.summary)
        _add(item, f"{{{CONTENT}}}encoded", entry.content)
        _add(item, "pubDate", format_datetime(entry.published, usegmt=True))
        _add(item, "category", entry.category)
        for author in entry.authors:
            _add(item, f"{{{DC}}}creator", author[1])
    made: bytes = etree.tostring(root, encoding="utf-8", xml_declaration=True)
    return made


def json_feed(feed: Feed) -> bytes:
    """JSON Feed 1.1: the optional members (icon, authors, image, tags) only when there is a value."""
    items = []
    for entry in feed.items:
        item: Json = {
            "id": entry.id,
            "url": entry.url,
            "title": entry.title,
            "summary": entry.summary,
            "content_html": entry.content,
            "date_published": entry.published.isoformat(),
            "date_modified": entry.updated.isoformat(),
            "language": entry.language,
        }
        if entry.authors:
            item["authors"] = [
                {"name": name} | ({"avatar": avatar} if avatar else {}) for _, name, avatar in entry.authors
            ]
        if entry.image is not None:
            item["image"] = entry.image
        if entry.category is not None:
            item["tags"] = [entry.category]
        items.append(item)
    return orjson.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": feed.title,
            "home_page_url": feed.home,
            "feed_url": f"{feed.site}/feeds/articles.json",
            "description": feed.description,
            **({"icon": feed.logo} if feed.logo is not None else {}),
            "items": items,
        }
    )


FEEDS: dict[str, tuple[Callable[[Feed], bytes], str]] = {
    "/feeds/articles.xml": (rss, f"{RSS_TYPE}; charset=utf-8"),
    "/feeds/articles.json": (json_feed, f"{JSON_FEED_TYPE}; charset=utf-8"),
}


def _error(message: str, status: int) -> Response:
    return Response(orjson.dumps({"errors": [{"message": message}]}), status, media_type="application/json")


def create_app(
    where: str, now: Clock = lambda: datetime.now(UTC), settings: Settings = DEFAULTS
) -> Starlette:
    """The baseline over the SQLite file or the PostgreSQL database at `where` (`connect`), with the CMS's
    settings (the mapping of the file, what feeds are made from); tests pass the CMS's fixed clock as `now`.
    """
    source = connect(where, settings)

    async def graphql(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            query = body.get("query") or ""
        except (orjson.JSONDecodeError, AttributeError):
            return _error("the body must be a JSON object with a query", 400)
        named = _OPERATION.search(query)
        operation = OPERATIONS.get(body.get("operationName") or (named.group(1) if named else ""))
        if operation is None:
            return _error(f"the baseline answers only {', '.join(OPERATIONS)}", 400)
        try:
            async with source.reading() as db:
                data = await operation(db, body.get("variables") or {}, now())
        except (ValueError, DomainError) as error:  # the CMS's BAD_USER_INPUT
            return _error(str(error), 400)
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def feed(request: Request) -> Response:
        if settings.article_url is None:
            return _error("the feeds need CMS_ARTICLE_URL, as the CMS's do", 404)
        if request.query_params:
            return _error("the baseline answers the feeds of every language only", 400)
        build, media_type = FEEDS[request.url.path]
        async with source.reading() as db:
            feed = await latest(db, settings, settings.article_url, now())
        return Response(build(feed), media_type=media_type)

    async def healthz(request: Request) -> Response:
        return Response(orjson.dumps({"status": "ok"}), media_type="application/json")

    routes = [Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)]
    routes += [Route(path, feed, methods=["GET", "HEAD"]) for path in FEEDS]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await source.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.database = source
    return app


def main() -> None:
    """Serve with uvicorn exactly as `cms serve` does: one process, CMS_HOST, CMS_PORT, CMS_LOG_LEVEL, the
    same settings of the garbage collector."""
    import uvicorn

    settings = Settings.from_env()
    url = settings.database_url
    if not url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise SystemExit("the baseline reads CMS_DATABASE_URL=sqlite:///path/to.db or postgresql://...")
    app = create_app(url.removeprefix("sqlite:///"), settings=settings)
    collector.settle()  # as the CMS's server sets its collector
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
