"""A distribution ordered again to the same dest is the same order, by the host's path rules."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.core import names
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.torrent import creation

TRACKER = "http://127.0.0.1:9/announce"  # nothing listens


def fetch_order(tmp_path: Path, dest: str) -> dict[str, object]:
    src = tmp_path / "src" / "pkg.bin"
    if not src.exists():
        src.parent.mkdir()
        src.write_bytes(os.urandom(70_000))
    torrent = creation.create(src, TRACKER)
    return {"mode": "fetch", "torrent": base64.b64encode(torrent).decode(), "dest": dest}


def test_a_posix_host_takes_a_trailing_slash_as_the_same_dest_but_not_another_case(
        engine: Engine, tmp_path: Path) -> None:
    dest = str(tmp_path / "Dist")
    first = engine.add(fetch_order(tmp_path, dest))
    assert engine.add(fetch_order(tmp_path, dest + "/"))["dist_id"] == first["dist_id"]
    with pytest.raises(InvalidRequest, match="already on this host"):
        engine.add(fetch_order(tmp_path, str(tmp_path / "dist")))


def test_a_windows_host_takes_another_case_and_separator_as_the_same_dest(
        engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = str(tmp_path / "Dist")
    first = engine.add(fetch_order(tmp_path, dest))
    monkeypatch.setattr(names, "local_flavor", lambda: names.WINDOWS)  # the rules the engine compares by
    again = engine.add(fetch_order(tmp_path, dest.upper() + "\\"))  # other case, trailing separator
    assert again["dist_id"] == first["dist_id"]
    with pytest.raises(InvalidRequest, match="already on this host"):
        engine.add(fetch_order(tmp_path, str(tmp_path / "Dist2")))
