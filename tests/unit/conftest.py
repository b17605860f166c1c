"""Shared helpers for the unit tests: small real files and real torrents."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest


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
