"""The import rules, read from the source (AST), so that they cannot slip unnoticed:

* model_zoo imports nothing from awbench (it is a model library awbench uses, not a part of awbench);
* nothing outside awbench/cli imports the command line (the CLI parses and delegates; nobody calls it) but
  awbench/__main__.py, the entry point of `python -m awbench`;
* no import cycle between the modules of awbench and model_zoo, counting imports inside functions too. The one
  allowed edge set: awbench/cli/__init__.py importing its command modules (Typer's pattern: each command
  module adds itself to the app defined in the package).
"""

from __future__ import annotations

import ast
from functools import cache
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

pytestmark = pytest.mark.fast

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("awbench", "model_zoo")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imported_names(module: str, path: Path) -> set[str]:
    """Every module `module` imports, at its top or inside a function (not under `if TYPE_CHECKING:`).

    `from a.b import c` counts as importing the module a.b.c when there is one, else a.b."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skipped = {id(child) for node in ast.walk(tree) if _is_type_checking(node) for child in ast.walk(node)}
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            names.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names)
    return names


@cache
def import_graph() -> dict[str, set[str]]:
    """module -> the modules of awbench and model_zoo it imports (the longest known prefix of each name)."""
    graph = {}
    for module, path in MODULES.items():
        targets = set()
        for name in imported_names(module, path):
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module and not (module == "awbench.cli" and name.startswith("awbench.cli.")):
                targets.add(name)
        graph[module] = targets
    return graph


def import_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (a list of modules, the first repeated at the end), or [] when it has none."""
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as error:
        return list(error.args[1])
    return []


def test_model_zoo_imports_nothing_from_awbench():
    graph = import_graph()
    offenders = {module: sorted(name for name in targets if name.startswith("awbench"))
                 for module, targets in graph.items() if module.startswith("model_zoo")}
    assert {module: names for module, names in offenders.items() if names} == {}


def test_nothing_outside_the_cli_imports_it():
    offenders = {module: sorted(target for target in targets if target.startswith("awbench.cli"))
                 for module, targets in import_graph().items()
                 if not module.startswith("awbench.cli") and module != "awbench.__main__"}
    assert {module: names for module, names in offenders.items() if names} == {}


def test_no_import_cycles():
    assert import_cycle(import_graph()) == []


def test_the_checks_can_fail():
    """The scan finds a cycle and a forbidden import when there is one (a check that cannot fail checks nothing)."""
    assert sorted(import_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}})[:3]) == ["a", "b", "c"]
    assert "awbench.checkpoint" in import_graph()["awbench.zoo"] or "awbench.zoo" in import_graph()[
        "awbench.checkpoint"]
    assert "torch" not in MODULES and "model_zoo.registry" in imported_names("model_zoo.architectures.resnet",
                                                                              MODULES["model_zoo.architectures.resnet"])
