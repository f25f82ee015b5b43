"""The category tree: subtrees for filters and nested lists, breadcrumbs, and creating paths on import."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content.ids import new_id
from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.slugs import slugify
from cms.models import Category


def subtree_ids(slug: str) -> Select[tuple[str]]:
    """Ids of the category with this slug and of all its descendants (a recursive CTE)."""
    tree = select(Category.id).where(Category.slug == slug).cte("subtree", recursive=True)
    tree = tree.union_all(select(Category.id).where(Category.parent_id == tree.c.id))
    return select(tree.c.id)


def subtree_pairs(root_ids: Iterable[str]) -> Select[tuple[str, str]]:
    """(root id, category id) for every given root and each of its descendants, itself included."""
    roots = select(Category.id.label("root_id"), Category.id.label("id")).where(  # type: ignore[attr-defined]
        Category.id.in_(list(root_ids))  # type: ignore[attr-defined]
    )
    tree = roots.cte("subtrees", recursive=True)
    tree = tree.union_all(
        select(tree.c.root_id, Category.id).where(Category.parent_id == tree.c.id)  # type: ignore[arg-type]
    )
    return select(tree.c.root_id, tree.c.id)


@dataclass
class CategoryTree:
    """All categories of one request, read in one statement: parent, children and path need no more SQL."""

    by_id: dict[str, Any]
    children_of: dict[str | None, list[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Sequence[Any]) -> CategoryTree:
        tree = cls(by_id={row.id: row for row in rows})
        for row in sorted(rows, key=lambda r: (r.name.lower(), r.slug)):
            tree.children_of.setdefault(row.parent_id, []).append(row)
        return tree

    def path(self, category_id: str) -> list[Any]:
        """Breadcrumbs, root first, self last."""
        path: list[Any] = []
        node = self.by_id.get(category_id)
        while node is not None and node not in path:
            path.append(node)
            node = self.by_id.get(node.parent_id) if node.parent_id else None
        return path[::-1]


def category_statement() -> Select[Any]:
    """Every category, the source of a request's CategoryTree."""
    return select(*Category.__table__.columns)  # type: ignore[attr-defined]


async def ensure_category_path(session: AsyncSession, *, names: Sequence[str], now: datetime) -> str:
    """Find or create each level of a path of names (or slugs) and return the id of the last.

    A new level takes the slug of its name; when another branch already holds that slug, the parent's
    slug is put in front (`world-culture`), since category slugs are unique across the tree.
    """
    parent: Category | None = None
    for name in names:
        label = name.strip()
        level = await _child(session, parent, label)
        if level is None:
            slug = slugify(label)
            if await session.scalar(select(Category.id).where(Category.slug == slug)) is not None:
                slug = slugify(f"{parent.slug} {label}") if parent else f"{slug}-{new_id('Category')[-6:]}"
            level = Category(
                id=new_id("Category"),
                slug=slug,
                name=label,
                parent_id=parent.id if parent else None,
                created_at=now,
                updated_at=now,
            )
            session.add(level)
            await session.flush()
        parent = level
    if parent is None:
        raise ValueError("a category path needs at least one name")
    return parent.id


async def _child(session: AsyncSession, parent: Category | None, label: str) -> Category | None:
    parent_id = parent.id if parent else None
    siblings = (
        await session.scalars(select(Category).where(Category.parent_id == parent_id))  # type: ignore[arg-type]
    ).all()
    for sibling in siblings:
        if sibling.name.lower() == label.lower() or sibling.slug == label or sibling.slug == slugify(label):
            return sibling
    return None


BY_NAME = SortKey("Category:NAME:ASC", Category.name, Category.id, descending=False)  # type: ignore[arg-type]


def _roots(roots_only: bool) -> ColumnElement[bool]:
    return Category.parent_id.is_(None) if roots_only else true()  # type: ignore[union-attr]


def page_statement(*, roots_only: bool, page: PageRequest) -> Select[Any]:
    return keyset_page(list(Category.__table__.columns), sort=BY_NAME, where=[_roots(roots_only)], page=page)  # type: ignore[attr-defined]


def count_statement(*, roots_only: bool) -> Select[Any]:
    return select(func.count()).select_from(Category).where(_roots(roots_only))
