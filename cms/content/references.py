"""Writing what articles refer to: authors, categories and sources, one item a call, in the caller's
transaction.

The three differ only in their table, their optional text fields and what may use them (`Entity`); checks,
slugs, the race with other writers and change events are one code path. Every problem of one input is
reported at once (InvalidInput), before anything is written. In an input a field that is absent (None) stays
as it is, and an empty string clears an optional field or, for `slug`, derives it from the name again. An
update that changes nothing writes nothing: no new updatedAt, no change event.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Executable,
    Row,
    Select,
    Table,
    delete,
    distinct,
    func,
    insert,
    select,
    text,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from cms.content import changes, previous_slugs
from cms.content.categories import subtree_ids
from cms.content.errors import BadInput, FieldError, InvalidInput
from cms.content.forms import NUL, email_problem, nul_errors, source_kind, url_problem
from cms.content.ids import new_id
from cms.content.slugs import MAX_SLUG, check_slug, first_free, may_be_taken, slugify
from cms.models import Article, ArticleAuthor, ArticleSource, Author, Category, Source, SourceKind, table_of

T = TypeVar("T")
Values = Mapping[str, Any]
"""An input: field name (as in the model: `avatar_url`) -> value, None for "leave as it is"."""
Part = tuple[dict[str, Any], list[FieldError]]
"""Some columns to write, or the problems that keep them from being written."""
Resolver = Callable[[AsyncSession, Values, Row[Any] | None], Awaitable[Part]]

LONG_TEXT = 10_000
"""The most characters of a bio or description (their columns have no length of their own)."""
ATTEMPTS = 3
"""Writes tried before a constraint's refusal is let through: each retry follows a concurrent commit."""
TREE_LOCK = 7_212_002
"""PostgreSQL advisory lock held while a category moves: two moves checked at once could make a cycle."""


@dataclass(frozen=True)
class TextField:
    """An optional text field: its column, its name in the API (the path of its errors) and its form."""

    column: str
    label: str
    problem: Callable[[str], str | None] | None = None


@dataclass(frozen=True)
class Use:
    """A column that refers to an item: while a row holds its id, the item cannot be deleted. `counted` says
    what the message counts (an article citing a source twice is one article)."""

    column: ColumnElement[Any]
    counted: ColumnElement[Any]
    what: str


@dataclass(frozen=True)
class Entity:
    typename: str
    table: Table
    optional: tuple[TextField, ...]
    uses: tuple[Use, ...]
    resolve: Resolver | None = None
    """Fields beyond name, slug and optional texts: a category's parent, a source's kind."""
    keeps_slugs: bool = False
    """Its earlier slugs are kept (`content.previous_slugs`): a category's."""

    def limit(self, column: str) -> int:
        length = self.table.c[column].type.length  # type: ignore[attr-defined]
        return int(length) if length else LONG_TEXT


async def create_item(
    session: AsyncSession, *, entity: Entity, values: Values, now: datetime, actor: str
) -> Row[Any]:
    """Create one item from an input; a name is required, the slug derived from it when not given."""
    item_id = new_id(entity.typename)

    async def check() -> dict[str, Any]:
        return await _checked(session, entity, values, None)

    def write(row: dict[str, Any]) -> Executable:
        return insert(entity.table).values({**row, "id": item_id, "created_at": now, "updated_at": now})

    await _until_written(session, check, write)
    await changes.append(session, [changes.event(entity.typename, item_id, now=now, actor=actor)])
    return await _current(session, entity, item_id)


async def update_item(
    session: AsyncSession, *, entity: Entity, id: str, values: Values, now: datetime, actor: str
) -> Row[Any]:
    """Change the fields an input gives of the item with this id; nothing when they are as they were."""
    current = await _current(session, entity, id)

    async def check() -> dict[str, Any]:
        return await _checked(session, entity, values, current)

    def write(changed: dict[str, Any]) -> Executable | None:
        table = entity.table
        return (
            update(table).where(table.c.id == id).values({**changed, "updated_at": now}) if changed else None
        )

    changed = await _until_written(session, check, write)
    if not changed:
        return current
    if entity.keeps_slugs and "slug" in changed:
        kept = (await previous_slugs.of_categories(session, id)).get(id, [])
        earlier = previous_slugs.after(kept, current.slug, changed["slug"])
        await previous_slugs.put_categories(session, {id: earlier})
    await changes.append(session, [changes.event(entity.typename, id, now=now, actor=actor)])
    return await _current(session, entity, id)


