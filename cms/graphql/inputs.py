"""Input types of the read API and their mapping onto the domain's frozen filter and order values."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from cms.content import filters, tags
from cms.graphql.enums import ArticleStatus

ArticleOrderField = strawberry.enum(filters.OrderField, name="ArticleOrderField")
TagOrderField = strawberry.enum(tags.TagOrderField, name="TagOrderField")


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.input
class DateTimeRange:
    gt: datetime | None = None
    gte: datetime | None = None
    lt: datetime | None = None
    lte: datetime | None = None

    def to_domain(self) -> filters.DateRange:
        return filters.DateRange(gt=self.gt, gte=self.gte, lt=self.lt, lte=self.lte)


@strawberry.input
class StringMatch:
    eq: str | None = None
    in_: list[str] | None = strawberry.field(default=None, name="in")
    contains: str | None = None
    starts_with: str | None = None

    def to_domain(self) -> filters.StringMatch:
        in_ = tuple(self.in_) if self.in_ is not None else None
        return filters.StringMatch(eq=self.eq, in_=in_, contains=self.contains, starts_with=self.starts_with)


@strawberry.input
class ArticleFilter:
    status: list[ArticleStatus] | None = strawberry.field(
        default=None,
        description="The public reader only ever sees visible PUBLISHED articles, whatever is asked.",
    )
    search: str | None = strawberry.field(
        default=None, description="Full-text over title, subtitle, excerpt, body and tags (ranked)."
    )
    language: str | None = None
    tag: str | None = None
    category: str | None = strawberry.field(default=None, description="Category slug; includes descendants.")
    author: str | None = strawberry.field(default=None, description="Author slug.")
    source: str | None = strawberry.field(default=None, description="Source slug.")
    published_at: DateTimeRange | None = None
    updated_at: DateTimeRange | None = None
    title: StringMatch | None = None
    and_: list[ArticleFilter] | None = strawberry.field(default=None, name="and")
    or_: list[ArticleFilter] | None = strawberry.field(default=None, name="or")
    not_: ArticleFilter | None = strawberry.field(default=None, name="not")

    def to_domain(self) -> filters.ArticleFilter:
        def each(items: list[ArticleFilter] | None) -> tuple[filters.ArticleFilter, ...] | None:
            return tuple(item.to_domain() for item in items) if items is not None else None

        return filters.ArticleFilter(
            status=tuple(s.value for s in self.status) if self.status is not None else None,
            search=self.search,
            language=self.language,
            tag=self.tag,
            category=self.category,
            author=self.author,
            source=self.source,
            published_at=self.published_at.to_domain() if self.published_at else None,
            updated_at=self.updated_at.to_domain() if self.updated_at else None,
            title=self.title.to_domain() if self.title else None,
            and_=each(self.and_),
            or_=each(self.or_),
            not_=self.not_.to_domain() if self.not_ else None,
        )


@strawberry.input
class ArticleOrder:
    field: filters.OrderField = filters.OrderField.PUBLISHED_AT
    direction: OrderDirection = OrderDirection.DESC

    def to_domain(self) -> filters.ArticleOrder:
        return filters.ArticleOrder(field=self.field, descending=self.direction is OrderDirection.DESC)


@strawberry.input
class TagOrder:
    field: tags.TagOrderField = tags.TagOrderField.ARTICLE_COUNT
    direction: OrderDirection = OrderDirection.DESC

    def to_domain(self) -> tags.TagOrder:
        return tags.TagOrder(field=self.field, descending=self.direction is OrderDirection.DESC)


def filter_of(f: ArticleFilter | None) -> filters.ArticleFilter | None:
    """The domain's filter, held to its limits (`filters.checked`) before anything is read."""
    return filters.checked(f.to_domain()) if f is not None else None


def order_of(order: ArticleOrder | None) -> filters.ArticleOrder:
    return order.to_domain() if order is not None else filters.NEWEST_FIRST


def tag_order_of(order: TagOrder | None) -> tags.TagOrder:
    return order.to_domain() if order is not None else tags.MOST_USED
