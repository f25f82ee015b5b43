"""The root Query: single lookups, lists, `node` and `viewer`, each found by one declaration (`Found`) that
both engines run, a thin call into `content`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import strawberry

from cms.content import articles, authors, categories, languages, nodes, sources, tags
from cms.content.keys import ARTICLES as ARTICLES_KEY
from cms.content.lookups import by_id_or_slug, require_one_of
from cms.content.pagination import PageRequest, SortKey
from cms.content.reads import Read
from cms.graphql.admin import PlannerStats, planner_stats
from cms.graphql.changes import CHANGES, ChangeFeed
from cms.graphql.context import Context, Info
from cms.graphql.enums import Role, SourceKind
from cms.graphql.fields import Columns, Computed, Found, nodes_seen, plan
from cms.graphql.inputs import ArticleFilter, ArticleOrder, TagOrder, filter_of, order_of, tag_order_of
from cms.graphql.nodes import Article, Author, Category, Node, Source, Tag
from cms.graphql.pagination import Conn, Connection, root_conn
from cms.graphql.plan.shapes import Tagged
from cms.models import Author as AuthorRow
from cms.models import Source as SourceRow


@strawberry.type(name="Viewer")
class ViewerType:
    """The object is the request's `content.roles.Viewer`."""

    role: Role
    token_name: str | None


async def _first(context: Context, read: Read | Any) -> Any:
    rows = await context.fetch(read)
    return rows[0] if rows else None


async def _node(arguments: dict[str, Any], context: Context, columns: Columns) -> Tagged | None:
    found = await nodes_seen(context, nodes.candidates(arguments["id"]))
    return next(iter(found.values()), None)


async def _article(arguments: dict[str, Any], context: Context, columns: Columns) -> Any:
    read = articles.lookup(
        arguments.get("id"),
        arguments.get("slug"),
        arguments.get("language"),
        viewer=context.viewer,
        now=context.now,
        columns=articles.COLUMNS if columns is None else articles.columns_for(columns),
        fallbacks=arguments.get("fallback_languages"),
    )
    return await _first(context, read) if read else None


def _simple(model: Any) -> Found:
    """An author or source by id or slug; these have no hidden states."""

    async def find(arguments: dict[str, Any], context: Context, columns: Columns) -> Any:
        return await _first(context, by_id_or_slug(model, id=arguments.get("id"), slug=arguments.get("slug")))

    return Found(find)


async def _category(arguments: dict[str, Any], context: Context, columns: Columns) -> Any:
    """From the request's category tree, which its path, children and articles read anyway."""
    id_, slug = arguments.get("id"), arguments.get("slug")
    require_one_of(id_, slug)
    tree = await context.category_tree()
    return tree.by_id.get(id_) if id_ is not None else tree.by_slug.get(str(slug))


async def _articles(arguments: dict[str, Any], context: Context, columns: Columns) -> Conn:
    page = PageRequest.of(
        first=arguments.get("first"),
        after=arguments.get("after"),
        last=arguments.get("last"),
        before=arguments.get("before"),
    )
    f, viewer, now = filter_of(arguments.get("filter")), context.viewer, context.now
    fallbacks = arguments.get("fallback_languages")
    statement, sort = articles.page_statement(
        viewer=viewer,
        now=now,
        f=f,
        order=order_of(arguments.get("order_by")),
        page=page,
        columns=articles.COLUMNS if columns is None else articles.columns_for(columns),
        fallbacks=fallbacks,
    )
    count = articles.count_statement(viewer=viewer, now=now, f=f, fallbacks=fallbacks)
    return root_conn(context, await context.fetch(statement), page, sort, lambda: _count(context, count))


async def _count(context: Context, statement: Any) -> int:
    return int((await context.fetch(statement))[0][0])


async def _tag(arguments: dict[str, Any], context: Context, columns: Columns) -> Any:
    context.depends(ARTICLES_KEY)
    return await _first(
        context, tags.by_slug_statement(arguments["slug"], viewer=context.viewer, now=context.now)
    )


async def _tags(arguments: dict[str, Any], context: Context, columns: Columns) -> Conn:
    context.depends(ARTICLES_KEY)
    page = PageRequest.of(first=arguments.get("first"), after=arguments.get("after"))
    viewer, now, search = context.viewer, context.now, arguments.get("search")
    order = tag_order_of(arguments.get("order_by"))
    read, sort = tags.page_statement(viewer=viewer, now=now, search=search, order=order, page=page)
    count = tags.count_statement(viewer=viewer, now=now, search=search)
    return root_conn(context, await context.fetch(*read), page, sort, lambda: _count(context, count))


def _listed(module: Any, argument: str, convert: Callable[[Any], Any], sort: SortKey) -> Found:
    """`authors`, `categories`, `sources`: a page by name, narrowed by one argument."""

    async def find(arguments: dict[str, Any], context: Context, columns: Columns) -> Conn:
        page = PageRequest.of(first=arguments.get("first"), after=arguments.get("after"))
        narrowed = {argument: convert(arguments.get(argument))}
        count = module.count_statement(**narrowed)
        rows = await context.fetch(module.page_statement(**narrowed, page=page))
        return root_conn(context, rows, page, sort, lambda: _count(context, count))

    return Found(find)


