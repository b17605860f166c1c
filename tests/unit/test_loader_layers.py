"""The loader modules stay thin: master code and minion code meet only in the layers below them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def imported(path: Path) -> set[str]:
    """Every salt_p2pdist module a file imports (at any depth of the file)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {name for name in found if name.startswith("salt_p2pdist.")}


def layer(name: str) -> str:
    return name.split(".")[1]


@pytest.mark.parametrize(("package", "allowed"), [
    ("master", {"master", "agent", "tracker", "torrent", "files", "core"}),
    ("minion", {"minion", "agent", "torrent", "files", "core"}),
])
def test_master_and_minion_code_do_not_import_each_other(package: str, allowed: set[str]) -> None:
    for path in (ROOT / "salt_p2pdist" / package).glob("*.py"):
        upward = {n for n in imported(path) if layer(n) not in allowed}
        assert not upward, f"{path.name} imports {sorted(upward)}"


@pytest.mark.parametrize(("loader", "side"), [
    ("_runners", "master"), ("_returners", "master"), ("_modules", "minion"), ("_states", "minion"),
    ("_beacons", "minion")])
def test_each_loader_module_calls_its_own_side_only(loader: str, side: str) -> None:
    for path in (ROOT / loader).glob("*.py"):
        other = {n for n in imported(path) if layer(n) not in (side, "core")}
        assert not other, f"{loader}/{path.name} reaches past {side}/: {sorted(other)}"
