"""The raw-SQL baseline: the fastest honest way to answer the front page and the article page.

What the CMS's layers (GraphQL, SQLAlchemy, aiosqlite's thread hop, DataLoaders) cost is the difference
between it and this: a plain Starlette app with hand-written SQL on ONE synchronous sqlite3 connection used
directly on the event loop, one statement per relation, and orjson. It answers POST /graphql for
schema/examples/front_page.graphql and article_page.graphql (recognised by operationName or the query text;
the selections are the examples') with the same JSON as the CMS, under the same visibility rule, order and
cursors, and nothing else.

Serve it as `cms serve` serves the CMS (the same CMS_* variables, one uvicorn process):
    CMS_DATABASE_URL=sqlite:///var/bench/bench.db CMS_PORT=8001 .venv/bin/python bench/baseline.py
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Row = tuple[Any, ...]
Clock = Callable[[], datetime]
Json = dict[str, Any]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
WORDS_PER_MINUTE = 200
FRONT_PAGE_ORDER = "Article:PUBLISHED_AT:DESC"  # the CMS's cursor tag for newest-first
VISIBLE = "a.status = 'PUBLISHED' AND a.published_at <= ?"
_OPERATION = re.compile(r"\b(?:query|mutation|subscription)\s+(\w+)")


class Database:
    """The one connection, counting its statements so the benchmark can report them."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute("PRAGMA query_only = ON")
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

    def category_paths(self) -> dict[str, list[Json]]:
        """Breadcrumbs ({slug, name}, root first) of every category, from the whole tree in one statement."""
        rows = {row[0]: row for row in self.rows("SELECT id, slug, name, parent_id FROM category")}
        paths: dict[str, list[Json]] = {}
        for category_id in rows:
            path: list[Row] = []
            row = rows.get(category_id)
            while row is not None and row not in path:
                path.append(row)
                row = rows.get(row[3]) if row[3] else None
            paths[category_id] = [{"slug": r[1], "name": r[2]} for r in reversed(path)]
        return paths


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


def _cursor(published_at: str, article_id: str) -> str:
    payload = json.dumps([FRONT_PAGE_ORDER, published_at, article_id], separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def _category(category_id: str | None, paths: dict[str, list[Json]]) -> Json | None:
    path = paths.get(category_id) if category_id else None
    return {**path[-1], "path": path} if path else None


CARDS = f"""
SELECT a.id, a.slug, a.title, a.subtitle, coalesce(nullif(a.excerpt, ''), a.derived_excerpt), a.published_at,
       a.language, a.word_count, a.cover_image, a.category_id
FROM article a WHERE {VISIBLE} ORDER BY a.published_at DESC, a.id DESC LIMIT ?
"""
COUNT = f"SELECT count(*) FROM article a WHERE {VISIBLE}"
CARD_AUTHORS = """
SELECT aa.article_id, au.slug, au.name FROM article_author aa JOIN author au ON au.id = aa.author_id
WHERE aa.article_id IN ({ids}) ORDER BY aa.article_id, aa.position
"""
CARD_SOURCES = """
SELECT s.article_id, s.role, s.url, src.slug, src.name, src.kind FROM article_source s
JOIN source src ON src.id = s.source_id WHERE s.article_id IN ({ids}) ORDER BY s.article_id, s.position
"""
TAGS = "SELECT article_id, tag FROM article_tag WHERE article_id IN ({ids}) ORDER BY article_id, position"


def front_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/front_page.graphql: the newest visible articles as cards, with the page's cursor."""
    first = variables.get("first")
    first = DEFAULT_PAGE_SIZE if first is None else first
    if not isinstance(first, int) or not 1 <= first <= MAX_PAGE_SIZE:
        raise ValueError(f"first must be between 1 and {MAX_PAGE_SIZE}, got {first}")
    visible_at = _stored(now)
    rows = db.rows(CARDS, (visible_at, first + 1))
    page = rows[:first]
    total = db.rows(COUNT, (visible_at,))[0][0]
    ids = [row[0] for row in page]
    authors = db.related(CARD_AUTHORS, ids)
    sources = db.related(CARD_SOURCES, ids)
    tags = db.related(TAGS, ids)
    paths = db.category_paths()
    nodes = []
    for article_id, slug, title, subtitle, excerpt, published, language, words, cover, category_id in page:
        image = _json(cover)
        nodes.append(
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
                "category": _category(category_id, paths),
                "sources": [
                    {"role": r[1], "url": r[2], "source": {"slug": r[3], "name": r[4], "kind": r[5]}}
                    for r in sources[article_id]
                ],
                "tags": [r[1] for r in tags[article_id]],
            }
        )
    end = _cursor(nodes[-1]["publishedAt"], nodes[-1]["id"]) if nodes else None
    page_info = {"hasNextPage": len(rows) > first, "endCursor": end}
    return {"articles": {"nodes": nodes, "pageInfo": page_info, "totalCount": total}}


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