async def delete_item(session: AsyncSession, *, entity: Entity, id: str, now: datetime, actor: str) -> str:
    """Delete the item with this id, refused (IN_USE) while anything refers to it."""
    await _current(session, entity, id)

    async def check() -> None:
        if errors := await _in_use(session, entity, id):
            raise InvalidInput(errors)

    await _until_written(session, check, lambda _: delete(entity.table).where(entity.table.c.id == id))
    await changes.append(session, [changes.event(entity.typename, id, now=now, actor=actor, action="DELETE")])
    return id


async def _until_written(
    session: AsyncSession, check: Callable[[], Awaitable[T]], write: Callable[[T], Executable | None]
) -> T:
    """Check, then write in a savepoint. The checks read committed data, so when a unique or foreign key
    refuses the write, a concurrent transaction committed in between: the checks run again and now name the
    problem (SLUG_TAKEN, NOT_FOUND, IN_USE) or, for a derived slug, find the next free one."""
    attempt = 1
    while True:
        checked = await check()
        statement = write(checked)
        try:
            if statement is not None:
                async with session.begin_nested():
                    await session.execute(statement)
        except IntegrityError:
            if attempt == ATTEMPTS:
                raise
            attempt += 1
        else:
            return checked


async def _current(session: AsyncSession, entity: Entity, id: str) -> Row[Any]:
    row = (
        None  # no item has it, and PostgreSQL would refuse the statement
        if NUL in id
        else (await session.execute(select(entity.table).where(entity.table.c.id == id))).one_or_none()
    )
    if row is None:
        raise InvalidInput([FieldError(("id",), "NOT_FOUND", f"no {entity.typename.lower()} with id {id!r}")])
    return row


async def _checked(
    session: AsyncSession, entity: Entity, values: Values, current: Row[Any] | None
) -> dict[str, Any]:
    """The columns an input sets that differ from `current` (all of them on create); InvalidInput with every
    problem otherwise."""
    labels = {field.column: field.label for field in entity.optional}
    if nul := [
        e for key, value in values.items() for e in nul_errors(value, ("input", labels.get(key, key)))
    ]:
        raise InvalidInput(nul)  # before the slug or the parent is looked up: PostgreSQL refuses NUL
    row, errors = _texts(entity, values, current is None)
    parts = [await _slug(session, entity, values.get("slug"), row.get("name"), current)]
    if entity.resolve:
        parts.append(await entity.resolve(session, values, current))
    for columns, problems in parts:
        row |= columns
        errors += problems
    if errors:
        raise InvalidInput(errors)
    return {
        column: value for column, value in row.items() if current is None or current._mapping[column] != value
    }


def _texts(entity: Entity, values: Values, create: bool) -> Part:
    """The name (required on create, never blank) and the optional texts: limits and forms."""
    errors: list[FieldError] = []
    row: dict[str, Any] = {}
    name = values.get("name")
    if name is not None or create:
        row["name"] = name = (name or "").strip()
        if not name:
            errors.append(FieldError(("input", "name"), "REQUIRED", "a name is required"))
        errors += _too_long(entity, "name", "name", name)
    for field in entity.optional:
        value = values.get(field.column)
        if value is None:
            continue
        row[field.column] = value = (value.strip() if field.problem else value) if value.strip() else None
        errors += _too_long(entity, field.column, field.label, value)
        if value is not None and field.problem and (problem := field.problem(value)):
            errors.append(FieldError(("input", field.label), "INVALID", problem))
    return row, errors


def _too_long(entity: Entity, column: str, label: str, value: str | None) -> list[FieldError]:
    most = entity.limit(column)
    if value is None or len(value) <= most:
        return []
    return [FieldError(("input", label), "TOO_LONG", f"{label} is longer than {most:,} characters")]


async def _slug(
    session: AsyncSession, entity: Entity, given: str | None, name: str | None, current: Row[Any] | None
) -> Part:
    """The slug given, which must be free; else (absent on create, or "") the name's, made free with a
    numeric suffix (`-2`, `-3`...) when another item holds it."""
    own = current.id if current is not None else None
    if given:
        if len(given) > MAX_SLUG:
            return {}, [
                FieldError(("input", "slug"), "TOO_LONG", f"slug is longer than {MAX_SLUG} characters")
            ]
        try:
            check_slug(given)
        except BadInput as error:
            return {}, [FieldError(("input", "slug"), "INVALID", error.message)]
        if given in await _taken(session, entity, given, own):
            had = " (or had)" if entity.keeps_slugs else ""
            message = f"another {entity.typename.lower()} has{had} the slug {given!r}"
            return {}, [FieldError(("input", "slug"), "SLUG_TAKEN", message)]
        return {"slug": given}, []
    if given is None and current is not None:
        return {}, []
    name = name if name is not None else current.name if current is not None else ""
    base = slugify(name)
    if not base:
        problem = (
            [FieldError(("input", "slug"), "INVALID", "the name gives no slug: set one")] if name else []
        )
        return {}, problem
    return {"slug": first_free(base, await _taken(session, entity, base, own))}, []


