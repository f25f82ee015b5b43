"""Unit tests of the contract checker over small hand-written schemas.

Each breaking change is applied to a copy of BASE and must yield exactly the expected violation; each
allowed change must yield none. Edits assert that they apply, so a typo cannot turn a test into a no-op.
"""

from __future__ import annotations

from pathlib import Path

import pytest

try:  # tests/ as a package (tests/__init__.py, or run with the project root on sys.path)
    from tests.schema_compat import contract_violations
except ImportError:  # tests/ as a plain directory: pytest puts it on sys.path itself
    from schema_compat import contract_violations  # type: ignore[no-redef]

BASE = """
interface Node { id: ID! }
scalar Money
enum Color { RED GREEN }
input Filter { q: String  limit: Int! = 10 }
type Item implements Node {
  id: ID!
  name: String
  tags: [String!]!
  total: Money
  price(currency: String = "EUR", round: Int): Int
}
type Other { x: Int }
union Result = Item | Other
type Query {
  item(id: ID!): Item
  items(filter: Filter, color: Color = RED, first: Int = 20): [Item!]!
  search(filter: Filter = {q: "x", limit: 10}): [Result!]!
}
type Mutation { touch(id: ID!): Item }
"""

_ROOT = Path(__file__).resolve().parents[1]
_CONTRACT_CANDIDATES = (
    _ROOT / "schema" / "contract.graphql",
    _ROOT.parent / "shared" / "design" / "contract.graphql",
)


def served(*edits: tuple[str, str]) -> str:
    """BASE with each (old, new) replacement applied; fails loudly if `old` is not in the schema."""
    sdl = BASE
    for old, new in edits:
        assert old in sdl, f"test edit {old!r} does not apply to BASE"
        sdl = sdl.replace(old, new)
    return sdl


def test_base_is_compatible_with_itself() -> None:
    assert contract_violations(BASE, BASE) == []


def test_real_contract_is_compatible_with_itself() -> None:
    """Guards against false positives on every construct the real contract uses."""
    path = next((p for p in _CONTRACT_CANDIDATES if p.is_file()), None)
    if path is None:
        pytest.skip("contract.graphql not found next to the project")
    sdl = path.read_text(encoding="utf-8")
    assert contract_violations(sdl, sdl) == []


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        pytest.param(
            [("union Result = Item | Other", ""), ("[Result!]!", "[Item!]!")],
            ["Result: missing type", "Query.search: type [Result!]! in the contract, served as [Item!]!"],
            id="missing-type",
        ),
        pytest.param(
            [("union Result = Item | Other", "type Result { item: Item }")],
            ["Result: is union in the contract, served as object"],
            id="union-became-object",
        ),
        pytest.param(
            [("scalar Money", "enum Money { EUR }")],
            ["Money: is scalar in the contract, served as enum"],
            id="scalar-became-enum",
        ),
        pytest.param([("  name: String\n", "")], ["Item: missing field 'name'"], id="missing-field"),
        pytest.param(
            [("tags: [String!]!", "tags: [String]!")],
            ["Item.tags: type [String!]! in the contract, served as [String]!"],
            id="output-item-nullability-loosened",
        ),
        pytest.param(
            [("tags: [String!]!", "tags: [String!]")],
            ["Item.tags: type [String!]! in the contract, served as [String!]"],
            id="output-list-nullability-loosened",
        ),
        pytest.param(
            [("name: String", "name: [String]")],
            ["Item.name: type String in the contract, served as [String]"],
            id="output-list-nesting-changed",
        ),
        pytest.param(
            [("name: String", "name: ID")],
            ["Item.name: type String in the contract, served as ID"],
            id="output-named-type-changed",
        ),
        pytest.param(
            [('currency: String = "EUR"', 'currency: String! = "EUR"')],
            ["Item.price(currency:): type String in the contract, served as String!"],
            id="argument-tightened",
        ),
        pytest.param(
            [("input Filter { q: String ", "input Filter { q: String! ")],
            ["Filter.q: type String in the contract, served as String!"],
            id="input-field-tightened",
        ),
        pytest.param(
            [("items(filter: Filter,", "items(filter: [Filter],")],
            ["Query.items(filter:): type Filter in the contract, served as [Filter]"],
            id="argument-list-nesting-changed",
        ),
        pytest.param(
            [(", round: Int)", ")")], ["Item.price: missing argument 'round'"], id="missing-argument"
        ),
        pytest.param(
            [("limit: Int! = 10 }", "}")], ["Filter: missing input field 'limit'"], id="missing-input-field"
        ),
        pytest.param(
            [("first: Int = 20", "first: Int = 50")],
            ["Query.items(first:): default 20 in the contract, served 50"],
            id="default-changed",
        ),
        pytest.param(
            [("color: Color = RED", "color: Color = GREEN")],
            ["Query.items(color:): default RED in the contract, served GREEN"],
            id="enum-default-changed",
        ),
        pytest.param(
            [("first: Int = 20", "first: Int")],
            ["Query.items(first:): default 20 in the contract, served without one"],
            id="default-dropped",
        ),
        pytest.param(
            [("limit: Int! = 10 }", "limit: Int! = 5 }")],
            ["Filter.limit: default 10 in the contract, served 5"],
            id="input-field-default-changed",
        ),
        pytest.param(
            [("enum Color { RED GREEN }", "enum Color { RED }")],
            ["Color: missing enum value GREEN"],
            id="missing-enum-value",
        ),
        pytest.param(
            [("union Result = Item | Other", "union Result = Item")],
            ["Result: missing union member Other"],
            id="missing-union-member",
        ),
        pytest.param(
            [("type Item implements Node {", "type Item {")],
            ["Item: does not implement Node"],
            id="missing-interface",
        ),
        pytest.param(
            [("item(id: ID!)", "item(id: ID!, lang: String!)")],
            ["Query.item: new argument 'lang' is required (String!, no default)"],
            id="new-required-argument",
        ),
        pytest.param(
            [("input Filter { q: String ", "input Filter { scope: [String!]!  q: String ")],
            ["Filter: new input field 'scope' is required ([String!]!, no default)"],
            id="new-required-input-field",
        ),
        pytest.param(
            [("type Mutation { touch(id: ID!): Item }", "")],
            ["Mutation: missing type", "schema: no mutation root type (contract: Mutation)"],
            id="missing-mutation-root",
        ),
    ],
)
def test_breaking_change_is_reported(edits: list[tuple[str, str]], expected: list[str]) -> None:
    assert contract_violations(BASE, served(*edits)) == expected


