"""Random valid query documents over the whole read schema, for the planner's differential tests.

Fields, aliases, named and inline fragments (on the type and on `Node`), @skip/@include with literals and
variables, repeated fields to merge, nesting, and arguments drawn from what the database holds (and, now and
then, values the contract refuses, so errors are compared too).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)

from cms.content.nodes import KINDS

NODE_TYPES = tuple(name for name in KINDS if name != "Webhook")
"""The content's node types: a webhook is ADMIN's, never in the feed, and no test content holds one."""
WORDS = (
    "caspian",
    "baku",
    "heritage",
    "herit*",
    '"rock art"',
    "glacier OR danube",
    "festival -carpet",
    "sea",
)


@dataclass
class Known:
    """What the database holds, for arguments that find something."""

    ids: dict[str, list[str]]
    slugs: dict[str, list[str]]
    tags: list[str]
    cursors: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    """Cursors by (field, argument): the feed's `since`, revisions' `after`."""


@dataclass
class Document:
    query: str
    variables: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Writer:
    schema: GraphQLSchema
    known: Known
    rng: random.Random
    fragments: list[str] = field(default_factory=list)
    variables: dict[str, tuple[str, Any]] = field(default_factory=dict)
    aliases: Iterator[int] = field(default_factory=itertools.count)

    def selection(self, type_: GraphQLObjectType, depth: int) -> str:
        fields = [f for f in type_.fields if self._wanted(type_.name, f)]
        chosen = self.rng.sample(fields, k=min(len(fields), self.rng.randint(1, 4 if depth < 3 else 2)))
        parts = [self._field(type_, name, depth) for name in chosen]
        if self.rng.random() < 0.15:
            parts.append("__typename")
        if self.rng.random() < 0.1 and parts:  # the same key twice: merged
            parts.append(parts[0])
        if self.rng.random() < 0.15:
            parts.append(f"... on {type_.name} {{ {self.selection(type_, depth + 1)} }}")
        if self.rng.random() < 0.1 and type_.name in NODE_TYPES:
            parts.append("... on Node { id }")
        if self.rng.random() < 0.1:
            name = f"F{len(self.fragments)}"
            self.fragments.append(f"fragment {name} on {type_.name} {{ {self.selection(type_, depth + 1)} }}")
            parts.append(f"...{name}")
        self.rng.shuffle(parts)
        return " ".join(parts)

    def _wanted(self, typename: str, name: str) -> bool:
        """Not the planner's own figures (they change with every request)."""
        return not (typename == "Query" and name == "planner")

    def _field(self, type_: GraphQLObjectType, name: str, depth: int) -> str:
        definition = type_.fields[name]
        alias = f"a{next(self.aliases)}: " if self.rng.random() < 0.15 else ""
        arguments = self._arguments(type_.name, name, definition)
        directive = self._directive()
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return f"{alias}{name}{arguments}{directive}"
        if depth >= 4:
            inner = "__typename" if isinstance(named, GraphQLObjectType) else "id"
            return f"{alias}{name}{arguments}{directive} {{ {inner} }}"
        if isinstance(named, GraphQLInterfaceType):
            inner = " ".join(
                f"... on {t} {{ {self.selection(self._object(t), depth + 1)} }}"
                for t in self.rng.sample(NODE_TYPES, k=self.rng.randint(1, 3))
            )
            return f"{alias}{name}{arguments}{directive} {{ id {inner} }}"
        assert isinstance(named, GraphQLObjectType)
        return f"{alias}{name}{arguments}{directive} {{ {self.selection(named, depth + 1)} }}"

    def _object(self, name: str) -> GraphQLObjectType:
        type_ = self.schema.get_type(name)
        assert isinstance(type_, GraphQLObjectType)
        return type_

    def _directive(self) -> str:
        roll = self.rng.random()
        if roll < 0.05:
            return f" @skip(if: {self.rng.choice(['true', 'false'])})"
        if roll < 0.1:
            return f" @include(if: {self.rng.choice(['true', 'false'])})"
        if roll < 0.14:
            return f" @skip(if: {self._variable('Boolean!', self.rng.random() < 0.5)})"
        return ""

    def _variable(self, type_: str, value: Any) -> str:
        name = f"v{len(self.variables)}"
        self.variables[name] = (type_, value)
        return f"${name}"

    def _arguments(self, typename: str, name: str, definition: GraphQLField) -> str:
        given = []
        rng = self.rng
        lookup = {"id", "slug"} <= set(definition.args)  # exactly one of them, now and then both or neither
        by = rng.choice(["id", "slug"]) if lookup and rng.random() < 0.95 else None
        for argument, spec in definition.args.items():
            if lookup and argument in ("id", "slug", "language"):
                if argument != by and not (argument == "language" and by == "slug" and rng.random() < 0.5):
                    continue
            elif rng.random() < 0.45 and not isinstance(spec.type, GraphQLNonNull):
                continue
            value = self._value(typename, name, argument, spec.type)
            if value is not None:
                given.append(f"{argument}: {value}")
        return f"({', '.join(given)})" if given else ""

    def _value(self, typename: str, field_name: str, argument: str, type_: Any) -> str | None:
        rng = self.rng
        named = get_named_type(type_).name
        target = {"article": "Article", "author": "Author", "category": "Category", "source": "Source"}.get(
            field_name, "Article" if field_name == "node" else None
        )
        if argument in ("first", "last"):
            value = rng.choice([1, 2, 3, 5, 20] * 10 + [0, 101, 1001])
            return self._variable("Int", value) if rng.random() < 0.2 else str(value)
        if argument in ("after", "before", "since"):
            cursors = self.known.cursors.get((field_name, argument))
            if not cursors or rng.random() < 0.4:
                return None
            return _quoted(rng.choice(cursors) if rng.random() < 0.9 else "not-a-cursor")
        if argument == "id" and target:
            pool = self.known.ids[rng.choice(NODE_TYPES) if field_name == "node" else target]
            return _quoted(rng.choice(pool) if rng.random() < 0.9 else "art_missing")
        if argument == "slug" and field_name == "tag":
            return _quoted(rng.choice(self.known.tags) if rng.random() < 0.9 else "no-such-tag")
        if argument == "slug" and target:
            return _quoted(rng.choice(self.known.slugs[target]) if rng.random() < 0.9 else "no-such-slug")
        if argument == "language":
            return _quoted(rng.choice(["en", "az", "ru"]))
        if named == "Boolean":
            return rng.choice(["true", "false"])
        if named == "BodyFormat":
            return rng.choice(["HTML", "TEXT", "MARKDOWN"])
        if named == "SourceRole":
            return rng.choice(["ORIGIN", "WIRE", "REFERENCE"])
        if named == "SourceKind":
            return rng.choice(["NEWS_AGENCY", "ORGANIZATION", "OTHER"])
        if named == "ArticleFilter":
            return self._filter(2)
        if named == "ArticleOrder":
            field_ = rng.choice(["PUBLISHED_AT", "UPDATED_AT", "CREATED_AT", "TITLE"] * 3 + ["RELEVANCE"])
            return f"{{field: {field_}, direction: {rng.choice(['ASC', 'DESC'])}}}"
        if argument == "search":
            return _quoted(rng.choice(["a", "fid", "ra"]))
        return None

    def _filter(self, depth: int) -> str:
        rng = self.rng
        known = self.known
        options = {
            "status": lambda: (
                "[" + ", ".join(rng.sample(["DRAFT", "IN_REVIEW", "PUBLISHED", "ARCHIVED"], 2)) + "]"
            ),
            "search": lambda: _quoted(rng.choice(WORDS)),
            "language": lambda: _quoted(rng.choice(["en", "az", "ru"])),
            "tag": lambda: _quoted(rng.choice(known.tags)),
            "category": lambda: _quoted(rng.choice(known.slugs["Category"])),
            "author": lambda: _quoted(rng.choice(known.slugs["Author"])),
            "source": lambda: _quoted(rng.choice(known.slugs["Source"])),
            "publishedAt": lambda: '{gte: "2024-01-01T00:00:00Z"}',
            "title": lambda: f"{{contains: {_quoted(rng.choice(['Baku', 'the', 'Caspian']))}}}",
        }
        if depth > 0:
            options["not"] = lambda: self._filter(depth - 1)
            options["or"] = lambda: f"[{self._filter(depth - 1)}, {self._filter(depth - 1)}]"
        chosen = rng.sample(list(options), k=rng.randint(1, 2))
        return "{" + ", ".join(f"{name}: {options[name]()}" for name in chosen) + "}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def random_document(schema: GraphQLSchema, known: Known, rng: random.Random) -> Document:
    """A document that passes validation (drawn again until one does: a repeated key may conflict)."""
    while True:
        document = _draw(schema, known, rng)
        if not validate(schema, parse(document.query)):
            return document


def _draw(schema: GraphQLSchema, known: Known, rng: random.Random) -> Document:
    writer = _Writer(schema, known, rng)
    query_type = schema.query_type
    assert query_type is not None
    body = writer.selection(query_type, 0)
    definitions = ", ".join(f"${name}: {type_}" for name, (type_, _) in writer.variables.items())
    header = f"query Random({definitions})" if definitions else "query Random"
    text = "\n".join([f"{header} {{ {body} }}", *writer.fragments])
    return Document(text, {name: value for name, (_, value) in writer.variables.items()})
