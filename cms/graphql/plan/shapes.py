"""What a compiled plan is made of: a Shape per selection set, a Slot per response key.

A plan runs in two passes over the objects of each level. `load` fetches what a level needs in one
statement per slot, whatever the number of objects (the statement counts of the loaders, or fewer), and
then loads the level below; `build` makes the response dicts, keys in GraphQL order, from rows in hand.
No resolver is called and no coroutine is made per field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql.execution.values import VariableValues

from cms.graphql.context import Context

Json = Any
ROOT = object()
"""The one object of the root level."""


@dataclass
class Run:
    """One execution of a plan: the request's context, its variables, and what the load pass fetched."""

    context: Context
    variables: VariableValues
    fetched: dict[int, dict[int, Any]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Tagged:
    """An object of a type known only at run time (a `Node`): its typename and its row. Strawberry resolves
    the type from it and reads the row's attributes through it."""

    typename: str
    row: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.row, name)


Arguments = Callable[[Run], dict[str, Any]]
"""A field's arguments for this run: computed once at compile time when no variable is in them."""


class Slot:
    """One response key of a selection set; `columns`: those of its object's row it reads (or, passing the
    row on, those its selection reads), so a statement selects no more than the plan uses."""

    key: str
    columns: tuple[str, ...]

    @property
    def loads(self) -> bool:
        """Whether `load` has anything to do (a statement, the category tree), here or below."""
        return False

    async def load(self, objects: Sequence[Any], run: Run) -> None:
        """Fetch what building this key needs, for all the level's objects at once."""

    def expression(self, name: str) -> str:
        """Python source of its value in its Shape's builder, over the names `namespace` gives (each begins
        with `name`, unique in the builder)."""
        raise NotImplementedError

    def namespace(self, name: str) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(eq=False)
class Shape:
    """A selection set on one object type."""

    typename: str
    slots: list[Slot]
    keyed: bool = False
    """Its objects are items whose keys the answer names (`Context.saw`): they are told at load."""
    columns: frozenset[str] = frozenset()
    build: Callable[[Any, Run], dict[str, Json]] = field(init=False, repr=False)
    loading: list[Slot] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.columns = frozenset(column for slot in self.slots for column in slot.columns)
        self.build = _builder(self.slots)
        self.loading = [slot for slot in self.slots if slot.loads]

    @property
    def loads(self) -> bool:
        return self.keyed or bool(self.loading)

    async def load(self, objects: Sequence[Any], run: Run) -> None:
        if objects:
            if self.keyed:
                run.context.saw(self.typename, objects)
            for slot in self.loading:
                await slot.load(objects, run)


def _builder(slots: list[Slot]) -> Callable[[Any, Run], dict[str, Json]]:
    """The function that makes a selection set's dict, generated once: one dict display, a column read in
    place (`obj.slug`), so a walk page's 3,000 values cost no call each. Keys are GraphQL names and column
    attributes Python identifiers, checked where they are made; nothing else reaches the source."""
    names = {f"s{index}": slot for index, slot in enumerate(slots)}
    items = ", ".join(f"{slot.key!r}: {slot.expression(name)}" for name, slot in names.items())
    namespace: dict[str, Any] = {}
    for name, slot in names.items():
        namespace.update(slot.namespace(name))
    exec(compile(f"def build(obj, run):\n    return {{{items}}}\n", "<plan>", "exec"), namespace)  # noqa: S102
    return namespace["build"]


@dataclass(eq=False)
class Polymorphic:
    """A selection set on an interface: a Shape per concrete type, chosen per object (a `Tagged`)."""

    shapes: dict[str, Shape]

    @property
    def loads(self) -> bool:
        return any(shape.loads for shape in self.shapes.values())

    async def load(self, objects: Sequence[Tagged], run: Run) -> None:
        for typename, shape in self.shapes.items():
            await shape.load([o.row for o in objects if o.typename == typename], run)

    def build(self, obj: Tagged, run: Run) -> dict[str, Json]:
        return self.shapes[obj.typename].build(obj.row, run)


Selection = Shape | Polymorphic


@dataclass(eq=False)
class Value(Slot):
    """A leaf, or anything made from the object alone: `get(obj, run)`; or, called in place with one call
    fewer, `contextual(obj, context)`."""

    key: str
    get: Callable[[Any, Run], Json]
    columns: tuple[str, ...] = ()
    attribute: str | None = None
    contextual: Callable[[Any, Context], Json] | None = None

    @classmethod
    def column(cls, key: str, attribute: str) -> Value:
        """The row's attribute as it is."""
        if not attribute.isidentifier():
            raise ValueError(f"not an attribute: {attribute!r}")
        return cls(key, lambda row, run: getattr(row, attribute), (attribute,), attribute)

    def expression(self, name: str) -> str:
        if self.attribute:
            return f"obj.{self.attribute}"
        return f"{name}(obj, run.context)" if self.contextual else f"{name}(obj, run)"

    def namespace(self, name: str) -> dict[str, Any]:
        return {name: self.contextual or self.get}


@dataclass(eq=False)
class Nested(Slot):
    """An object or list of objects made from the parent in hand by `get(obj, context)` (no statement of its
    own); `needs_tree` when it is made from the category tree, which is then read once for the whole run."""

    key: str
    get: Callable[[Any, Context], Any]
    selection: Selection
    many: bool = False
    needs_tree: bool = False
    columns: tuple[str, ...] = ()

    @property
    def loads(self) -> bool:
        return self.needs_tree or self.selection.loads

    async def load(self, objects: Sequence[Any], run: Run) -> None:
        if self.needs_tree:
            await run.context.category_tree()
        if self.selection.loads:
            context = run.context
            children = [self.get(obj, context) for obj in objects]
            await self.selection.load(_flat(children, self.many), run)

    def expression(self, name: str) -> str:
        return _shaped_source(name, f"{name}_get(obj, run.context)", self.many)

    def namespace(self, name: str) -> dict[str, Any]:
        return {f"{name}_get": self.get, f"{name}_build": self.selection.build}


@dataclass(eq=False)
class Fetched(Slot):
    """A value that costs a statement: `fetch` answers for all of a level's objects at once (by `id(obj)`)."""

    key: str
    fetch: Callable[[Sequence[Any], Run], Awaitable[dict[int, Any]]]
    selection: Selection | None = None
    many: bool = False
    columns: tuple[str, ...] = ()

    @property
    def loads(self) -> bool:
        return True

    async def load(self, objects: Sequence[Any], run: Run) -> None:
        found = await self.fetch(objects, run)
        run.fetched.setdefault(id(self), {}).update(found)
        if self.selection is not None and self.selection.loads:
            await self.selection.load(_flat(list(found.values()), self.many), run)

    def expression(self, name: str) -> str:
        value = f"run.fetched[{id(self)}].get(id(obj))"
        return value if self.selection is None else _shaped_source(name, value, self.many)

    def namespace(self, name: str) -> dict[str, Any]:
        return {} if self.selection is None else {f"{name}_build": self.selection.build}


def _flat(values: list[Any], many: bool) -> list[Any]:
    if many:
        return [item for value in values if value for item in value]
    return [value for value in values if value is not None]


def _shaped_source(name: str, value: str, many: bool) -> str:
    """`value` (an expression) built by `{name}_build` (each item, when `many`), and None left None."""
    built = f"[{name}_build(item, run) for item in {name}_v]" if many else f"{name}_build({name}_v, run)"
    return f"(None if ({name}_v := {value}) is None else {built})"
