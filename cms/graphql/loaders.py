"""Per-request DataLoaders: one statement per relation per batch, whatever the number of parents."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from cms.content import articles
from cms.content.categories import CategoryTree, read_tree
from cms.content.filters import ArticleFilter, ArticleOrder
from cms.content.pagination import Page, PageRequest, SortKey, page_of
from cms.content.reads import Read, by_keys
from cms.graphql.context import Context
from cms.models import Author, Source

K = TypeVar("K", bound=Hashable)


def _grouped(rows: Iterable[Any], key: str) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return groups


@dataclass(frozen=True)
class ArticleListKey:
    """One parent's nested article list: the arguments are part of the key, so a batch has one shape."""

    parent_id: str
    f: ArticleFilter | None
    order: ArticleOrder
    page: PageRequest
    option: Hashable = None  # the source role, or whether a category includes its descendants


LinkBuilder = Callable[[Any], articles.Links]
V = TypeVar("V")


class Loader(DataLoader[K, V]):
    """A DataLoader whose shared results survive one waiter's cancellation. When a field errors,
    graphql-core cancels its siblings; a task cancelled while awaiting a future cancels that future, and
    every other resolver awaiting the same key (or read) would get CancelledError, which no resolver turns
    into a GraphQL error: the request would fail whole."""

    def load(self, key: K) -> Awaitable[V]:
        return asyncio.shield(super().load(key))


class Loaders:
    """Every loader of one request; built lazily by the Context."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.article_by_id = self._by_key(
            lambda ids: articles.by_ids_statement(ids, viewer=context.viewer, now=context.now), "id"
        )
        self.author_by_id = self._by_key(lambda ids: by_keys(Author.__table__, ids), "id")  # type: ignore[attr-defined]
        self.source_by_id = self._by_key(lambda ids: by_keys(Source.__table__, ids), "id")  # type: ignore[attr-defined]
        self.authors_by_article_id = self._lists(articles.authors_statement, "article_id")
        self.sources_by_article_id = self._lists(articles.sources_statement, "article_id")
        self.tags_by_article_id = self._lists(articles.tags_statement, "article_id")
        self.translations_by_group = self._lists(
            lambda groups: articles.translations_statement(groups, viewer=context.viewer, now=context.now),
            "translation_group",
        )
        self.articles_by_author_id = self._article_pages(lambda _: articles.AUTHOR_LINKS)
        self.articles_by_source_id = self._article_pages(articles.source_links)
        self.articles_by_category_id = self._article_pages(articles.category_links)
        self.article_count_by_author_id = self._article_counts(lambda _: articles.AUTHOR_LINKS)
        self.article_count_by_source_id = self._article_counts(articles.source_links)
        self.article_count_by_category_id = self._article_counts(articles.category_links)
        self._category_tree: asyncio.Future[CategoryTree] | None = None

    async def category_tree(self) -> CategoryTree:
        """The whole category tree, read once per request however many resolvers ask at the same time (see
        `Loader` on why the shared read is shielded)."""
        if self._category_tree is None:
            self._category_tree = asyncio.ensure_future(self._read_category_tree())
        return await asyncio.shield(self._category_tree)

    async def _read_category_tree(self) -> CategoryTree:
        return await read_tree(self.context.fetch)

    def _by_key(self, read: Callable[[list[str]], Read], key: str) -> Loader[str, Any]:
        async def load(keys: list[str]) -> list[Any]:
            found = {getattr(row, key): row for row in await self.context.fetch(*read(keys))}
            return [found.get(k) for k in keys]

        return Loader(load_fn=load)

    def _lists(self, read: Callable[[list[str]], Read], key: str) -> Loader[str, list[Any]]:
        async def load(keys: list[str]) -> list[list[Any]]:
            groups = _grouped(await self.context.fetch(*read(keys)), key)
            return [groups.get(k, []) for k in keys]

        return Loader(load_fn=load)

    def _shapes(self, keys: list[ArticleListKey]) -> dict[tuple[Any, ...], list[str]]:
        shapes: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for key in keys:
            shapes[(key.f, key.order, key.page, key.option)].append(key.parent_id)
        return shapes

    def _article_pages(self, links: LinkBuilder) -> Loader[ArticleListKey, tuple[Page[Any], SortKey]]:
        """Pages of articles for many parents: one statement per distinct argument shape."""
        ctx = self.context

        async def load(keys: list[ArticleListKey]) -> list[tuple[Page[Any], SortKey]]:
            pages: dict[tuple[Any, ...], tuple[Page[Any], SortKey]] = {}
            for (f, order, page, option), parents in self._shapes(keys).items():
                read, sort = articles.linked_page_statement(
                    links=links(option), parents=parents, viewer=ctx.viewer, now=ctx.now, f=f,
                    order=order, page=page,
                )  # fmt: skip
                groups = _grouped(await ctx.fetch(*read), "parent_key")
                for parent in parents:
                    pages[(parent, f, order, page, option)] = (page_of(groups.get(parent, []), page), sort)
            return [pages[(k.parent_id, k.f, k.order, k.page, k.option)] for k in keys]

        return Loader(load_fn=load)

    def _article_counts(self, links: LinkBuilder) -> Loader[ArticleListKey, int]:
        ctx = self.context

        async def load(keys: list[ArticleListKey]) -> list[int]:
            counts: dict[tuple[Any, ...], int] = {}
            for (f, _, _, option), parents in self._shapes(keys).items():
                read = articles.linked_count_statement(
                    links=links(option), parents=parents, viewer=ctx.viewer, now=ctx.now, f=f
                )
                found = dict((parent, count) for parent, count in await ctx.fetch(*read))  # noqa: C402
                counts.update({(parent, f, option): found.get(parent, 0) for parent in parents})
            return [counts[(k.parent_id, k.f, k.option)] for k in keys]

        return Loader(load_fn=load)
