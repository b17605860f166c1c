"""Shared helpers for the unit tests: small real files and torrents, content to push, a real agent engine."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine

# Properties assert behaviour, never timing: Hypothesis's default 200 ms deadline per
# example fails on a busy machine (CI runs beside other work), so there is none.
settings.register_profile("p2pdist", deadline=None)
settings.load_profile("p2pdist")


def _data(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.fixture
def write_file() -> Callable[..., Path]:
    """write_file(path, size, seed=0) -> path: deterministic pseudo-random content."""

    def write(path: Path, size: int, seed: int = 0) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_data(size, seed))
        return path

    return write


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """Content on the master to push: a 100 kB file of random bytes."""
    path = tmp_path / "srv" / "app.tar"
    path.parent.mkdir()
    path.write_bytes(os.urandom(100_000))
    return path


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An agent's engine with its own libtorrent session on the loopback (loopback_engine.py orders to it)."""
    eng = Engine(AgentConfig(state_dir=tmp_path / "agent", host_id="m2", bt_interface="127.0.0.1"))
    yield eng
    eng.close()
