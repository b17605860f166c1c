"""Every import statement of a source tree, read with ``ast`` (nothing is imported).

Used by test_layers.py. Imports inside functions and under ``TYPE_CHECKING``
count like the others: a deferred or type-only import still ties one module
to another, and an upward import hidden in a function is the easiest to miss.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Import:
    source: str  # importing module, e.g. salt_p2pdist.core.names
    path: str  # its file, relative to the tree's root
    line: int
    target: str  # absolute name of what is imported: a module, or the package it comes from

    def where(self) -> str:
        return f"{self.path}:{self.line}"


def module_name(root: Path, file: Path) -> str:
    parts = list(file.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_under(root: Path, top_dirs: Iterable[str]) -> dict[str, Path]:
    """Module name -> file, for every .py file under the named top-level folders."""
    found: dict[str, Path] = {}
    for top in top_dirs:
        for file in sorted((root / top).rglob("*.py")):
            found[module_name(root, file)] = file
    return found


def _absolute(source: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = source.split(".") if is_package else source.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(root: Path, source: str, file: Path, known: Iterable[str] = ()) -> Iterator[Import]:
    """Each module ``file`` imports, at any depth of its syntax tree.

    ``from pkg import name`` counts as importing ``pkg.name`` when that is a
    module of the tree (``known``), else as importing ``pkg``.
    """
    known = set(known)
    path = file.relative_to(root).as_posix()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), filename=path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(source, path, node.lineno, alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(source, file.name == "__init__.py", node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield Import(source, path, node.lineno, sub if sub in known else base)


def calls_of(root: Path, file: Path) -> Iterator[tuple[str, int, str]]:
    """(path, line, name) of every call: ``open(...)`` gives open, ``p.read_text()`` read_text."""
    path = file.relative_to(root).as_posix()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), filename=path)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(
                func, ast.Attribute) else ""
            if name:
                yield path, node.lineno, name


def find_cycle(edges: dict[str, dict[str, Import]]) -> list[Import]:
    """One import cycle as the chain of imports that closes it; [] when there is none."""
    state: dict[str, str] = {}  # absent: unvisited; "open": on the current path; "done"
    path: list[Import] = []

    def visit(module: str) -> list[Import]:
        state[module] = "open"
        for target, imp in sorted(edges.get(module, {}).items()):
            if state.get(target) == "open":
                start = next((i for i, p in enumerate(path) if p.source == target), len(path))
                return [*path[start:], imp]
            if target not in state:
                path.append(imp)
                if cycle := visit(target):
                    return cycle
                path.pop()
        state[module] = "done"
        return []

    for module in sorted(edges):
        if module not in state and (cycle := visit(module)):
            return cycle
    return []
