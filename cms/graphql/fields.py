"""Field declarations that both engines run: one per field, written next to its type.

A type's objects are rows (or plain objects from `content`); a field with no resolver is the attribute of
its Python name, which Strawberry reads with its default resolver and the planner reads in place. Every
other field is declared with one of these, and each declaration is both Strawberry's resolver and the
planner's Slot (`compile`), over the same functions of `content`:

- `computed`: made from the object and the request (its viewer, its clock, its category tree);
- `column`: an attribute of another name;
- `PerLevel`: one read for every object of a level (bylines, nested lists), by the objects' keys;
- `Found`: a root field, found from its arguments;
- `awaited`: a value that costs a statement of its own object (a connection's total).

The planner finds a declaration in its Strawberry field's metadata (`plan`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import strawberry
from strawberry.dataloader import DataLoader

from cms.content import nodes
from cms.graphql.context import Context, Info, retrieved
from cms.graphql.plan.compiler import Compiler, Selected
from cms.graphql.plan.registry import PLAN, Declaration, attribute
from cms.graphql.plan.shapes import ROOT, Fetched, Nested, Run, Shape, Slot, Tagged, Value

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Columns = frozenset[str] | None
"""The columns of its rows a read must select: those the planned query uses, or None for all."""


async def nodes_seen(context: Context, wanted: Mapping[str, Sequence[str]]) -> dict[tuple[str, str], Tagged]:
    """The wanted nodes the request's viewer may see now, each `Tagged` with its type (`content.nodes`)."""
    found = await nodes.find(
        wanted, fetch=context.fetch, viewer=context.viewer, now=context.now, tree=context.category_tree
    )
    return {key: Tagged(key[0], row) for key, row in found.items()}


def served(obj: object) -> Any:
    """A row (or a content object) given where Strawberry's annotations name the type it is served as."""
    return obj


def plan(declaration: Declaration) -> dict[str, Any]:
    """A Strawberry field's metadata that carries its declaration to the planner."""
    return {PLAN: declaration}


def _columns_of(selection: Any) -> frozenset[str]:
    return selection.columns if isinstance(selection, Shape) else frozenset()


@dataclass(frozen=True, eq=False)
class Computed:
    """A value made from the object alone and the request: `get(obj, context)`. `columns`: the row's
    columns it reads; `passes_columns`: its value is the object's own rows (a list's nodes), so what their
    selection reads is the object's to read; `needs_tree`: it reads `context.tree`."""

    get: Callable[[Any, Context], Any]
    columns: tuple[str, ...] = ()
    passes_columns: bool = False
    needs_tree: bool = False

    def compile(self, compiler: Compiler, selected: Selected) -> Slot:
        get = self.get
        if compiler.composite(selected):
            selection = compiler.selection(selected)
            passed = tuple(_columns_of(selection)) if self.passes_columns else ()
            return Nested(
                selected.key,
                get,
                selection,
                many=compiler.many(selected),
                needs_tree=self.needs_tree,
                columns=self.columns + passed,
            )
        serialize = compiler.serializer(selected)
        if serialize is None:
            return Value(selected.key, lambda obj, run: get(obj, run.context), self.columns, contextual=get)
        return Value(selected.key, lambda obj, run: serialize(get(obj, run.context)), self.columns)


def computed(
    get: Callable[[Any, Context], Any],
    *,
    columns: tuple[str, ...] = (),
    passes_columns: bool = False,
    needs_tree: bool = False,
    description: str | None = None,
) -> Any:
    """A field made from its object by `get(obj, context)`, in both engines (see `Computed`)."""
    declared = Computed(get, columns, passes_columns, needs_tree)
    if needs_tree:

        async def after_tree(root: Any, context: Context) -> Any:
            await context.category_tree()
            return get(root, context)

        def resolve_from_tree(root: Any, info: Info) -> Any:
            """In place once the request has its tree; else a coroutine that reads it first."""
            context = info.context
            return get(root, context) if context.tree is not None else after_tree(root, context)

        return strawberry.field(resolver=resolve_from_tree, description=description, metadata=plan(declared))

    def resolve(root: Any, info: Info) -> Any:
        return get(root, info.context)

    return strawberry.field(resolver=resolve, description=description, metadata=plan(declared))


@dataclass(frozen=True, eq=False)
class _Attribute:
    name: str

    def compile(self, compiler: Compiler, selected: Selected) -> Slot:
        return attribute(self.name)(compiler, selected)


def column(name: str, *, description: str | None = None) -> Any:
    """A field that is its object's attribute `name` (not the field's own Python name)."""

    def resolve(root: Any) -> Any:
        return getattr(root, name)

    return strawberry.field(resolver=resolve, description=description, metadata=plan(_Attribute(name)))


@dataclass(frozen=True, eq=False)
class Awaited:
    """A value of its object that costs a statement: `get(obj, context)`, awaited."""

    get: Callable[[Any, Context], Awaitable[Any]]

    def compile(self, compiler: Compiler, selected: Selected) -> Slot:
        get = self.get

        async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
            return {id(obj): await get(obj, run.context) for obj in objects}

        return Fetched(selected.key, fetch)


