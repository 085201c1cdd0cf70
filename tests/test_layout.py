"""The house rules of the package's import graph: data flows one way, the core knows no pytest."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_compviz"

# Each layer may import the layers before it, never one after it.
LAYERS = ["base", "config", "core", "baseline", "history", "report", "cli", "plugin"]
BASE = {"spec", "problems", "atomic", "__init__"}


def _layer(module: str) -> str:
    top = module.split(".")[1] if module.count(".") else "__init__"
    return "base" if top in BASE else top


def _imports() -> dict[str, set[str]]:
    """Module -> the pytest_compviz modules and third-party tops it imports (any depth of the
    file, lazy imports included)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(relative.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        module = ".".join(parts)
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = parts if is_package else parts[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                else:
                    target = node.module or ""
                found.add(target)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[module] = found
    return graph


def test_layers_import_only_earlier_layers():
    wrong = []
    for module, targets in _imports().items():
        for target in targets:
            if target == "pytest_compviz" or not target.startswith("pytest_compviz."):
                continue
            if LAYERS.index(_layer(target)) > LAYERS.index(_layer(module)):
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_nothing_outside_the_plugin_imports_pytest():
    users = sorted(module for module, targets in _imports().items()
                   if any(t == "pytest" or t.startswith(("pytest.", "_pytest")) for t in targets)
                   and _layer(module) != "plugin")
    assert users == []


def test_no_process_global_tricks_in_the_package():
    text = "\n".join(path.read_text(encoding="utf-8") for path in PACKAGE.rglob("*.py"))
    for trick in ("os.fork", "gc.freeze", "gc.disable", "multiprocessing", "concurrent.futures", "_lastKey",
                  "signal.signal"):
        assert trick not in text, trick