async def _taken(session: AsyncSession, entity: Entity, base: str, own: str | None) -> set[str]:
    """The slugs `first_free(base, ...)` needs to know of (`base` among them), held by items other than
    `own`, as their slugs or, where they are kept, earlier ones."""
    slug = entity.table.c.slug
    others = [entity.table.c.id != own] if own is not None else []
    statement: Select[Any] | CompoundSelect = select(slug).where(may_be_taken(slug, base), *others)
    if entity.keeps_slugs:
        statement = union(statement, previous_slugs.taken_category_slugs(base, own))
    return set((await session.execute(statement)).scalars())


async def _in_use(session: AsyncSession, entity: Entity, id: str) -> list[FieldError]:
    """What still refers to the item, counted in one statement."""
    counts = [
        select(func.count(distinct(use.counted))).where(use.column == id).scalar_subquery()
        for use in entity.uses
    ]
    found = (await session.execute(select(*counts))).one()
    return [
        FieldError(("id",), "IN_USE", f"in use: {use.what}: {count}")
        for use, count in zip(entity.uses, found, strict=True)
        if count
    ]


async def _source_kind_of(session: AsyncSession, values: Values, current: Row[Any] | None) -> Part:
    """A source's kind: OTHER when a new source gives none, as imports do."""
    kind = values.get("kind")
    if kind is None:
        return ({"kind": SourceKind.OTHER.value} if current is None else {}), []
    try:
        return {"kind": source_kind(str(kind))}, []
    except BadInput as error:
        return {}, [FieldError(("input", "kind"), "INVALID", error.message)]


async def _category_parent(session: AsyncSession, values: Values, current: Row[Any] | None) -> Part:
    """A category's parent, by slug ("" makes it a root): it must exist, and not be the category itself or
    one of its descendants. Moves take turns (TREE_LOCK), so two of them cannot make a cycle together."""
    slug = values.get("parent")
    if slug is None:
        return {}, []
    if not slug.strip():
        return {"parent_id": None}, []
    if current is not None and session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TREE_LOCK})
    parent = (
        await session.execute(select(CATEGORY.table.c.id).where(CATEGORY.table.c.slug == slug))
    ).scalar()
    if parent is None:
        return {}, [FieldError(("input", "parent"), "NOT_FOUND", f"no category {slug!r}")]
    if current is not None:
        inside = select(CATEGORY.table.c.id).where(
            CATEGORY.table.c.id == parent, CATEGORY.table.c.id.in_(subtree_ids(current.slug))
        )
        if (await session.execute(inside)).first():
            message = (
                f"{slug!r} is {current.slug!r} itself or inside it: a category cannot be its own ancestor"
            )
            return {}, [FieldError(("input", "parent"), "CYCLE", message)]
    return {"parent_id": parent}, []


def _table(model: Any) -> Table:
    return table_of(model)


_ARTICLE, _CATEGORY = table_of(Article), table_of(Category)
_BYLINE, _CITED = table_of(ArticleAuthor), table_of(ArticleSource)
AUTHOR = Entity(
    "Author",
    _table(Author),
    (
        TextField("bio", "bio"),
        TextField("avatar_url", "avatarUrl", url_problem),
        TextField("email", "email", email_problem),
    ),
    (Use(_BYLINE.c.author_id, _BYLINE.c.article_id, "articles that name this author"),),
)
CATEGORY = Entity(
    "Category",
    _table(Category),
    (TextField("description", "description"),),
    (
        Use(_ARTICLE.c.category_id, _ARTICLE.c.id, "articles in this category"),
        Use(_CATEGORY.c.parent_id, _CATEGORY.c.id, "categories inside this one"),
    ),
    _category_parent,
    keeps_slugs=True,
)
SOURCE = Entity(
    "Source",
    _table(Source),
    (TextField("url", "url", url_problem),),
    (Use(_CITED.c.source_id, _CITED.c.article_id, "articles that cite this source"),),
    _source_kind_of,
)
