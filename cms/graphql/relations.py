"""An article's relations read for every article of a level in one statement: bylines, sources, tags,
corrections and earlier slugs. Their fields (`nodes.Article`) and the JSON-LD built from them
(`graphql.jsonld`) take the same declarations, so both read them by the same rule."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from cms.content import articles, corrections, previous_slugs
from cms.content.reads import Read
from cms.graphql.context import Context
from cms.graphql.fields import Columns, PerLevel
from cms.graphql.lists import grouped


def _by_article(read: Callable[[list[str]], Read], convert: Callable[[Any], Any] | None = None) -> PerLevel:
    """A relation of every article of a level in one statement, in the statement's order."""

    async def find(
        shape: Hashable, ids: list[str], context: Context, columns: Columns
    ) -> dict[str, list[Any]]:
        groups = grouped(await context.fetch(*read(ids)), "article_id")
        if convert is None:
            return groups
        return {key: [convert(row) for row in rows] for key, rows in groups.items()}

    return PerLevel(find)


AUTHORS = _by_article(articles.authors_statement)
SOURCES = _by_article(articles.sources_statement)
TAGS = _by_article(articles.tags_statement, lambda row: row.tag)
CORRECTIONS = _by_article(corrections.statement)
PREVIOUS_SLUGS = _by_article(previous_slugs.statement, lambda row: row.slug)