def article_page(db: Database, variables: Json, now: datetime) -> Json:
    """schema/examples/article_page.graphql: one visible article by slug and language, with its relations."""
    visible_at = _stored(now)
    found = db.rows(ARTICLE, (variables.get("slug"), variables.get("language") or "en", visible_at))
    if not found:
        return {"article": None}
    (article_id, slug, title, subtitle, excerpt, body, language, published, updated, words, cover,
     category_id, group, seo_json) = found[0]  # fmt: skip
    ids = [article_id]
    tags = db.related(TAGS, ids)[article_id]
    authors = db.related(PAGE_AUTHORS, ids)[article_id]
    sources = db.related(PAGE_SOURCES, ids)[article_id]
    paths = db.category_paths()
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
        "category": _category(category_id, paths),
        "sources": [
            {
                "role": r[1],
                "url": r[2],
                "note": r[3],
                "source": {"slug": r[4], "name": r[5], "kind": r[6], "url": r[7]},
            }
            for r in sources
        ],
        "translations": [{"language": r[0], "slug": r[1], "title": r[2]} for r in translations],
        "seo": {
            "title": seo.get("title") or title,
            "description": seo.get("description") or excerpt,
            "canonicalUrl": seo.get("canonicalUrl"),
        },
    }
    return {"article": article}


OPERATIONS: dict[str, Callable[[Database, Json, datetime], Json]] = {
    "FrontPage": front_page,
    "ArticlePage": article_page,
}


def _error(message: str, status: int) -> Response:
    return Response(orjson.dumps({"errors": [{"message": message}]}), status, media_type="application/json")


def create_app(path: str, now: Clock = lambda: datetime.now(UTC)) -> Starlette:
    """The baseline over the SQLite file at `path`; tests pass the CMS's fixed clock as `now`."""
    db = Database(path)

    async def graphql(request: Request) -> Response:
        try:
            body = orjson.loads(await request.body())
            query = body.get("query") or ""
        except (orjson.JSONDecodeError, AttributeError):
            return _error("the body must be a JSON object with a query", 400)
        named = _OPERATION.search(query)
        operation = OPERATIONS.get(body.get("operationName") or (named.group(1) if named else ""))
        if operation is None:
            return _error(f"the baseline answers only {' and '.join(OPERATIONS)}", 400)
        try:
            data = operation(db, body.get("variables") or {}, now())
        except ValueError as error:
            return _error(str(error), 400)
        return Response(orjson.dumps({"data": data}), media_type="application/json")

    async def healthz(request: Request) -> Response:
        return Response(orjson.dumps({"status": "ok"}), media_type="application/json")

    app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)])
    app.state.database = db
    return app


def main() -> None:
    """Serve with uvicorn exactly as `cms serve` does: one process, CMS_HOST, CMS_PORT, CMS_LOG_LEVEL."""
    import uvicorn

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from cms.settings import Settings

    settings = Settings.from_env()
    if not settings.database_url.startswith("sqlite:///"):
        raise SystemExit("the baseline reads SQLite only: CMS_DATABASE_URL=sqlite:///path/to.db")
    app = create_app(settings.database_url.removeprefix("sqlite:///"))
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level)


if __name__ == "__main__":
    main()
