"""`Article.jsonLd`: the NewsArticle (`content.jsonld`) from what the article's fields read, by their own
declarations: its bylines, sources, tags and corrections in one statement each for a level of articles
(Strawberry's loaders are the very ones of those fields), its category from the request's tree."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import strawberry

from cms.content.categories import CategoryTree
from cms.content.jsonld import Publisher, news_article
from cms.content.urls import article_url
from cms.graphql.context import Context, Info
from cms.graphql.fields import plan
from cms.graphql.plan.compiler import Compiler, Selected
from cms.graphql.plan.shapes import Fetched, Run, Slot
from cms.graphql.relations import AUTHORS, CORRECTIONS, SOURCES, TAGS

COLUMNS = (
    "id",
    "slug",
    "language",
    "title",
    "first_published_at",
    "updated_at",
    "category_id",
    "cover_image",
)
"""The article's own columns the document says."""
PARTS = (AUTHORS, SOURCES, TAGS, CORRECTIONS)


def url_of(row: Any, context: Context) -> str | None:
    """The article's public URL, when the site has a template (`CMS_ARTICLE_URL`)."""
    template = context.settings.article_url
    if template is None:
        return None
    return article_url(template, id=row.id, slug=row.slug, language=row.language)


def _built(row: Any, context: Context, tree: CategoryTree, parts: Sequence[list[Any]]) -> str:
    """The document; the authors, sources and category it names are items the answer depends on."""
    authors, sources, tags, corrections = parts
    category = tree.by_id.get(row.category_id) if row.category_id else None
    context.saw("Author", authors)
    context.saw("Source", sources)
    if category is not None:
        context.saw("Category", (category,))
    settings = context.settings
    return news_article(
        row,
        url=url_of(row, context),
        publisher=Publisher(settings.publisher_name, settings.publisher_logo_url),
        authors=authors,
        sources=sources,
        tags=tags,
        corrections=corrections,
        section=None if category is None else category.name,
    )


@dataclass(frozen=True, eq=False)
class JsonLd:
    """The planner's: each part read once for the level's articles, then every document built."""

    def compile(self, compiler: Compiler, selected: Selected) -> Slot:
        async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
            context = run.context
            ids = list(dict.fromkeys(obj.id for obj in objects))
            found = [await part.find(None, ids, context, None) for part in PARTS]
            tree = await context.category_tree()
            return {
                id(obj): _built(obj, context, tree, [part.get(obj.id, []) for part in found])
                for obj in objects
            }

        return Fetched(selected.key, fetch, columns=COLUMNS)

    def field(self, *, description: str) -> Any:
        async def resolve(root: Any, info: Info) -> str:
            context = info.context
            parts = await asyncio.gather(*(part.load(context, root.id) for part in PARTS))
            return _built(root, context, await context.category_tree(), parts)

        return strawberry.field(resolver=resolve, description=description, metadata=plan(self))


JSON_LD = JsonLd()
