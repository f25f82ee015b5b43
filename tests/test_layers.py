"""Imports point one way: content never reaches up into the GraphQL edge, and no modules import each other
in a circle (an import inside a function, to dodge one, counts too)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PACKAGE = ROOT / "cms"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(path): path for path in PACKAGE.rglob("*.py")}


def _imports(path: Path) -> set[str]:
    """The project modules a file imports, anywhere in it (`from cms.content import articles` is the
    module cms.content.articles when there is one)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in MODULES}
        elif isinstance(node, ast.ImportFrom) and node.module in MODULES and node.level == 0:
            named = {f"{node.module}.{alias.name}" for alias in node.names}
            found |= {name for name in named if name in MODULES} or {node.module}
    return found


GRAPH = {module: _imports(path) - {module} for module, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import each other, directly or not (Tarjan's strongly connected
    components of more than one module)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return groups


def test_no_modules_import_each_other_in_a_circle() -> None:
    assert _cycles(GRAPH) == []


def test_the_circle_finder_finds_one() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_content_and_files_never_import_the_graphql_edge() -> None:
    below = [m for m in GRAPH if m.startswith(("cms.content", "cms.files", "cms.models", "cms.db"))]
    assert below
    upward = {m: sorted(t for t in GRAPH[m] if t.startswith("cms.graphql")) for m in below}
    assert upward == {m: [] for m in below}


def test_the_request_context_knows_nothing_above_it() -> None:
    """The context is what fields and the planner are given: it imports neither."""
    assert {t for t in GRAPH["cms.graphql.context"] if t.startswith("cms.graphql")} == set()
