"""The category tree: subtrees for filters and nested lists, and breadcrumbs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, column, func, select, table, true, union_all
from sqlmodel import col

from cms.content.pagination import PageRequest, SortKey, keyset_page
from cms.content.reads import Read, in_keys
from cms.lru import LRU
from cms.models import Category, CategoryPreviousSlug, table_of

CATEGORY = table_of(Category)
EARLIER = table_of(CategoryPreviousSlug)


def subtree_ids(slug: str) -> Select[tuple[str]]:
    """Ids of the category with this slug (or earlier slug) and of all its descendants (a recursive CTE,
    nested in its subquery: a filter may name several categories, and top-level CTEs of one name would
    clash)."""
    named = union_all(
        select(CATEGORY.c.id).where(CATEGORY.c.slug == slug),
        select(EARLIER.c.category_id).where(EARLIER.c.slug == slug),
    )
    tree = select(named.subquery().c.id).cte("subtree", recursive=True, nesting=True)
    tree = tree.union_all(select(col(Category.id)).where(col(Category.parent_id) == tree.c.id))
    return select(tree.c.id)


def subtree_pairs() -> Select[tuple[str, str]]:
    """(root id, category id) for every root in the `keys` parameter and each of its descendants, itself
    included."""
    id_, parent_id = CATEGORY.c.id, CATEGORY.c.parent_id
    roots = select(id_.label("root_id"), id_.label("id")).where(in_keys(id_))
    tree = roots.cte("subtrees", recursive=True)
    tree = tree.union_all(select(tree.c.root_id, id_).where(parent_id == tree.c.id))
    return select(tree.c.root_id, tree.c.id)


@dataclass
class CategoryTree:
    """All categories as one request sees them (`read_tree`): parent, children and path need no SQL."""

    by_id: dict[str, Any]
    children_of: dict[str | None, list[Any]] = field(default_factory=dict)
    by_slug: dict[str, Any] = field(default_factory=dict)
    """By slug, and by earlier slug (`content.previous_slugs`), which finds a category as its slug does."""
    previous_of: dict[str, list[str]] = field(default_factory=dict)
    """Each category's earlier slugs, oldest first."""
    _paths: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, rows: Sequence[Any], earlier: Sequence[Any] = ()) -> CategoryTree:
        """The tree of `rows` (`TREE`), with their earlier slugs (`EARLIER_SLUGS`)."""
        tree = cls(by_id={row.id: row for row in rows}, by_slug={row.slug: row for row in rows})
        for row in sorted(rows, key=lambda r: (r.name.lower(), r.slug)):
            tree.children_of.setdefault(row.parent_id, []).append(row)
        for row in earlier:
            tree.previous_of.setdefault(row.category_id, []).append(row.slug)
            tree.by_slug.setdefault(row.slug, tree.by_id[row.category_id])
        return tree

    def path(self, category_id: str) -> list[Any]:
        """Breadcrumbs, root first, self last; made once per tree (a page of cards asks for each card's)."""
        if category_id not in self._paths:
            path: list[Any] = []
            node = self.by_id.get(category_id)
            while node is not None and node not in path:
                path.append(node)
                node = self.by_id.get(node.parent_id) if node.parent_id else None
            self._paths[category_id] = path[::-1]
        return self._paths[category_id]

    def subtree(self, category_id: str) -> list[str]:
        """The category's id and its descendants', level by level."""
        ids = [category_id] if category_id in self.by_id else []
        for id_ in ids:  # grows as it is walked
            ids.extend(child.id for child in self.children_of.get(id_, []) if child.id not in ids)
        return ids


TREE_COLUMNS = ("id", "slug", "name", "description", "parent_id")


TREE = Read(select(*(table_of(Category).c[name] for name in TREE_COLUMNS)), {})
"""Every category: what the API shows of one (no timestamps, whose conversion would cost two datetimes a
category)."""
EARLIER_SLUGS = Read(
    select(EARLIER.c.category_id, EARLIER.c.slug).order_by(EARLIER.c.category_id, EARLIER.c.position), {}
)
"""Every category's earlier slugs."""
TREE_TOKEN = Read(select(column("token")).select_from(table("category_version")), {})
"""The token of the category tables' present state (migrations 0008 and 0016: triggers change it with
them)."""
TREES_KEPT = 8
_trees: LRU[str, CategoryTree] = LRU(TREES_KEPT)


async def read_tree(
    fetch: Callable[[Read], Awaitable[Sequence[Any]]], token: str | None = None
) -> CategoryTree:
    """The category tree in the caller's snapshot: its token (read unless the caller read it in the same
    snapshot: `versions.TOKENS`), then the tree kept for that token, or read and kept. Reading and indexing
    the categories costs more than the rest of an article page's statements; the token, one short row."""
    token = token or (await fetch(TREE_TOKEN))[0].token
    tree = _trees.get(token)
    if tree is None:
        tree = _trees[token] = CategoryTree.of(await fetch(TREE), await fetch(EARLIER_SLUGS))
    return tree


BY_NAME = SortKey("Category:NAME:ASC", CATEGORY.c.name, CATEGORY.c.id, descending=False)


def _roots(roots_only: bool) -> ColumnElement[bool]:
    return CATEGORY.c.parent_id.is_(None) if roots_only else true()


def page_statement(*, roots_only: bool, page: PageRequest) -> Select[Any]:
    return keyset_page(list(table_of(Category).columns), sort=BY_NAME, where=[_roots(roots_only)], page=page)


def count_statement(*, roots_only: bool) -> Select[Any]:
    return select(func.count()).select_from(Category).where(_roots(roots_only))
