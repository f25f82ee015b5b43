"""Nested article lists: an item's page of articles (an author's, a category's, a source's, a tag's), one
statement for the pages of every parent of a level and one for their totals, whichever the parent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from cms.content import articles, tags
from cms.content.filters import ArticleFilter as Filter
from cms.content.filters import ArticleOrder as Order
from cms.content.pagination import PageRequest
from cms.graphql.context import Context
from cms.graphql.fields import Columns, PerLevel
from cms.graphql.inputs import filter_of, order_of
from cms.graphql.pagination import Conn, conns_by_parent


def grouped(rows: Iterable[Any], key: str) -> dict[Any, list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, key)].append(row)
    return groups


@dataclass(frozen=True)
class ListShape:
    """What a nested article list asks, whichever its parent: one statement for all parents alike."""

    f: Filter | None
    order: Order
    page: PageRequest
    option: Hashable = None  # the source role, or whether a category includes its descendants


Links = Callable[[Hashable, list[str], Context], Any]
"""A nested list's links for its option and parents, and the keys they read (None: the parents)."""


def article_list(links_of: Links, option: Callable[[dict[str, Any]], Hashable] = lambda a: None) -> PerLevel:
    """A nested article connection of every parent of a level: one statement for their pages, and one for
    their totals if asked."""

    def shape(arguments: dict[str, Any]) -> ListShape:
        page = PageRequest.of(first=arguments.get("first"), after=arguments.get("after"))
        order = order_of(arguments.get("order_by"))
        return ListShape(filter_of(arguments.get("filter")), order, page, option(arguments))

    async def find(
        shape: ListShape, parents: list[str], context: Context, columns: Columns
    ) -> dict[str, Conn]:
        links, keys = await links_of(shape.option, parents, context)
        wanted = articles.COLUMNS if columns is None else articles.columns_for(columns)
        viewer, now = context.viewer, context.now
        read, sort = articles.linked_page_statement(
            links=links,
            parents=parents,
            viewer=viewer,
            now=now,
            f=shape.f,
            order=shape.order,
            page=shape.page,
            columns=wanted,
            keys=keys,
        )
        groups = grouped(await context.fetch(*read), "parent_key")
        count = articles.linked_count_statement(
            links=links, parents=parents, viewer=viewer, now=now, f=shape.f, keys=keys
        )
        return conns_by_parent(context, groups, parents, shape.page, sort, lambda: context.fetch(*count))

    return PerLevel(find, shape)


async def _by_author(option: Hashable, parents: list[str], context: Context) -> tuple[Any, None]:
    return articles.AUTHOR_LINKS, None


async def _by_category(
    option: Hashable, parents: list[str], context: Context
) -> tuple[Any, list[str] | None]:
    """One category's subtree comes from the request's category tree: its articles are then read by their
    categories' index, as a listed key each."""
    if option is False:
        return articles.category_links(False), None
    if len(parents) == 1:
        return articles.IN_CATEGORIES, (await context.category_tree()).subtree(parents[0])
    return articles.category_links(True), None


async def _by_source(option: Hashable, parents: list[str], context: Context) -> tuple[Any, None]:
    return articles.source_links(str(option) if option is not None else None), None


ARTICLES_BY_AUTHOR = article_list(_by_author)
ARTICLES_BY_CATEGORY = article_list(_by_category, lambda a: a.get("include_descendants") is not False)
ARTICLES_BY_SOURCE = article_list(_by_source, lambda a: a["role"].value if a.get("role") else None)


async def _by_tag(option: Hashable, parents: list[str], context: Context) -> tuple[Any, None]:
    return tags.LINKS, None


ARTICLES_BY_TAG = article_list(_by_tag)