def awaited(get: Callable[[Any, Context], Awaitable[Any]], *, description: str | None = None) -> Any:
    """A field whose value `get(obj, context)` awaits, in both engines."""

    async def resolve(root: Any, info: Info) -> Any:
        return await get(root, info.context)

    return strawberry.field(resolver=resolve, description=description, metadata=plan(Awaited(get)))


Find = Callable[[dict[str, Any], Context, Columns], Awaitable[Any]]


@dataclass(frozen=True, eq=False)
class Found:
    """A root field's value, found from its arguments (Python names, as the resolver gets them):
    `find(arguments, context, columns)`."""

    find: Find

    async def resolve(self, info: Info, **arguments: Any) -> Any:
        return await self.find(arguments, info.context, None)

    def compile(self, compiler: Compiler, selected: Selected) -> Slot:
        find, arguments = self.find, compiler.arguments(selected)
        selection = compiler.selection(selected) if compiler.composite(selected) else None
        columns = _columns_of(selection)

        async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
            return {id(ROOT): await find(arguments(run), run.context, columns)}

        return Fetched(selected.key, fetch, selection, many=compiler.many(selected))


FindMany = Callable[[Any, list[Any], Context, Columns], Awaitable[Mapping[Any, Any]]]


def _no_arguments(arguments: dict[str, Any]) -> Hashable:
    return None


def _empty() -> Any:
    return []


@dataclass(frozen=True, eq=False)
class PerLevel:
    """A value for every object of a level from one read: `find(shape, keys, context, columns)` answers for
    the objects' `key` attributes at once (an object whose key it does not answer, or is None, gets
    `default()`; `pick(obj, found)` makes the object's own value from its key's). `shape` is what the field's
    arguments ask, made hashable: objects asked with other arguments are read apart."""

    find: FindMany
    shape: Callable[[dict[str, Any]], Hashable] = _no_arguments
    key: str = "id"
    default: Callable[[], Any] = _empty
    pick: Callable[[Any, Any], Any] | None = None

    def resolve(self, root: Any, info: Info, **arguments: Any) -> Any:
        """Strawberry's: a request's loader per (field, shape) batches the keys of every object asked. The
        answer is a future, not a coroutine: graphql-core awaits a future as it is, where it would make a
        task of each object's coroutine (a walk page's 400)."""
        key = getattr(root, self.key)
        if key is None:
            found = self.default()
            return found if self.pick is None else self.pick(root, found)
        loading = self.load(info.context, key, self.shape(arguments))
        return loading if self.pick is None else self._picked(root, loading)

    async def _picked(self, root: Any, loading: Awaitable[Any]) -> Any:
        assert self.pick is not None
        return self.pick(root, await loading)

    def load(self, context: Context, key: Any, shape: Hashable = None) -> Awaitable[Any]:
        """What `find` answers for one key, read together with every other key the request asks with the
        same shape (one loader per field and shape)."""
        loader = context.loader((self, shape), lambda context: self._loader(context, shape))
        return loader.load(key)

    def field(self, *, description: str | None = None) -> Any:
        """The Strawberry field of a declaration whose field takes no arguments."""

        def resolve(root: Any, info: Info) -> Any:
            return self.resolve(root, info)

        return strawberry.field(resolver=resolve, description=description, metadata=plan(self))

    def _loader(self, context: Context, shape: Hashable) -> Loader[Any, Any]:
        async def load(keys: list[Any]) -> list[Any]:
            found = await self.find(shape, keys, context, None)
            return [found[key] if key in found else self.default() for key in keys]

        return Loader(load_fn=load)

    def compile(self, compiler: Compiler, selected: Selected) -> Slot:
        arguments = compiler.arguments(selected)
        selection = compiler.selection(selected) if compiler.composite(selected) else None
        columns = _columns_of(selection)
        find, shape_of, name, default, pick = self.find, self.shape, self.key, self.default, self.pick

        async def fetch(objects: Sequence[Any], run: Run) -> dict[int, Any]:
            keyed = [(obj, getattr(obj, name)) for obj in objects]
            keys = list(dict.fromkeys(key for _, key in keyed if key is not None))
            found = await find(shape_of(arguments(run)), keys, run.context, columns) if keys else {}
            values = {id(obj): found[key] if key in found else default() for obj, key in keyed}
            if pick is not None:
                values = {id(obj): pick(obj, values[id(obj)]) for obj, _ in keyed}
            return values

        return Fetched(selected.key, fetch, selection, many=compiler.many(selected), columns=(name,))


class Loader(DataLoader[K, V]):
    """A DataLoader whose shared results survive one waiter's cancellation. When a field errors,
    graphql-core cancels its siblings; a task cancelled while awaiting a future cancels that future, and
    every other resolver awaiting the same key (or read) would get CancelledError, which no resolver turns
    into a GraphQL error: the request would fail whole."""

    def load(self, key: K) -> Awaitable[V]:
        found = asyncio.ensure_future(super().load(key))  # a Future already: the same one
        found.add_done_callback(retrieved)
        return asyncio.shield(found)
