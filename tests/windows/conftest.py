"""The Windows tier: p2pdist agents under the real Windows CPython and libtorrent (Wine).

``make test-windows`` builds the environment (tests/windows/build_env.py) and runs this
directory with P2PDIST_WINDOWS_TIER=1: then a missing environment fails the run. Without
that variable (``make test``, i.e. ``pytest tests``) the tier is skipped with the reason,
built or not: it has its own command, and CI runs it once.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from winswarm import Swarm

from salt_p2pdist.testing.wine import WindowsHost

DEFAULT_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "windows"
CACHE = Path(os.environ.get("P2PDIST_WINDOWS_CACHE") or DEFAULT_CACHE)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("P2PDIST_WINDOWS_TIER") == "1":
        return  # asked for: a missing environment fails in the fixture
    skip = pytest.mark.skip(reason="the Windows tier runs with `make test-windows`")
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def windows() -> WindowsHost:
    host = WindowsHost(CACHE)
    if not host.ready():
        pytest.fail(f"no Windows environment in {CACHE}: `make test-windows` builds it")
    return host


@pytest.fixture
def swarm(windows: WindowsHost, tmp_path: Path) -> Iterator[Swarm]:
    s = Swarm(tmp_path, windows)
    try:
        yield s
    finally:
        s.close()
