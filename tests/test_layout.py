"""The package layout keeps its promises: no import cycle among the modules of `scheduler`
and of each solver package (imports inside functions count, type-only imports do not), and
imports flow one way, scenarios -> solvers -> scheduler, with the command line above all."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest
from paths import ROOT

PACKAGES = ("scheduler", "solvers", "scenarios")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "instances" not in p.parts
    }


def _runtime_imports(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import not under `if TYPE_CHECKING:`."""
    found: list[tuple[str, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def import_graph() -> nx.DiGraph:
    """Module -> module edges among the project's own modules (a package's __init__ counts as
    the package; `from pkg import mod` is an edge to the submodule)."""
    modules = _modules()
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target, names in _runtime_imports(ast.parse(path.read_text())):
            for imported in [f"{target}.{n}" for n in names] + [target]:
                if imported in modules:
                    if imported != name:
                        graph.add_edge(name, imported)
                    if imported != target:
                        break
    return graph


@pytest.mark.parametrize("root", ["scheduler", "solvers.cpsat", "solvers.heuristics", "solvers"])
def test_no_import_cycles(root: str) -> None:
    graph = import_graph()
    inside = graph.subgraph(n for n in graph if n == root or n.startswith(root + "."))
    # a package's __init__ re-exporting its modules is not a cycle of the design
    edges = [(a, b) for a, b in inside.edges if not (b != root and a == b.rsplit(".", 1)[0])]
    cycles = list(nx.simple_cycles(nx.DiGraph(edges)))
    assert not cycles, f"import cycles: {cycles[:3]}"


def test_imports_flow_one_way() -> None:
    """scheduler imports no solver or scenario (but its command line), solvers no scenario."""
    graph = import_graph()

    def command_line(module: str) -> bool:
        return module == "scheduler.cli" or module.startswith("scheduler.cli.")

    wrong = [
        (a, b)
        for a, b in graph.edges
        if (a.startswith("scheduler") and not command_line(a) and not b.startswith("scheduler"))
        or (a.startswith("solvers") and b.startswith("scenarios"))
    ]
    assert not wrong, f"imports against the layout: {wrong}"