VIEWER = Computed(lambda root, context: context.viewer)
NODE = Found(_node)
ARTICLE = Found(_article)
ARTICLES = Found(_articles)
AUTHOR = _simple(AuthorRow)
AUTHORS = _listed(authors, "search", lambda search: search, authors.BY_NAME)
CATEGORY = Found(_category)
CATEGORIES = _listed(categories, "roots_only", bool, categories.BY_NAME)
SOURCE = _simple(SourceRow)
SOURCES = _listed(sources, "kind", lambda kind: kind.value if kind else None, sources.BY_NAME)
TAG = Found(_tag)
TAGS = Found(_tags)


FALLBACKS = Annotated[
    list[str] | None,
    strawberry.argument(
        description=f"Languages to fall back to, in order: at most {languages.MAX_FALLBACKS} language tags."
    ),
]
STORY_FALLBACKS = Annotated[
    list[str] | None,
    strawberry.argument(
        description=(
            "With filter.language: each story (an article and its translations) once, in filter.language (or"
            " its primary language) where it has a visible version in it, else in the first of these it has;"
            " the rest of the filter and the order apply to that version, and totalCount counts stories. At"
            f" most {languages.MAX_FALLBACKS} language tags."
        )
    ),
]


@strawberry.type
class Query:
    @strawberry.field(metadata=plan(NODE))
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return await NODE.resolve(info, id=id)

    @strawberry.field(
        description=(
            'By id, or by slug with a language (default "en") and fallbacks: the story found by the slug in'
            " the first of the language, its primary language (en-GB: en) and each fallback (and its"
            " primary) that has it, in the first of those languages it has a visible version in. Language"
            ' tags compare ignoring case ("EN" is "en").'
        ),
        metadata=plan(ARTICLE),
    )
    async def article(
        self,
        info: Info,
        id: strawberry.ID | None = None,
        slug: str | None = None,
        language: str | None = None,
        fallback_languages: FALLBACKS = None,
    ) -> Article | None:
        return await ARTICLE.resolve(
            info, id=id, slug=slug, language=language, fallback_languages=fallback_languages
        )

    @strawberry.field(metadata=plan(ARTICLES))
    async def articles(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
        fallback_languages: STORY_FALLBACKS = None,
    ) -> Connection[Article]:
        return await ARTICLES.resolve(
            info,
            first=first,
            after=after,
            last=last,
            before=before,
            filter=filter,
            order_by=order_by,
            fallback_languages=fallback_languages,
        )

    @strawberry.field(metadata=plan(AUTHOR))
    async def author(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Author | None:
        return await AUTHOR.resolve(info, id=id, slug=slug)

    @strawberry.field(metadata=plan(AUTHORS))
    async def authors(
        self, info: Info, first: int | None = None, after: str | None = None, search: str | None = None
    ) -> Connection[Author]:
        return await AUTHORS.resolve(info, first=first, after=after, search=search)

    @strawberry.field(metadata=plan(CATEGORY))
    async def category(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Category | None:
        return await CATEGORY.resolve(info, id=id, slug=slug)

    @strawberry.field(metadata=plan(CATEGORIES))
    async def categories(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        roots_only: bool | None = False,
    ) -> Connection[Category]:
        return await CATEGORIES.resolve(info, first=first, after=after, roots_only=roots_only)

    @strawberry.field(metadata=plan(SOURCE))
    async def source(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Source | None:
        return await SOURCE.resolve(info, id=id, slug=slug)

    @strawberry.field(metadata=plan(SOURCES))
    async def sources(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        kind: SourceKind | None = None,
    ) -> Connection[Source]:
        return await SOURCES.resolve(info, first=first, after=after, kind=kind)

    @strawberry.field(
        description="Null when no article visible to the caller carries it.", metadata=plan(TAG)
    )
    async def tag(self, info: Info, slug: str) -> Tag | None:
        return await TAG.resolve(info, slug=slug)

    @strawberry.field(
        description="Search: in tag names, ignoring case. Counts are of the caller's visible articles.",
        metadata=plan(TAGS),
    )
    async def tags(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
        order_by: TagOrder | None = None,
    ) -> Connection[Tag]:
        return await TAGS.resolve(info, first=first, after=after, search=search, order_by=order_by)

    @strawberry.field(
        description="Since: the cursor of the previous call, or null for everything. first: 1..1000.",
        metadata=plan(CHANGES),
    )
    async def changes(self, info: Info, since: str | None = None, first: int | None = 100) -> ChangeFeed:
        return await CHANGES.resolve(info, since=since, first=first)

    @strawberry.field(description="ADMIN only: reads the planner answered, and why others were not.")
    def planner(self, info: Info) -> PlannerStats | None:
        return planner_stats(info)

    @strawberry.field(metadata=plan(VIEWER))
    def viewer(self, info: Info) -> ViewerType:
        return VIEWER.get(None, info.context)
