"""The raw-SQL baseline: the fastest honest way to answer the pages, the walk and the feeds of the benchmark.

What the CMS's layers (GraphQL, SQLAlchemy, aiosqlite's thread hop, DataLoaders) cost is the difference
between it and this: a plain Starlette app with hand-written SQL on ONE synchronous sqlite3 connection used
directly on the event loop, one statement per relation, and orjson. It answers POST /graphql for
schema/examples/front_page.graphql, article_page.graphql, category_page.graphql and tag_page.graphql, and
for bench/run.py's SEARCH and WALK (recognised by operationName or the query text; the selections are
those) with the same JSON as the CMS, under the same visibility rule, order and cursors, and nothing else;
and GET /feeds/articles.xml and /feeds/articles.json, the CMS's RSS 2.0 and JSON Feed 1.1 of the 50 latest
visible articles (the XML built with lxml, the JSON with orjson), the same items a feed reader reads.
The search's FTS5 match string comes from the CMS's parser of the reader's words (`search_terms`), and an
article's URL from CMS_ARTICLE_URL by the CMS's rule (`article_url`): those are the contract's query syntax
and the setting's meaning, rules rather than layers, and re-implementing them would only risk a different
answer.

Serve it as `cms serve` serves the CMS (the same CMS_* variables, one uvicorn process):
    CMS_DATABASE_URL=sqlite:///var/bench/bench.db CMS_ARTICLE_URL='https://news.example/{language}/{slug}' \
        CMS_PORT=8001 .venv/bin/python bench/baseline.py
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import orjson
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cms import collector  # noqa: E402
from cms.content.errors import DomainError  # noqa: E402
from cms.content.search import search_terms  # noqa: E402
from cms.content.urls import article_url  # noqa: E402
from cms.settings import Settings  # noqa: E402

Row = tuple[Any, ...]
Tree = dict[str, Row]  # every category by id: (id, slug, name, description, parent_id)
Clock = Callable[[], datetime]
Json = dict[str, Any]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
WORDS_PER_MINUTE = 200
NEWEST_FIRST = "Article:PUBLISHED_AT:DESC"  # the CMS's cursor tag for the order of every card list here
VISIBLE = "a.status = 'PUBLISHED' AND a.published_at <= ?"
CATEGORIES = "SELECT id, slug, name, description, parent_id FROM category"
_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+(\w+)")


class Database:
    """The one connection, counting its statements so the benchmark can report them."""

    def __init__(self, path: str, mmap_mib: int) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA query_only = ON")
        self.connection.execute(f"PRAGMA mmap_size = {mmap_mib << 20}")  # as the CMS's readers map it
        self.statements = 0

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        self.statements += 1
        return self.connection.execute(sql, params).fetchall()

    def related(self, sql: str, ids: Sequence[str]) -> dict[str, list[Row]]:
        """One relation of many articles in one statement, grouped by the article id each row starts with."""
        groups: dict[str, list[Row]] = defaultdict(list)
        for row in self.rows(sql.format(ids=", ".join("?" * len(ids))), ids):
            groups[row[0]].append(row)
        return groups

    def categories(self) -> Tree:
        """The whole category tree in one statement, as the CMS reads it: breadcrumbs, children and subtrees
        then need no more SQL."""
        return {row[0]: row for row in self.rows(CATEGORIES)}


def _moment(stored: str) -> str:
    """A stored UTC timestamp as the CMS prints it (ISO 8601 with +00:00)."""
    return datetime.fromisoformat(stored).replace(tzinfo=UTC).isoformat()


def _stored(moment: datetime) -> str:
    """A moment as SQLAlchemy stores it in SQLite, so comparisons are the CMS's string comparisons."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


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


def _seek(cursor: str) -> tuple[str, str | int]:
    """The (published_at, id) a newest-first cursor stands for; a cursor the CMS would refuse is refused."""
    try:
        tag, moment, item_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        published_at = datetime.fromisoformat(moment)
    except (TypeError, ValueError) as error:  # base64's, JSON's and Unicode's errors are ValueErrors
        raise ValueError(f"malformed cursor: {cursor!r}") from error
    if tag != NEWEST_FIRST or not isinstance(item_id, str | int) or published_at.tzinfo is None:
        raise ValueError(f"not a cursor of this list: {cursor!r}")
    return _stored(published_at), item_id


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


