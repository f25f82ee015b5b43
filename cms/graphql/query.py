"""The root Query: single lookups, lists, `node` and `viewer`, each a thin call into `content`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from sqlalchemy import Select

from cms.content import articles, authors, categories, sources
from cms.content.ids import typename_of
from cms.content.lookups import by_id_or_slug
from cms.content.pagination import PageRequest, SortKey, page_of
from cms.content.reads import Read, by_keys
from cms.content.visibility import can_administer
from cms.graphql.admin import PlannerStats, Webhook, planner_stats
from cms.graphql.changes import ChangeFeed, change_feed
from cms.graphql.context import Info
from cms.graphql.enums import Role, SourceKind
from cms.graphql.inputs import ArticleFilter, ArticleOrder, filter_of, order_of
from cms.graphql.nodes import Article, Author, Category, Node, Source, with_relations
from cms.graphql.pagination import Connection, connection
from cms.models import Author as AuthorRow
from cms.models import Category as CategoryRow
from cms.models import Source as SourceRow
from cms.models import Webhook as WebhookRow

T = TypeVar("T")


@strawberry.type
class Viewer:
    role: Role
    token_name: str | None


async def _count(info: Info, statement: Select[Any] | Read) -> int:
    return int((await info.context.fetch(statement))[0][0])


async def _page(info: Info, statement: Select[Any] | Read, page: PageRequest) -> Any:
    return page_of(await info.context.fetch(statement), page)


async def _list(
    info: Info,
    page: PageRequest,
    statement: Select[Any] | Read,
    count: Select[Any] | Read,
    sort: SortKey,
    build: Callable[[Any], T],
) -> Connection[T]:
    """A root list: one page, and its total only when asked for."""
    return connection(await _page(info, statement, page), sort, build, lambda: _count(info, count))


async def _simple(info: Info, model: Any, id: str | None, slug: str | None) -> Any:
    """An author, category or source by id or slug; these have no hidden states."""
    rows = await info.context.fetch(by_id_or_slug(model, id=id, slug=slug))
    return rows[0] if rows else None


@strawberry.type
class Query:
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        loaders = info.context.loaders
        match typename_of(id):
            case "Article":
                row = await loaders.article_by_id.load(id)
                return (await with_relations(info, [Article.from_row(row)]))[0] if row else None
            case "Author":
                row = await loaders.author_by_id.load(id)
                return Author.from_row(row) if row else None
            case "Source":
                row = await loaders.source_by_id.load(id)
                return Source.from_row(row) if row else None
            case "Category":
                row = (await loaders.category_tree()).by_id.get(id)
                return Category.from_row(row) if row else None
            case "Webhook" if can_administer(info.context.viewer):
                rows = await info.context.fetch(*by_keys(WebhookRow.__table__, [id]))  # type: ignore[attr-defined]
                return Webhook.from_row(rows[0]) if rows else None
        return None

    @strawberry.field(description='By id, or by slug with a language (default "en").')
    async def article(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        slug: str | None = None,
        language: str | None = None,
    ) -> Article | None:
        ctx = info.context
        read = articles.lookup(id, slug, language, viewer=ctx.viewer, now=ctx.now)
        rows = await ctx.fetch(*read) if read else []
        return (await with_relations(info, [Article.from_row(rows[0])]))[0] if rows else None

    @strawberry.field
    async def articles(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
    ) -> Connection[Article]:
        ctx = info.context
        page = PageRequest.of(first=first, after=after, last=last, before=before)
        f = filter_of(filter)
        statement, sort = articles.page_statement(
            viewer=ctx.viewer, now=ctx.now, f=f, order=order_of(order_by), page=page
        )
        count = articles.count_statement(viewer=ctx.viewer, now=ctx.now, f=f)
        result = await _list(info, page, statement, count, sort, Article.from_row)
        await with_relations(info, result.nodes())
        return result

    @strawberry.field
    async def author(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Author | None:
        row = await _simple(info, AuthorRow, id, slug)
        return Author.from_row(row) if row else None

    @strawberry.field
    async def authors(
        self, info: Info, first: int | None = None, after: str | None = None, search: str | None = None
    ) -> Connection[Author]:
        page = PageRequest.of(first=first, after=after)
        return await _list(
            info,
            page,
            authors.page_statement(search=search, page=page),
            authors.count_statement(search=search),
            authors.BY_NAME,
            Author.from_row,
        )

    @strawberry.field
    async def category(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Category | None:
        row = await _simple(info, CategoryRow, id, slug)
        return Category.from_row(row) if row else None

    @strawberry.field
    async def categories(
        self, info: Info, first: int | None = None, after: str | None = None, roots_only: bool | None = False
    ) -> Connection[Category]:
        page = PageRequest.of(first=first, after=after)
        roots = bool(roots_only)
        return await _list(
            info,
            page,
            categories.page_statement(roots_only=roots, page=page),
            categories.count_statement(roots_only=roots),
            categories.BY_NAME,
            Category.from_row,
        )

    @strawberry.field
    async def source(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Source | None:
        row = await _simple(info, SourceRow, id, slug)
        return Source.from_row(row) if row else None

    @strawberry.field
    async def sources(
        self, info: Info, first: int | None = None, after: str | None = None, kind: SourceKind | None = None
    ) -> Connection[Source]:
        page = PageRequest.of(first=first, after=after)
        value = kind.value if kind else None
        return await _list(
            info,
            page,
            sources.page_statement(kind=value, page=page),
            sources.count_statement(kind=value),
            sources.BY_NAME,
            Source.from_row,
        )

    @strawberry.field(
        description="Since: the cursor of the previous call, or null for everything. first: 1..1000."
    )
    async def changes(self, info: Info, since: str | None = None, first: int | None = 100) -> ChangeFeed:
        return await change_feed(info, since=since, first=first)

    @strawberry.field(description="ADMIN only: reads the planner answered, and why others were not.")
    def planner(self, info: Info) -> PlannerStats | None:
        return planner_stats(info)

    @strawberry.field
    def viewer(self, info: Info) -> Viewer:
        viewer = info.context.viewer
        return Viewer(role=viewer.role, token_name=viewer.token_name)
