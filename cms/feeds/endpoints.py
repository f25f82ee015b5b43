"""The feed and sitemap routes beside /graphql. Each answer is read in one snapshot and travels under
delivery.md's rules for a public answer, with the rules GraphQL answers use (`delivery.caching`): a strong
ETag from the request and the content version, a 304 for a matching If-None-Match, Cache-Control capped at
the next scheduled instant, Vary and Surrogate-Key. Feeds are the public's whoever asks: a token changes
nothing."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cms.clock import Clock
from cms.content import keys, languages, versions
from cms.content.categories import read_tree
from cms.content.errors import BadInput, Timeout
from cms.content.reads import Read
from cms.db import Replicas
from cms.delivery.caching import Lifetimes, etag, matches
from cms.delivery.http import refusal
from cms.feeds import jsonfeed, reads, rss, sitemaps
from cms.feeds.entries import Channel, entries
from cms.feeds.reads import Fetch
from cms.settings import Settings

UNSET = (
    "Feeds and sitemaps need CMS_ARTICLE_URL, the template of an article's public URL "
    "(e.g. https://news.example/{language}/{slug}), and it is not set"
)
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Made:
    """An answer's body, its surrogate keys, and the instant it changes at with no write besides the
    version's scheduled one, if it has one (the news sitemap's oldest article leaving its window)."""

    body: bytes
    keys: Collection[str]
    until: datetime | None = None


Make = Callable[[Fetch, datetime], Awaitable[Made]]


class Missing(Exception):
    """No such category or sitemap file: a 404 (never kept: a write may make one)."""


class Published:
    """What every route shares: the settings the documents are made from, the snapshot, the caching rules."""

    def __init__(self, settings: Settings, replicas: Replicas, clock: Clock) -> None:
        self.settings, self.replicas, self.clock = settings, replicas, clock
        self.lifetimes = Lifetimes(settings.cache_max_age, settings.cache_s_maxage, settings.cache_swr)
        made_from = (
            settings.article_url,
            settings.site,
            settings.publisher_name,
            settings.publisher_logo_url,
        )
        self.made_from = "\0".join(value or "" for value in made_from).encode()
        """Part of every ETag: a body changes with the settings too, and an ETag must name one body."""

    async def serve(self, request: Request, media_type: str, make: Make, *, asked: str = "") -> Response:
        """The answer `make` reads and builds for the request (`asked`: the parameters that change it, in
        their one form), or a 304 after the version's read alone. An answer that also changes at an instant
        of its own (`Made.until`) carries the earlier of the two in its ETag and ages: an ETag made without
        one still names the same body until the version's instant, which comes first."""
        key = b"\0".join((request.url.path.encode(), asked.encode(), self.made_from))
        if_none_match = request.headers.get("if-none-match")
        now = self.clock.now()
        taken = await self.replicas.snapshot()  # public: on a read replica, if there are some

        async def fetch(read: Read) -> Sequence[Any]:
            return await taken.fetch(read.statement, read.values)

        try:
            version = await versions.current(fetch, now)
            if matches(if_none_match, etag(key, version)):
                return self._not_modified(key, version, now)
            made = await make(fetch, now)
        except Missing as missing:
            return refusal(404, str(missing), "NOT_FOUND")
        except Timeout as stopped:
            return refusal(503, stopped.message, Timeout.code)
        finally:
            await taken.close()
        if made.until is not None and (version.until is None or made.until < version.until):
            version = versions.Version(version.token, made.until)
            if matches(if_none_match, etag(key, version)):
                return self._not_modified(key, version, now)
        response = Response(made.body, media_type=media_type)
        fresh = self.lifetimes.fresh(etag(key, version), version, now)
        response.raw_headers.extend([*fresh, (b"surrogate-key", keys.header(made.keys).encode())])
        return response

    def _not_modified(self, key: bytes, version: versions.Version, now: datetime) -> Response:
        response = Response(status_code=304)
        response.raw_headers.extend(self.lifetimes.fresh(etag(key, version), version, now))
        return response

    def configured(self, endpoint: Endpoint) -> Endpoint:
        """404 naming CMS_ARTICLE_URL while it is unset; a 400 for a parameter that cannot be."""

        async def answer(request: Request) -> Response:
            if self.settings.article_url is None:
                return refusal(404, UNSET, "NOT_FOUND")
            try:
                return await endpoint(request)
            except BadInput as bad:
                return refusal(400, bad.message, BadInput.code)

        return answer

    def feed(self, build: Callable[[Channel], bytes], media_type: str) -> Endpoint:
        """The 50 latest visible articles; of a category's subtree (`slug`), of a language (`?language=`)."""

        async def endpoint(request: Request) -> Response:
            slug: str | None = request.path_params.get("slug")
            language = _language(request)

            async def make(fetch: Fetch, now: datetime) -> Made:
                tree = await read_tree(fetch)
                title, categories, made_keys = self.settings.publisher_name, None, {keys.ARTICLES}
                if slug is not None:
                    category = tree.by_slug.get(slug)
                    if category is None:
                        raise Missing(f"No category has the slug {slug!r}")
                    title, categories = f"{title}: {category.name}", tree.subtree(category.id)
                    made_keys |= {keys.item("Category", category.id), keys.LISTS["Category"]}
                rows = await fetch(reads.latest(now=now, categories=categories, language=language))
                bylines = await fetch(reads.bylines([row.id for row in rows])) if rows else []
                made_keys.update(keys.item("Article", row.id) for row in rows)
                made_keys.update(keys.item("Author", byline.id) for byline in bylines)
                made_keys.update(keys.item("Category", row.category_id) for row in rows if row.category_id)
                site = self.settings.site or ""
                query = f"?language={language}" if language is not None else ""
                channel = Channel(
                    title=title,
                    description=f"The latest articles of {title}",
                    home=f"{site}/",
                    self_url=f"{site}{request.url.path}{query}",
                    language=language,
                    logo=self.settings.publisher_logo_url,
                    entries=entries(rows, bylines, tree, template=self._template),
                )
                return Made(build(channel), made_keys)

            return await self.serve(request, media_type, make, asked=language or "")

        return self.configured(endpoint)

    def sitemap_index(self) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            async def make(fetch: Fetch, now: datetime) -> Made:
                count = (await fetch(reads.visible_count(now)))[0][0]
                files = min(math.ceil(count / reads.URLS_PER_FILE), reads.FILES_MOST)
                return Made(sitemaps.index(self.settings.site or "", files), LISTED)

            return await self.serve(request, sitemaps.MEDIA_TYPE, make)

        return self.configured(endpoint)

    def sitemap_file(self) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            number: int = request.path_params["number"]

            async def make(fetch: Fetch, now: datetime) -> Made:
                rows = await reads.sitemap_file(fetch, number=number, now=now)
                if rows is None:
                    raise Missing(f"No sitemap file {number}: /sitemap.xml lists those there are")
                # 50,000 URLs take some 0.35 s to write: in a worker thread, while the loop serves others
                body = await asyncio.to_thread(sitemaps.urlset, rows, template=self._template)
                return Made(body, LISTED)

            return await self.serve(request, sitemaps.MEDIA_TYPE, make)

        return self.configured(endpoint)

    def news_sitemap(self) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            async def make(fetch: Fetch, now: datetime) -> Made:
                rows = await fetch(reads.news(now))
                body = sitemaps.news(rows, template=self._template, publisher=self.settings.publisher_name)
                oldest = min((row.first_published_at for row in rows), default=None)
                return Made(body, LISTED, None if oldest is None else oldest + reads.NEWS_WINDOW)

            return await self.serve(request, sitemaps.MEDIA_TYPE, make)

        return self.configured(endpoint)

    @property
    def _template(self) -> str:
        assert self.settings.article_url is not None, "answered only when set (`configured`)"
        return self.settings.article_url


