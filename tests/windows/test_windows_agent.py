"""A Windows agent (real Windows CPython and libtorrent, under Wine) in a closed swarm with Linux agents."""

from __future__ import annotations

import os
from pathlib import Path

from winswarm import Swarm, wait_for

MiB = 2**20


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_windows_agent_fetches_a_file_and_a_directory_into_c_drive(swarm: Swarm, tmp_path: Path) -> None:
    one = tmp_path / "src" / "app-1.0.bin"
    one.parent.mkdir()
    one.write_bytes(os.urandom(6 * MiB + 123))
    folder = tmp_path / "tools"
    (folder / "bin").mkdir(parents=True)
    (folder / "bin" / "tool.exe").write_bytes(os.urandom(3 * MiB))
    (folder / "README.txt").write_bytes(b"read me\r\n")
    (folder / "empty-ish.cfg").write_bytes(b"x")
    file_torrent, file_id = swarm.publish(one)
    dir_torrent, dir_id = swarm.publish(folder)
    win = swarm.windows_agent("win1", "127.0.0.51")

    win.api.call("POST", "/dists", {"mode": "fetch", "torrent": file_torrent, "dest": win.root + "\\apps"})
    win.api.call("POST", "/dists", {"mode": "fetch", "torrent": dir_torrent, "dest": win.root + "\\opt"})
    for dist_id in (file_id, dir_id):
        wait_for(lambda d=dist_id: win.status(d)["state"] == "seeding", 90, f"win1 completes {dist_id}")

    # Read back through the prefix's drive_c: what the Windows agent wrote in C:\.
    assert (swarm.windows.linux_path(win.root + "\\apps") / one.name).read_bytes() == one.read_bytes()
    assert tree(swarm.windows.linux_path(win.root + "\\opt") / "tools") == tree(folder)
    # A closed swarm: the torrent names the swarm CA, so the bytes came over TLS with a
    # certificate the origin issued to win1's own request (its TLS key stays on the host).
    assert swarm.windows.linux_path(win.state_dir + "\\tls.key").exists()
    # libtorrent adds transfers to its counters once a second: wait for them, do not race them.
    wait_for(lambda: swarm.origin.call("GET", f"/dists/{file_id}")["uploaded"] >= one.stat().st_size, 10,
             "the origin counts what it sent win1")


def test_windows_agent_serves_pieces_to_a_linux_agent(swarm: Swarm, tmp_path: Path) -> None:
    src = tmp_path / "src" / "image.bin"
    src.parent.mkdir()
    src.write_bytes(os.urandom(8 * MiB))
    torrent, dist_id = swarm.publish(src)
    win = swarm.windows_agent("win2", "127.0.0.52")
    win.api.call("POST", "/dists", {"mode": "fetch", "torrent": torrent, "dest": win.root + "\\dl"})
    wait_for(lambda: win.status(dist_id)["state"] == "seeding", 90, "Windows agent completes")

    # The origin stops seeding but its tracker keeps the swarm: the Windows agent is the only source.
    swarm.origin.call("DELETE", f"/dists/{dist_id}?keep_swarm=1")
    linux = swarm.linux_agent("lin1", "127.0.0.61")
    linux.call("POST", "/dists", {"mode": "fetch", "torrent": torrent, "dest": str(tmp_path / "lin1")})
    wait_for(lambda: linux.call("GET", f"/dists/{dist_id}")["state"] == "seeding", 90, "lin1 completes")

    assert (tmp_path / "lin1" / src.name).read_bytes() == src.read_bytes()
    assert linux.call("GET", f"/dists/{dist_id}")["from_origin"] == 0
    wait_for(lambda: win.status(dist_id)["uploaded"] >= src.stat().st_size, 10, "win2 counts what it sent")