@pytest.mark.parametrize(
    "edits",
    [
        pytest.param([("name: String", "name: String!")], id="output-made-stricter"),
        pytest.param([("tags: [String!]!", "tags: [String!]!  extra: Int!")], id="new-field"),
        pytest.param(
            [("type Other { x: Int }", "type Other { x: Int }\ntype New { y: Int }")], id="new-type"
        ),
        pytest.param([("enum Color { RED GREEN }", "enum Color { RED GREEN BLUE }")], id="new-enum-value"),
        pytest.param(
            [
                ("type Other { x: Int }", "type Other { x: Int }\ntype Third { z: Int }"),
                ("| Other", "| Other | Third"),
            ],
            id="new-union-member",
        ),
        pytest.param(
            [
                (
                    "interface Node { id: ID! }",
                    "interface Node { id: ID! }\ninterface Named { name: String }",
                ),
                ("implements Node", "implements Node & Named"),
            ],
            id="new-interface",
        ),
        pytest.param([("item(id: ID!)", "item(id: ID)")], id="argument-loosened"),
        pytest.param([("limit: Int! = 10", "limit: Int = 10")], id="input-field-loosened"),
        pytest.param([("tags: [String!]!", "tags(sep: String): [String!]!")], id="new-optional-argument"),
        pytest.param(
            [("item(id: ID!)", 'item(id: ID!, lang: String! = "en")')], id="new-argument-with-default"
        ),
        pytest.param(
            [("input Filter { q: String ", "input Filter { sort: Int  q: String ")], id="new-input-field"
        ),
        pytest.param([('{q: "x", limit: 10}', '{limit: 10, q: "x"}')], id="object-default-reordered"),
        pytest.param([('{q: "x", limit: 10}', '{q: "x"}')], id="object-default-relies-on-field-default"),
        pytest.param(
            [("type Query {", "schema { query: Query mutation: Mutation }\ntype Query {")],
            id="explicit-schema-definition",
        ),
    ],
)
def test_addition_is_accepted(edits: list[tuple[str, str]]) -> None:
    assert contract_violations(BASE, served(*edits)) == []


def test_changed_object_default_is_reported() -> None:
    """Compared as values, not text; the printer's spacing differs between graphql-core 3.2 and 3.3."""
    (problem,) = contract_violations(BASE, served(('{q: "x", limit: 10}', '{q: "y", limit: 10}')))
    assert problem.startswith("Query.search(filter:): default {")
    assert problem.replace(" ", "").endswith('served{q:"y",limit:10}')


def test_root_types_are_also_matched_by_role() -> None:
    """A query root under another name still has to serve every contract root field."""
    sdl = served(
        ("type Query {", "schema { query: Root mutation: Mutation }\ntype Root {"),
        ("  item(id: ID!): Item\n", ""),
    )
    assert contract_violations(BASE, sdl) == ["Query: missing type", "Query: missing field 'item'"]
