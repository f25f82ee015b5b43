"""Tags as items (`content.tags`): the Tag type (`tag` and `tags` are the root Query's). A Tag's object is a
row of a tag statement: a tag found or listed comes with its count, an article's (`Article.tagList`) is
counted only if asked, for all of a level's tags in one statement."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import strawberry

from cms.content import tags
from cms.graphql.context import Context, Info
from cms.graphql.fields import Columns, PerLevel, plan
from cms.graphql.inputs import ArticleFilter, ArticleOrder
from cms.graphql.nodes import Article, article_list
from cms.graphql.pagination import Connection


async def _counts(shape: Hashable, slugs: list[str], context: Context, columns: Columns) -> dict[str, int]:
    read = tags.counts_statement(slugs, viewer=context.viewer, now=context.now)
    return dict(await context.fetch(*read))


ARTICLE_COUNT = PerLevel(
    _counts,
    key="uncounted",
    default=lambda: 0,
    pick=lambda row, found: row.article_count if row.uncounted is None else found,
)


async def _by_tag(option: Hashable, parents: list[str], context: Context) -> tuple[Any, None]:
    return tags.LINKS, None


ARTICLES_BY_TAG = article_list(_by_tag)


@strawberry.type
class Tag:
    slug: str
    name: str = strawberry.field(
        description="As visible articles write it: the smallest of their spellings (tagList: the article's)."
    )
    article_count: int = ARTICLE_COUNT.field(description="Visible to the caller, like every count.")

    @strawberry.field(metadata=plan(ARTICLES_BY_TAG))
    async def articles(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: ArticleFilter | None = None,
        order_by: ArticleOrder | None = None,
    ) -> Connection[Article]:
        return await ARTICLES_BY_TAG.resolve(
            self, info, first=first, after=after, filter=filter, order_by=order_by
        )
