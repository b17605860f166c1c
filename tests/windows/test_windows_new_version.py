"""A new version of a file, changed in place, on a Windows agent: only its changed pieces move.

The older version's torrent holds its file open at dest while it seeds: Windows
would refuse to replace it, so the agent stops sharing it just before the move.
"""

from __future__ import annotations

import os
from pathlib import Path

from winswarm import Swarm, wait_for

MiB = 2**20
PIECE = 64 * 1024  # the automatic piece size for 4 MiB: the smallest


def test_a_new_version_replaces_the_old_and_downloads_only_its_changed_pieces(
        swarm: Swarm, tmp_path: Path) -> None:
    v1, v2 = tmp_path / "v1" / "disk.img", tmp_path / "v2" / "disk.img"
    v1.parent.mkdir()
    v2.parent.mkdir()
    v1.write_bytes(os.urandom(4 * MiB))
    changed = bytearray(v1.read_bytes())
    changed[1_000_000:1_040_000] = os.urandom(40_000)  # 2 pieces
    changed[3_000_000:3_010_000] = os.urandom(10_000)  # 1 piece
    v2.write_bytes(bytes(changed))
    torrent1, id1 = swarm.publish(v1)
    torrent2, id2 = swarm.publish(v2)
    win = swarm.windows_agent("win1", "127.0.0.55")
    dest = win.root + "\\images"
    win.api.call("POST", "/dists", {"mode": "fetch", "torrent": torrent1, "dest": dest})
    wait_for(lambda: win.status(id1)["state"] == "seeding", 90, "v1 is placed and seeding")

    win.api.call("POST", "/dists", {"mode": "fetch", "torrent": torrent2, "dest": dest})  # no force
    wait_for(lambda: win.status(id2)["state"] in ("seeding", "failed"), 90, "v2 ends")
    status = win.status(id2)
    assert status["state"] == "seeding", status
    placed = win.host.linux_path(dest) / "disk.img"
    assert placed.read_bytes() == v2.read_bytes()
    assert 0 < status["downloaded"] <= 3 * PIECE, status
    assert status["seeded"] == 4 * MiB and status["replaced"].keys() == {id1}, status
    assert id1 not in win.api.call("GET", "/dists")  # v1 no longer shared: its file holds v2
    assert sorted(p.name for p in placed.parent.iterdir()) == ["disk.img"]  # nothing left beside it
