"""Who may see what: the one predicate per entity that every read path applies."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, func, select, true
from sqlmodel import col

from cms.content.roles import Role, Viewer
from cms.models import Article, ArticleStatus


def can_preview(viewer: Viewer) -> bool:
    """PREVIEW and above read drafts, items in review, scheduled and archived articles."""
    return viewer.role.at_least(Role.PREVIEW)


def can_edit(viewer: Viewer) -> bool:
    return viewer.role.at_least(Role.EDITOR)


def can_administer(viewer: Viewer) -> bool:
    """ADMIN manages tokens and webhooks, and alone reads webhooks."""
    return viewer.role.at_least(Role.ADMIN)


def article_visible(viewer: Viewer, now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """The public reader sees an article only when it is PUBLISHED and its publishedAt has passed. `now` is
    the request's clock reading, or a parameter that will carry it (`reads.NOW`)."""
    if can_preview(viewer):
        return true()
    return and_(col(Article.status) == ArticleStatus.PUBLISHED.value, col(Article.published_at) <= now)


def held_back(now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    """PUBLISHED, and yet not seen by the public (`article_visible`): its publishedAt is ahead. The writes'
    counters count it (`content.counts`); the public's totals take it off. A PUBLISHED article always has a
    publishedAt (the one write's rule, `editing`), so this is one range of the visible-order index, the few
    rows held back, on both databases (PostgreSQL planned an unset publishedAt's branch, `OR published_at IS
    NULL`, as thousands of rows, and scanned every PUBLISHED one)."""
    return and_(col(Article.status) == ArticleStatus.PUBLISHED.value, col(Article.published_at) > now)


def next_public_change(now: BindParameter[Any]) -> Select[Any]:
    """The first instant after `now` at which what the public sees changes with no write: the earliest
    publishedAt of an article that `article_visible` holds back only for its time (an unset one is no
    instant)."""
    return select(func.min(col(Article.published_at))).where(held_back(now))


def public_sees(row: Mapping[str, Any] | None, now: datetime) -> bool:
    """`article_visible` for the public, on an article row in hand (a write knows the row before and after
    the change; asking the database again would cost a statement)."""
    if row is None or row["status"] != ArticleStatus.PUBLISHED.value:
        return False
    published_at = row["published_at"]
    return published_at is not None and published_at <= now


def first_public(
    kept: datetime | None, *, status: str, published_at: datetime | None, now: datetime
) -> datetime | None:
    """When the public first could see an article, after a write: the instant kept from before once it has
    passed (it was seen then, whatever happened since); else, for a published or archived article, its
    publishedAt (scheduled: the instant it will be seen); else never."""
    if kept is not None and kept <= now:
        return kept
    published = status in (ArticleStatus.PUBLISHED.value, ArticleStatus.ARCHIVED.value)
    return published_at if published else None


def author_email_visible(viewer: Viewer) -> bool:
    """Author emails are for editors only."""
    return can_edit(viewer)
