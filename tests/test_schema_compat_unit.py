"""Unit tests of the contract checker over small hand-written schemas: one case per rule.

Each breaking change is applied to a copy of BASE and must yield exactly the expected violations; each
allowed change must yield none. Edits assert that they apply, so a typo cannot turn a test into a no-op.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.schema_compat import contract_violations

BASE = """
directive @trace(level: Int) on FIELD
interface Node { id: ID! }
scalar Money
enum Color { RED GREEN }
input Filter { q: String  limit: Int! = 10 }
type Item implements Node {
  id: ID!
  name: String
  tags: [String!]!
  color: Color
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
REAL_CONTRACTS = {
    "project": _ROOT / "schema" / "contract.graphql",
    "design": _ROOT.parent / "shared" / "design" / "contract.graphql",  # may `extend type` its own types
}


def served(*edits: tuple[str, str]) -> str:
    """BASE with each (old, new) replacement applied; fails loudly if `old` is not in the schema."""
    sdl = BASE
    for old, new in edits:
        assert old in sdl, f"test edit {old!r} does not apply to BASE"
        sdl = sdl.replace(old, new)
    return sdl


def test_base_is_compatible_with_itself() -> None:
    assert contract_violations(BASE, BASE) == []


@pytest.mark.parametrize("path", REAL_CONTRACTS.values(), ids=REAL_CONTRACTS.keys())
def test_real_contract_is_compatible_with_itself(path: Path) -> None:
    """Guards against false positives on every construct the real contract uses."""
    if not path.is_file():
        pytest.skip(f"{path} not found")
    sdl = path.read_text(encoding="utf-8")
    assert contract_violations(sdl, sdl) == []


@pytest.mark.parametrize(
    ("edits", "expected"),
    [
        pytest.param(
            [("union Result = Item | Other", ""), ("[Result!]!", "[Item!]!")],
            ["Result was removed.", "Field Query.search changed type from [Result!]! to [Item!]!."],
            id="missing-type",
        ),
        pytest.param(
            [("union Result = Item | Other", "type Result { item: Item }")],
            ["Result changed from a Union type to an Object type."],
            id="type-changed-kind",
        ),
        pytest.param([("  name: String\n", "")], ["Field Item.name was removed."], id="missing-field"),
        pytest.param(
            [("tags: [String!]!", "tags: [String]!")],
            ["Field Item.tags changed type from [String!]! to [String]!."],
            id="output-loosened",
        ),
        pytest.param(
            [(", round: Int)", ")")], ["Argument Item.price(round:) was removed."], id="missing-argument"
        ),
        pytest.param(
            [('currency: String = "EUR"', 'currency: String! = "EUR"')],
            ["Argument Item.price(currency:) has changed type from String to String!."],
            id="argument-tightened",
        ),
        pytest.param(
            [("item(id: ID!)", "item(id: ID!, lang: String!)")],
            ["A required argument Query.item(lang:) was added."],
            id="new-required-argument",
        ),
        pytest.param(
            [("limit: Int! = 10 }", "}")], ["Field Filter.limit was removed."], id="missing-input-field"
        ),
        pytest.param(
            [("input Filter { q: String ", "input Filter { q: String! ")],
            ["Field Filter.q changed type from String to String!."],
            id="input-field-tightened",
        ),
        pytest.param(
            [("input Filter { q: String ", "input Filter { scope: [String!]!  q: String ")],
            ["A required field Filter.scope was added."],
            id="new-required-input-field",
        ),
        pytest.param(
            [("enum Color { RED GREEN }", "enum Color { RED }")],
            ["Enum value Color.GREEN was removed."],
            id="missing-enum-value",
        ),
        pytest.param(
            [("union Result = Item | Other", "union Result = Item")],
            ["Other was removed from union type Result."],
            id="missing-union-member",
        ),
        pytest.param(
            [("type Item implements Node {", "type Item {")],
            ["Item no longer implements interface Node."],
            id="missing-interface",
        ),
        pytest.param(
            [("directive @trace(level: Int) on FIELD", "")],
            ["Directive @trace was removed."],
            id="missing-directive",
        ),
        pytest.param(
            [("first: Int = 20", "first: Int = 50")],
            ["Query.items(first:) has changed defaultValue from 20 to 50."],
            id="argument-default-changed",
        ),
        pytest.param(
            [("first: Int = 20", "first: Int")],
            ["Query.items(first:) defaultValue was removed."],
            id="argument-default-dropped",
        ),
        pytest.param(
            [('{q: "x", limit: 10}', '{q: "x"}')],
            ['Query.search(filter:) has changed defaultValue from { limit: 10, q: "x" } to { q: "x" }.'],
            id="object-default-compared-as-written",
        ),
        pytest.param(
            [("limit: Int! = 10 }", "limit: Int! = 5 }")],
            ["Filter.limit has changed defaultValue from 10 to 5."],
            id="input-field-default-changed",
        ),
        pytest.param(
            [("limit: Int! = 10 }", "limit: Int }")],
            ["Filter.limit defaultValue was removed."],
            id="input-field-default-dropped",
        ),
        pytest.param(
            [("type Mutation { touch(id: ID!): Item }", "")],
            ["Mutation was removed.", "The mutation root type is Mutation in the contract, served none."],
            id="missing-mutation-root",
        ),
        pytest.param(
            [
                (
                    "type Query {",
                    "schema { query: Root mutation: Mutation }\ntype Root { x: Int }\ntype Query {",
                )
            ],
            ["The query root type is Query in the contract, served Root."],
            id="query-root-served-under-another-name",
        ),
    ],
)
def test_breaking_change_is_reported(edits: list[tuple[str, str]], expected: list[str]) -> None:
    assert contract_violations(BASE, served(*edits)) == expected


@pytest.mark.parametrize(
    "edits",
    [
        pytest.param([("name: String", "name: String!")], id="output-made-stricter"),
        pytest.param([("item(id: ID!)", "item(id: ID)")], id="argument-loosened"),
        pytest.param([("limit: Int! = 10", "limit: Int = 10")], id="input-field-loosened"),
        pytest.param(
            [("type Other { x: Int }", "type Other { x: Int }\ntype New { y: Int }")], id="new-type"
        ),
        pytest.param([("tags: [String!]!", "tags: [String!]!  extra: Int!")], id="new-field"),
        pytest.param(  # Color is both sent (items(color:)) and received (Item.color)
            [("enum Color { RED GREEN }", "enum Color { RED GREEN BLUE }")], id="new-enum-value"
        ),
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
        pytest.param([("tags: [String!]!", "tags(sep: String): [String!]!")], id="new-optional-argument"),
        pytest.param(
            [("item(id: ID!)", 'item(id: ID!, lang: String! = "en")')], id="new-argument-with-default"
        ),
        pytest.param(
            [("input Filter { q: String ", "input Filter { sort: Int  q: String ")], id="new-input-field"
        ),
        pytest.param([("round: Int)", "round: Int = 0)")], id="argument-default-added"),
        pytest.param([('{q: "x", limit: 10}', '{limit: 10, q: "x"}')], id="object-default-reordered"),
        pytest.param(
            [("type Item implements", '"""A thing for sale."""\ntype Item implements')],
            id="description-added",
        ),
        pytest.param(
            [("type Query {", "schema { query: Query mutation: Mutation }\ntype Query {")],
            id="explicit-schema-definition",
        ),
    ],
)
def test_addition_is_accepted(edits: list[tuple[str, str]]) -> None:
    assert contract_violations(BASE, served(*edits)) == []


def test_the_contract_may_extend_its_own_types() -> None:
    """What an `extend type` section adds binds like the rest, and a served type that has it meets it."""
    contract = BASE + "extend type Other { y: Int }\n"
    assert contract_violations(contract, BASE) == ["Field Other.y was removed."]
    assert (
        contract_violations(contract, served(("type Other { x: Int }", "type Other { x: Int y: Int }"))) == []
    )
