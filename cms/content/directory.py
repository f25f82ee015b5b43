"""Authors, sources and categories, read once per write so that thousands of references resolve in memory.

Whatever a write creates or changes is queued here and written in bulk by `flush`, with a change event
each. The matching rules (by id, slug or name; the slug of a new item) live here and nowhere else.
"""

from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import changes, previous_slugs
from cms.content.errors import BadInput
from cms.content.forms import email_problem, source_kind, url_problem
from cms.content.ids import new_id
from cms.content.records import AuthorRecord, CategoryRecord, EntityRecord, SourceRecord, SourceRef
from cms.content.slugs import check_slug, first_free, name_slug, slugify
from cms.models import Author, Category, Source, SourceKind, table_of

Outcome = Literal["created", "updated", "unchanged"]
Row = dict[str, Any]
_COLUMNS = {  # record field -> column, for what an entity record may set
    "slug": "slug",
    "name": "name",
    "bio": "bio",
    "avatar_url": "avatar_url",
    "email": "email",
    "kind": "kind",
    "url": "url",
    "description": "description",
}


@dataclass
class Kind:
    """The items of one table: by id, with lookups by slug and by name, and what this write changed."""

    typename: str
    table: Table
    rows: dict[str, Row] = field(default_factory=dict)
    by_slug: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    previous: dict[str, list[str]] = field(default_factory=dict)
    """Earlier slugs by id, where they are kept (categories: `content.previous_slugs`)."""
    by_previous: dict[str, str] = field(default_factory=dict)
    moved: list[str] = field(default_factory=list)
    """Ids whose earlier slugs this write changed."""

    def __post_init__(self) -> None:
        # slugs held, as slugs or earlier ones: no other item may take them
        self.taken = ChainMap(self.by_slug, self.by_previous)

    def index(self, row: Row) -> None:
        self.rows[row["id"]] = row
        self.by_slug[row["slug"]] = row["id"]
        self.by_name.setdefault(row["name"].casefold(), row["id"])

    def hold(self, item_id: str, earlier: list[str]) -> None:
        for slug in self.previous.pop(item_id, []):
            del self.by_previous[slug]
        if earlier:
            self.previous[item_id] = earlier
            self.by_previous |= dict.fromkeys(earlier, item_id)

    def own(self, ref: str) -> str | None:
        """The item with this id, or else with this slug."""
        return ref if ref in self.rows else self.by_slug.get(ref)

    def find(self, ref: str, *, existing_only: bool = False) -> str | None:
        """An id, or a slug or an earlier one; unless `existing_only`, also a name or what a name's slug
        would be."""
        found = self.own(ref) or self.by_previous.get(ref)
        if found or existing_only:
            return found
        label = ref.strip()
        slug = name_slug(label)
        return (self.by_slug.get(slug) if slug else None) or self.by_name.get(label.casefold())

    def free_slug(self, name: str, base: str | None = None) -> str:
        """A new item's slug: `base` (by default the name's), or the first free `-2`, `-3`... after it."""
        base = slugify(name) if base is None else base
        if not base:
            raise BadInput(f"the {self.typename.lower()} name {name!r} gives no slug")
        return first_free(base, self.taken)

    def fits(self, values: Row) -> Row:
        """`values`, if each text fits its column: PostgreSQL would refuse a longer one, SQLite keep it."""
        for column, value in values.items():
            known = column in _COLUMNS and column in self.table.c
            most = getattr(self.table.c[column].type, "length", None) if known else None
            if most and isinstance(value, str) and len(value) > most:
                raise BadInput(f"the {self.typename.lower()}'s {column} is longer than {most} characters")
        return values

    def create(self, row: Row) -> str:
        self.index(self.fits(row))
        self.created.append(row["id"])
        return str(row["id"])

    def slug(self, item_id: str) -> str:
        return str(self.rows[item_id]["slug"])


