"""The package's imports go one way: no circle, low layers never import high ones, nothing imports the CLI.

Imports are read from the source (module level and inside functions alike, since a lazy import is still a
dependency), so the test needs no import of the package and fails on a new edge, not on a slow start."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "evolino"

# Bottom to top; a module may import its own layer (within it: no circle) and the layers below. Matched by the
# longest prefix; docs/architecture.md draws the same picture.
LAYERS = [
    ("foundation", ["errors", "atomic", "blas", "params", "metrics", "scaling", "progress", "provenance", "plots",
                    "checkpoint"]),
    ("network and data", ["network", "kernels", "readout", "tasks", "search"]),
    ("fitness", ["fitness", "labels", "evaluation", "model", "fitted"]),
    ("search and baselines", ["optimizers", "backends", "baselines"]),
    ("estimators", ["trainer", "per_sequence", "classifier", "regressor", "forecasting", "integration"]),
    ("runs", ["config", "run_folder", "reporting", "runs"]),
    ("sweeps", ["sweep"]),
    ("command line", ["cli", "__main__"]),
]


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["evolino", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package modules ``name`` imports (``from a import b`` counts as a.b when b is a module)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]).strip(".") \
                if node.level else node.module or ""
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names)
    return {m for m in found if m in known and m != name}


@functools.cache
def import_graph() -> dict[str, set[str]]:
    names = module_names()
    return {name: imports_of(name, path, set(names)) for name, path in names.items()}


def layer_of(name: str) -> int | None:
    short = name.removeprefix("evolino").removeprefix(".")
    matches = [(len(prefix), rank) for rank, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
               if short == prefix or short.startswith(prefix + ".")]
    return max(matches)[1] if matches else None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_cycle_finder_finds_a_circle_and_accepts_a_chain():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_relative_and_from_imports_are_resolved(tmp_path):
    path = tmp_path / "__init__.py"
    path.write_text("from . import b\nfrom .c import thing\nimport x.y\n")
    known = {"p", "p.b", "p.c", "x.y"}
    assert imports_of("p", path, known) == {"p.b", "p.c", "x.y"}


def test_the_package_has_no_import_circle():
    assert cycles(import_graph()) == []


def test_nothing_in_the_package_imports_the_command_line():
    importers = sorted(name for name, targets in import_graph().items() if "evolino.cli" in targets)
    assert importers == ["evolino.__main__"]


def test_every_module_has_a_layer():
    assert [name for name in import_graph() if name != "evolino" and layer_of(name) is None] == []


def test_imports_go_down_the_layers():
    graph = import_graph()
    upward = {name: sorted(t for t in targets if t != "evolino" and layer_of(t) > layer_of(name))
              for name, targets in graph.items() if name != "evolino"}  # the front door re-exports every layer
    assert {name: targets for name, targets in upward.items() if targets} == {}


def test_the_layer_check_catches_an_upward_import():
    assert layer_of("evolino.network") < layer_of("evolino.trainer") < layer_of("evolino.runs")
    assert layer_of("evolino.tasks.data") == layer_of("evolino.network")


def test_only_the_entry_point_names_the_command_line_module():
    """What `grep -rn "evolino.cli" evolino/` finds: the entry point, and the CLI itself."""
    naming = sorted(path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")
                    if "evolino.cli" in path.read_text() and path.name != "cli.py")
    assert naming == ["__main__.py"]