def newest_cards(
    db: Database,
    tree: Tree,
    now: datetime,
    first: int,
    where: str = "",
    params: Sequence[Any] = (),
    after: str | None = None,
) -> Cards:
    """A page of the visible articles as cards, newest first: the list of the front, category and search
    pages. `where` (" AND ...", with `params` for its placeholders) narrows the list; `after` is a cursor."""
    narrowed = (_stored(now), *params)
    seek = _seek(after) if after is not None else ()
    rows = db.rows(
        f"SELECT {CARD_COLUMNS} FROM article a WHERE {VISIBLE}{where}{AFTER if seek else ''} {NEWEST}",
        (*narrowed, *seek, first + 1),
    )
    total = db.rows(f"SELECT count(*) FROM article a WHERE {VISIBLE}{where}", narrowed)[0][0]
    page = rows[:first]
    ids = [row[0] for row in page]
    authors = db.related(CARD_AUTHORS, ids)
    sources = db.related(CARD_SOURCES, ids)
    tags = db.related(TAGS, ids)
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
                "publishedAt": _moment(published),
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
    return Cards(cards, len(rows) > first, total)


def front_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/front_page.graphql: the newest visible articles as cards, with the page's cursor."""
    return {"articles": newest_cards(db, db.categories(), now, _first(variables)).nodes()}


def category_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/category_page.graphql: a category by slug with its breadcrumbs and children, and a page
    of the visible articles of it and of its descendants as cards, newest first, each with its cursor."""
    tree = db.categories()
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
    where = f" AND a.category_id IN ({', '.join('?' * len(subtree))})"
    cards = newest_cards(db, tree, now, _first(variables), where, subtree, variables.get("after"))
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


TAG = f"""SELECT min(t.tag), count(DISTINCT a.id) FROM article_tag t JOIN article a ON a.id = t.article_id
WHERE t.slug = ? AND {VISIBLE}"""
TAGGED = " AND a.id IN (SELECT article_id FROM article_tag WHERE slug = ?)"


def tag_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/tag_page.graphql: a tag by slug (its name the first of its spellings on visible
    articles, its count theirs; null when none carries it) and a page of them as cards, newest first."""
    slug = variables.get("slug")
    name, count = db.rows(TAG, (slug, _stored(now)))[0]
    if not count:
        return {"tag": None}
    cards = newest_cards(db, db.categories(), now, _first(variables), TAGGED, (slug,), variables.get("after"))
    return {"tag": {"slug": slug, "name": name, "articleCount": count, "articles": cards.nodes()}}


# The unary + keeps SQLite walking the newest-first index and testing each row against the set of matches,
# built once, so a page stops after its rows; looking the matches up instead would read each one's status
# and publishedAt, behind the overflow pages of its body.
MATCHING = """ AND +a.id IN (
SELECT k.article_id FROM article_fts JOIN article_fts_key k ON k.key = article_fts.rowid
WHERE article_fts MATCH ?)"""


def search(db: Database, variables: Json, now: datetime) -> Json:
    """bench/run.py's SEARCH: the first 20 visible articles that match the words, as cards, newest first (the
    CMS's order when none is asked, a search included)."""
    match = search_terms(variables.get("q") or "").fts5()
    return {"articles": newest_cards(db, db.categories(), now, DEFAULT_PAGE_SIZE, MATCHING, [match]).nodes()}


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
# The unary + keeps SQLite on the translation-group index: left to itself it takes the visibility index and
# reads every visible article.
TRANSLATIONS = """
SELECT a.language, a.slug, a.title FROM article a
WHERE a.translation_group = ? AND a.id != ? AND +a.status = 'PUBLISHED' AND +a.published_at <= ?
ORDER BY a.language, a.id
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


def article_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/article_page.graphql: one visible article by slug and language, with its relations."""
    visible_at = _stored(now)
    found = db.rows(ARTICLE, (variables.get("slug"), variables.get("language") or "en", visible_at))
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
    tags = db.related(TAGS, ids)[article_id]
    authors = db.related(PAGE_AUTHORS, ids)[article_id]
    sources = db.related(PAGE_SOURCES, ids)[article_id]
    tree = db.categories()
    translations = db.rows(TRANSLATIONS, (group, article_id, visible_at)) if group else []
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
        "publishedAt": _moment(published),
        "updatedAt": _moment(updated),
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


