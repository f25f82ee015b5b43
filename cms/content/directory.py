"""Authors, sources and categories, read once per write so that thousands of references resolve in memory.

Whatever a write creates or changes is queued here and written in bulk by `flush`, with a change event
each. The matching rules (by id, slug or name; the slug of a new item) live here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import changes
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

    def index(self, row: Row) -> None:
        self.rows[row["id"]] = row
        self.by_slug[row["slug"]] = row["id"]
        self.by_name.setdefault(row["name"].casefold(), row["id"])

    def find(self, ref: str, *, existing_only: bool = False) -> str | None:
        """An id, or a slug; unless `existing_only`, also a name or what a name's slug would be."""
        if ref in self.rows:
            return ref
        if ref in self.by_slug:
            return self.by_slug[ref]
        if existing_only:
            return None
        label = ref.strip()
        slug = name_slug(label)
        return (self.by_slug.get(slug) if slug else None) or self.by_name.get(label.casefold())

    def free_slug(self, name: str, base: str | None = None) -> str:
        """A new item's slug: `base` (by default the name's), or the first free `-2`, `-3`... after it."""
        base = slugify(name) if base is None else base
        if not base:
            raise BadInput(f"the {self.typename.lower()} name {name!r} gives no slug")
        return first_free(base, self.by_slug)

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
                if base in self.categories.by_slug and parent:
                    prefixed = name_slug(f"{self.categories.slug(parent)} {label}")
                    base = prefixed if prefixed and prefixed not in self.categories.by_slug else base
                slug = self.categories.free_slug(label, base)
                child = self.categories.create(
                    self._new("Category", slug=slug, name=label, description=None, parent_id=parent)
                )
            parent = child
        return parent

    def _child(self, parent: str | None, label: str) -> str | None:
        slugs = {label, name_slug(label)} - {""}
        for row in self.categories.rows.values():
            if row["parent_id"] == parent and (
                row["name"].casefold() == label.casefold() or row["slug"] in slugs
            ):
                return str(row["id"])
        return None

    def put(self, record: EntityRecord) -> Outcome:
        """Upsert an author, source or category given in full (the NDJSON lines), matched by id or slug."""
        check_slug(record.slug)
        kind, values = self._values(record)
        found = kind.find(record.id, existing_only=True) if record.id else None
        found = found or kind.find(record.slug, existing_only=True)
        if found is None:
            kind.create(self._new(kind.typename, **values) | ({"id": record.id} if record.id else {}))
            return "created"
        row = kind.rows[found]
        if all(row[column] == value for column, value in values.items()):
            return "unchanged"
        if row["slug"] != values["slug"]:
            if values["slug"] in kind.by_slug:
                raise BadInput(f"slug {values['slug']!r} belongs to another {kind.typename.lower()}")
            del kind.by_slug[row["slug"]]
        row.update(values, updated_at=self.now)
        kind.index(row)
        if found not in kind.created and found not in kind.updated:
            kind.updated.append(found)
        return "updated"

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
            events += [
                changes.event(kind.typename, i, now=self.now, actor=actor)
                for i in kind.created + kind.updated
            ]
            kind.created, kind.updated = [], []
        await changes.append(session, events)
