"""The import rule of docs/architecture.md ("Layers"), checked on the source.

Layers, top to bottom; a module imports its own layer and the ones below it:

    loader modules (_runners _modules _states _returners _beacons)
    salt_p2pdist.master, salt_p2pdist.minion  (master side, minion side)
    salt_p2pdist.agent                          (the daemon on every host)
    salt_p2pdist.tracker
    salt_p2pdist.torrent
    salt_p2pdist.files                          (files on the host)
    salt_p2pdist.core                           (pure: no Salt, libtorrent, network, processes or I/O)

The test kit (salt_p2pdist.testing) and the lab (lab/) may import anything;
the product never imports them, and the installed test kit never imports the
lab, which pip does not install. No module takes part in an import cycle.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from importgraph import Import, calls_of, find_cycle, imports_of, modules_under

REPO = Path(__file__).resolve().parents[2]
LOADER_DIRS = ("_runners", "_modules", "_states", "_returners", "_beacons")
ROOT = "salt_p2pdist"
LAYERS: tuple[tuple[str, ...], ...] = (  # top to bottom
    (*LOADER_DIRS, f"{ROOT}.loader_dirs"),  # loader_dirs: the entry point that names the loader folders
    (f"{ROOT}.master", f"{ROOT}.minion"),  # minion: the minion side, may not exist yet
    (f"{ROOT}.agent",),
    (f"{ROOT}.tracker",),
    (f"{ROOT}.torrent",),
    (f"{ROOT}.files",),
    (f"{ROOT}.core", ROOT),  # the package's own __init__ is as pure as core
)
TEST_KIT = (f"{ROOT}.testing", "lab")
NOT_INSTALLED = ("lab",)  # setup.py ships salt_p2pdist only

# What core must not import: Salt, libtorrent, the network, processes, threads, the file system.
CORE_BANNED_MODULES = (
    "salt", "libtorrent", "cryptography", "yaml", "socket", "ssl", "http", "urllib", "select",
    "selectors", "asyncio", "subprocess", "signal", "threading", "multiprocessing", "concurrent",
    "os", "io", "shutil", "tempfile", "glob", "sqlite3", "pwd", "grp",
)
# pathlib's classes only build and split names in core; these calls touch the disk.
CORE_BANNED_CALLS = (
    "open", "read_text", "read_bytes", "write_text", "write_bytes", "mkdir", "rmdir", "unlink",
    "touch", "chmod", "exists", "is_file", "is_dir", "iterdir", "glob", "rglob", "stat", "lstat",
    "resolve", "samefile", "symlink_to", "expanduser", "home", "cwd",
)

# Known import cycles, to be emptied (none today). Edges listed here are left out of the
# cycle check only; test_allowed_cycle_edges_still_exist keeps the list current.
ALLOWED_CYCLE_EDGES: set[tuple[str, str]] = set()


def _within(module: str, prefix: str) -> bool:
    if prefix == ROOT:  # the bare package: its __init__ only, not every module below it
        return module == ROOT
    return module == prefix or module.startswith(prefix + ".")


def layer_of(module: str) -> int | None:
    """Rank of the layer ``module`` belongs to (0: top), None if it is not in the product."""
    for rank, prefixes in enumerate(LAYERS):
        if any(_within(module, p) for p in prefixes):
            return rank
    return None


def _first_party(module: str) -> bool:
    return module.split(".")[0] in (ROOT, *LOADER_DIRS, *NOT_INSTALLED)


def _layer_names(rank: int) -> str:
    return ", ".join(p.removeprefix(f"{ROOT}.") for p in LAYERS[rank])


def layer_violations(imports: list[Import]) -> list[str]:
    """One readable line per import that breaks the rule."""
    found = []
    for imp in imports:
        if not _first_party(imp.target):
            continue
        in_kit = any(_within(imp.source, p) for p in TEST_KIT)
        to_kit = any(_within(imp.target, p) for p in TEST_KIT)
        source_rank, target_rank = layer_of(imp.source), layer_of(imp.target)
        if in_kit:
            if not any(_within(imp.source, p) for p in NOT_INSTALLED) and any(
                    _within(imp.target, p) for p in NOT_INSTALLED):
                found.append(f"{imp.where()} imports {imp.target}: the installed test kit cannot "
                             "import the lab, pip does not ship it")
        elif to_kit:
            found.append(f"{imp.where()} imports {imp.target}: the product never imports the test kit "
                         "or the lab")
        elif source_rank is None or target_rank is None:
            unknown = imp.source if source_rank is None else imp.target
            found.append(f"{imp.where()}: {unknown} is in no layer (add its package to LAYERS "
                         "in tests/unit/test_layers.py and to docs/architecture.md)")
        elif target_rank < source_rank:
            found.append(f"{imp.where()} imports {imp.target} from a higher layer: "
                         f"{_layer_names(source_rank)} may import only its own layer and those below")
    return found


def core_io_violations(root: Path, modules: dict[str, Path], imports: list[Import]) -> list[str]:
    found = [f"{imp.where()} imports {imp.target}: core is pure (no Salt, libtorrent, network, "
             "processes, threads or file I/O)"
             for imp in imports if layer_of(imp.source) == len(LAYERS) - 1
             and imp.target.split(".")[0] in CORE_BANNED_MODULES]
    for module, file in modules.items():
        if layer_of(module) == len(LAYERS) - 1:
            found += [f"{path}:{line} calls {name}(): core never touches the file system"
                      for path, line, name in calls_of(root, file) if name in CORE_BANNED_CALLS]
    return found


def scan(root: Path) -> tuple[dict[str, Path], list[Import]]:
    modules = modules_under(root, [d for d in (ROOT, *LOADER_DIRS, *NOT_INSTALLED) if (root / d).is_dir()])
    imports = [imp for module, file in modules.items() for imp in imports_of(root, module, file, modules)]
    return modules, imports


def import_cycle(imports: list[Import], modules: dict[str, Path]) -> list[Import]:
    edges: dict[str, dict[str, Import]] = {}
    for imp in imports:
        if imp.target in modules and imp.target != imp.source and (
                imp.source, imp.target) not in ALLOWED_CYCLE_EDGES:
            edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    return find_cycle(edges)


@pytest.fixture(scope="module")
def tree() -> tuple[dict[str, Path], list[Import]]:
    return scan(REPO)


def test_imports_go_down_the_layers_only(tree: tuple[dict[str, Path], list[Import]]) -> None:
    problems = layer_violations(tree[1])
    assert not problems, "imports against the layer rule:\n" + "\n".join(problems)


def test_core_imports_no_salt_libtorrent_network_or_io(tree: tuple[dict[str, Path], list[Import]]) -> None:
    problems = core_io_violations(REPO, *tree)
    assert not problems, "core is not pure:\n" + "\n".join(problems)


def test_no_import_cycles(tree: tuple[dict[str, Path], list[Import]]) -> None:
    cycle = import_cycle(tree[1], tree[0])
    assert not cycle, "import cycle:\n" + "\n".join(
        f"{imp.where()} {imp.source} imports {imp.target}" for imp in cycle)


def test_allowed_cycle_edges_still_exist(tree: tuple[dict[str, Path], list[Import]]) -> None:
    present = {(imp.source, imp.target) for imp in tree[1]}
    stale = sorted(ALLOWED_CYCLE_EDGES - present)
    assert not stale, f"no longer imported, remove from ALLOWED_CYCLE_EDGES: {stale}"


def test_the_checks_see_imports_hidden_in_functions(tmp_path: Path) -> None:
    """A planted upward import, core I/O and a cycle are each reported (the checks can fail)."""
    pkg = tmp_path / ROOT
    for sub in ("core", "agent"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "core" / "pure.py").write_text(
        "def f():\n    from salt_p2pdist.agent import daemon\n    return open('x')\n")
    (pkg / "agent" / "daemon.py").write_text("from . import helper\n")
    (pkg / "agent" / "helper.py").write_text("import salt_p2pdist.agent.daemon\n")
    modules, imports = scan(tmp_path)
    assert layer_violations(imports) == [
        f"{ROOT}/core/pure.py:2 imports {ROOT}.agent.daemon from a higher layer: "
        "core, salt_p2pdist may import only its own layer and those below"]
    assert core_io_violations(tmp_path, modules, imports) == [
        f"{ROOT}/core/pure.py:3 calls open(): core never touches the file system"]
    assert {(i.source, i.target) for i in import_cycle(imports, modules)} == {
        (f"{ROOT}.agent.daemon", f"{ROOT}.agent.helper"), (f"{ROOT}.agent.helper", f"{ROOT}.agent.daemon")}