@dataclass
class Directory:
    now: datetime
    authors: Kind
    sources: Kind
    categories: Kind

    @classmethod
    async def load(cls, session: AsyncSession, now: datetime) -> Directory:
        kinds = []
        for typename, model in (("Author", Author), ("Source", Source), ("Category", Category)):
            table: Table = table_of(model)
            kind = Kind(typename, table)
            for row in (await session.execute(select(table))).mappings():
                kind.index(dict(row))
            kinds.append(kind)
        for item_id, earlier in (await previous_slugs.of_categories(session)).items():
            kinds[-1].hold(item_id, earlier)
        return cls(now, *kinds)

    def _new(self, typename: str, **values: Any) -> Row:
        return {"id": new_id(typename), "created_at": self.now, "updated_at": self.now, **values}

    def author(self, ref: str, *, existing_only: bool) -> str | None:
        """The author a byline names, created from the name when that is allowed."""
        found = self.authors.find(ref, existing_only=existing_only)
        if found or existing_only or not ref.strip():
            return found
        name = ref.strip()
        slug = self.authors.free_slug(name)
        row = self._new("Author", slug=slug, name=name, bio=None, avatar_url=None, email=None)
        return self.authors.create(row)

    def source(self, ref: SourceRef, *, existing_only: bool) -> str | None:
        """The source an attribution names, created (kind OTHER unless given) when that is allowed."""
        found = self.sources.find(ref.name, existing_only=existing_only)
        if found or existing_only or not ref.name.strip():
            return found
        kind = source_kind(ref.kind or SourceKind.OTHER.value)
        name = ref.name.strip()
        slug = self.sources.free_slug(name)
        return self.sources.create(self._new("Source", slug=slug, name=name, kind=kind, url=ref.source_url))

    def category(self, path: list[str], *, existing_only: bool) -> str | None:
        """With `existing_only`, the one category an id or slug names; otherwise walk a path of names or
        slugs from the root, creating missing levels. A new level takes its name's slug, or, when another
        branch holds that, its parent's slug in front (`world-culture`); when that is taken too, or too long
        to hold both, the first free `-2`, `-3`... after its name's (`culture-2`): category slugs are
        unique."""
        if existing_only:
            return self.categories.find(path[0], existing_only=True) if len(path) == 1 else None
        parent: str | None = None
        for label in (part.strip() for part in path):
            child = self._child(parent, label)
            if child is None:
                base = slugify(label)
                if base in self.categories.taken and parent:
                    prefixed = name_slug(f"{self.categories.slug(parent)} {label}")
                    base = prefixed if prefixed and prefixed not in self.categories.taken else base
                slug = self.categories.free_slug(label, base)
                child = self.categories.create(
                    self._new("Category", slug=slug, name=label, description=None, parent_id=parent)
                )
            parent = child
        return parent

    def _child(self, parent: str | None, label: str) -> str | None:
        """The child of `parent` with this name, or with this slug or earlier slug."""
        slugs = {label, name_slug(label)} - {""}
        for row in self.categories.rows.values():
            if row["parent_id"] == parent and (
                row["name"].casefold() == label.casefold()
                or not slugs.isdisjoint([row["slug"], *self.categories.previous.get(row["id"], [])])
            ):
                return str(row["id"])
        return None

    def put(self, record: EntityRecord) -> Outcome:
        """Upsert an author, source or category given in full (the NDJSON lines), matched by id or slug (a
        category's earlier slugs, kept with those a line gives, are no other item's)."""
        check_slug(record.slug)
        given = list(record.previous_slugs) if isinstance(record, CategoryRecord) else []
        for slug in given:
            check_slug(slug)
        kind, values = self._values(record)
        found = (kind.own(record.id) if record.id else None) or kind.own(record.slug)
        row = kind.rows[found] if found else None
        kept = kind.previous.get(found, []) if found else []
        old = row["slug"] if row and row["slug"] != values["slug"] else None
        earlier = previous_slugs.after([*kept, *given], old, values["slug"])
        for slug in (values["slug"], *earlier):
            if kind.taken.get(slug, found) != found:
                what = kind.typename.lower()
                raise BadInput(f"slug {slug!r} belongs to another {what}, as its slug or an earlier one")
        if row is None:
            found = kind.create(self._new(kind.typename, **values) | ({"id": record.id} if record.id else {}))
            outcome: Outcome = "created"
        elif earlier == kept and all(row[column] == value for column, value in values.items()):
            return "unchanged"
        else:
            assert found is not None
            if old is not None:
                del kind.by_slug[old]
            row.update(values, updated_at=self.now)
            kind.index(row)
            if found not in kind.created and found not in kind.updated:
                kind.updated.append(found)
            outcome = "updated"
        if earlier != kept:
            kind.hold(found, earlier)
            kind.moved.append(found)
        return outcome

    def _values(self, record: EntityRecord) -> tuple[Kind, Row]:
        values = {_COLUMNS[f.name]: getattr(record, f.name) for f in fields(record) if f.name in _COLUMNS}
        checks = {"avatar_url": url_problem, "email": email_problem, "url": url_problem}
        for column, problem in checks.items():
            if values.get(column) is not None and (message := problem(values[column])):
                raise BadInput(message)
        if isinstance(record, AuthorRecord):
            return self.authors, self.authors.fits(values)
        if isinstance(record, SourceRecord):
            source_kind(record.kind)
            return self.sources, self.sources.fits(values)
        parent = None
        if record.parent is not None:
            parent = self.categories.find(record.parent, existing_only=True)
            if parent is None:
                raise BadInput(f"unknown parent category {record.parent!r} (parents come first)")
            if self._descends(parent, record):
                raise BadInput(f"category {record.slug!r} cannot be inside itself")
        return self.categories, self.categories.fits(values) | {"parent_id": parent}

    def _descends(self, parent: str | None, record: CategoryRecord) -> bool:
        seen: set[str] = set()
        while parent and parent not in seen:
            row = self.categories.rows[parent]
            if row["id"] == record.id or row["slug"] == record.slug:
                return True
            seen.add(parent)
            parent = row["parent_id"]
        return False

    async def flush(self, session: AsyncSession, *, actor: str) -> None:
        """Write what was created or changed since the last flush, a few statements per table."""
        events: list[Row] = []
        for kind in (self.sources, self.authors, self.categories):
            if kind.created:
                await session.execute(insert(kind.table), [kind.rows[i] for i in kind.created])
            if kind.updated:
                columns = [c.name for c in kind.table.columns if c.name not in ("id", "created_at")]
                statement = (
                    update(kind.table)
                    .where(kind.table.c.id == bindparam("_id"))
                    .values({c: bindparam(c) for c in columns})
                )
                rows = [{"_id": i, **{c: kind.rows[i][c] for c in columns}} for i in kind.updated]
                await session.execute(statement, rows)
            if kind.moved:
                await previous_slugs.put_categories(
                    session, {i: kind.previous.get(i, []) for i in kind.moved}
                )
            events += [
                changes.event(kind.typename, i, now=self.now, actor=actor)
                for i in kind.created + kind.updated
            ]
            kind.created, kind.updated, kind.moved = [], [], []
        await changes.append(session, events)