def walk(db: Database, variables: Json, now: datetime) -> Json:
    """bench/run.py's WALK: a page of every visible article, newest first, with its body, relations and
    the cursor of the next page, as a static-site build reads the whole archive."""
    first, after = _first(variables), variables.get("after")
    seek = _seek(after) if after is not None else ()
    rows = db.rows(
        f"SELECT {WALK_COLUMNS} FROM article a WHERE {VISIBLE}{AFTER if seek else ''} {NEWEST}",
        (_stored(now), *seek, first + 1),
    )
    page = rows[:first]
    ids = [row[0] for row in page]
    authors = db.related(CARD_AUTHORS, ids)
    sources = db.related(PAGE_SOURCES, ids)
    tags = db.related(TAGS, ids)
    tree = db.categories()
    nodes = [
        {
            "id": article_id,
            "slug": slug,
            "language": language,
            "title": title,
            "publishedAt": _moment(published),
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


OPERATIONS: dict[str, Callable[[Database, Json, datetime], Json]] = {
    "FrontPage": front_page,
    "ArticlePage": article_page,
    "CategoryPage": category_page,
    "TagPage": tag_page,
    "Search": search,
    "Walk": walk,
}


DEFAULTS = Settings()
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


def _aware(stored: str) -> datetime:
    return datetime.fromisoformat(stored).replace(tzinfo=UTC)


def latest(db: Database, settings: Settings, template: str, now: datetime) -> Feed:
    """The 50 newest visible articles with their category's name (joined) and bylines: two statements."""
    rows = db.rows(FEED, (_stored(now), FEED_SIZE))
    authors = db.related(FEED_AUTHORS, [row[0] for row in rows])
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
                published=_aware(published),
                updated=_aware(updated),
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


def create_app(path: str, now: Clock = lambda: datetime.now(UTC), settings: Settings = DEFAULTS) -> Starlette:
    """The baseline over the SQLite file at `path`, with the CMS's settings (the mapping of the file, what
    feeds are made from); tests pass the CMS's fixed clock as `now`."""
    db = Database(path, settings.sqlite_mmap_mib)

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
            data = operation(db, body.get("variables") or {}, now())
        except (ValueError, DomainError) as error:  # the CMS's BAD_USER_INPUT
            return _error(str(error), 400)
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def feed(request: Request) -> Response:
        if settings.article_url is None:
            return _error("the feeds need CMS_ARTICLE_URL, as the CMS's do", 404)
        if request.query_params:
            return _error("the baseline answers the feeds of every language only", 400)
        build, media_type = FEEDS[request.url.path]
        return Response(build(latest(db, settings, settings.article_url, now())), media_type=media_type)

    async def healthz(request: Request) -> Response:
        return Response(orjson.dumps({"status": "ok"}), media_type="application/json")

    routes = [Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)]
    routes += [Route(path, feed, methods=["GET", "HEAD"]) for path in FEEDS]
    app = Starlette(routes=routes)
    app.state.database = db
    return app


def main() -> None:
    """Serve with uvicorn exactly as `cms serve` does: one process, CMS_HOST, CMS_PORT, CMS_LOG_LEVEL, the
    same settings of the garbage collector."""
    import uvicorn

    settings = Settings.from_env()
    if not settings.database_url.startswith("sqlite:///"):
        raise SystemExit("the baseline reads SQLite only: CMS_DATABASE_URL=sqlite:///path/to.db")
    app = create_app(settings.database_url.removeprefix("sqlite:///"), settings=settings)
    collector.settle()  # as the CMS's server sets its collector
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