LISTED = frozenset({keys.ARTICLES})
"""A sitemap's surrogate keys: the article list alone, which every write names. An item key per URL would
make a header of up to 50,000 keys, past any cache's limit."""


def _language(request: Request) -> str | None:
    """`?language=` as tags are compared (`content.languages`), or None; BadInput if it is no tag."""
    value = request.query_params.get("language")
    if value is None:
        return None
    if not languages.is_tag(value):
        raise BadInput(f"language must be a language tag such as az or en-GB, not {value[:40]!r}")
    return languages.canonical(value)


def routes(settings: Settings, replicas: Replicas, clock: Clock) -> list[Route]:
    """The routes, to mount beside /graphql; GET and HEAD (answered as GET)."""
    published = Published(settings, replicas, clock)
    feeds = (("xml", rss.rss, rss.MEDIA_TYPE), ("json", jsonfeed.json_feed, jsonfeed.MEDIA_TYPE))
    made = [
        Route(path, published.feed(build, media_type), methods=["GET", "HEAD"])
        for suffix, build, media_type in feeds
        for path in (f"/feeds/articles.{suffix}", f"/feeds/categories/{{slug}}.{suffix}")
    ]
    return [
        *made,
        Route("/sitemap.xml", published.sitemap_index(), methods=["GET", "HEAD"]),
        Route("/sitemaps/articles-{number:int}.xml", published.sitemap_file(), methods=["GET", "HEAD"]),
        Route(sitemaps.NEWS_FILE, published.news_sitemap(), methods=["GET", "HEAD"]),
    ]
