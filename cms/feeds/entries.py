"""What a feed shows of its articles, in either format: entries made once from the rows a feed read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cms.content.articles import cover_image_of, excerpt_of
from cms.content.categories import CategoryTree
from cms.content.urls import article_url


@dataclass(frozen=True, slots=True)
class Byline:
    name: str
    avatar_url: str | None


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    url: str
    title: str
    summary: str
    content_html: str
    language: str
    published: datetime
    updated: datetime
    authors: tuple[Byline, ...]
    category: str | None
    image: str | None


@dataclass(frozen=True, slots=True)
class Channel:
    """A feed: its title, the site it belongs to, its own address (`self_url`), its language when it lists
    one language, the publisher's logo, and its entries, newest first."""

    title: str
    description: str
    home: str
    self_url: str
    language: str | None
    logo: str | None
    entries: list[Entry]

    @property
    def updated(self) -> datetime | None:
        """When what the feed shows last changed: its newest entry's update (never the clock: the answer is
        a function of the content alone, so that its ETag names one body)."""
        return max((entry.updated for entry in self.entries), default=None)


def entries(rows: Sequence[Any], bylines: Sequence[Any], tree: CategoryTree, *, template: str) -> list[Entry]:
    """The rows as entries, in their order, with their bylines (rows of `article_id` and author columns, in
    byline order) and their category's name."""
    authors: dict[str, list[Byline]] = {}
    for byline in bylines:
        authors.setdefault(byline.article_id, []).append(Byline(byline.name, byline.avatar_url))
    made = []
    for row in rows:
        category = tree.by_id.get(row.category_id) if row.category_id else None
        image = cover_image_of(row)
        made.append(
            Entry(
                id=row.id,
                url=article_url(template, id=row.id, slug=row.slug, language=row.language),
                title=row.title,
                summary=excerpt_of(row),
                content_html=row.body_html,
                language=row.language,
                published=row.published_at,
                updated=row.updated_at,
                authors=tuple(authors.get(row.id, ())),
                category=category.name if category is not None else None,
                image=image.url if image is not None else None,
            )
        )
    return made
