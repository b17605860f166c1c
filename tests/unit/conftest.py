"""Shared helpers for the unit tests: small real files and torrents, content to push, a real agent engine,
real libtorrent torrent handles."""

from __future__ import annotations

import base64
import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libtorrent as lt
import pytest
from hypothesis import settings

from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.settings import make_session
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.torrent import creation
from salt_p2pdist.torrent.metainfo import describe

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


@pytest.fixture
def lt_session() -> Iterator[Any]:
    """A libtorrent session with the agent's settings, on the loopback only (no DHT, LSD, UPnP or NAT-PMP)."""
    ses = make_session("127.0.0.1:0", "127.0.0.1")
    yield ses
    ses.pause()


@pytest.fixture
def add_transfer(lt_session: Any, tmp_path: Path, write_file: Callable[..., Path]) -> Callable[..., Transfer]:
    """add_transfer(name, mode="fetch", upload_limit=0) -> a transfer whose torrent (of a small
    file called ``name``) was just added to ``lt_session``; the same name, the same distribution."""
    torrents: dict[str, bytes] = {}

    def add(name: str, mode: str = "fetch", upload_limit: int = 0) -> Transfer:
        if name not in torrents:  # no tracker: nothing is announced
            content = write_file(tmp_path / "srv" / name, 64_000, seed=len(torrents))
            torrents[name] = creation.create(content, tracker="")
        torrent, staging = torrents[name], tmp_path / "staging"
        meta = describe(torrent)
        record = OrderRecord(dist_id=meta.dist_id, mode=mode, phase="staging", save_path=str(staging),
                             torrent=base64.b64encode(torrent).decode(), upload_limit=upload_limit)
        atp = lt.load_torrent_buffer(torrent)
        atp.save_path = str(staging)
        return Transfer(record=record, meta=meta, handle=lt_session.add_torrent(atp))

    return add
