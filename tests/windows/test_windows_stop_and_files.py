"""A Windows agent stopped the Windows way, and a file in use at its destination.

Both describe what a Windows minion must do (MISSION R10): a stop through the agent's
API (not TerminateProcess) that saves resume data, and a placement that fails one
distribution cleanly when Windows refuses to replace a file.
"""

from __future__ import annotations

import os
from pathlib import Path

from winswarm import HeldOpen, Swarm, wait_for

MiB = 2**20


def test_stopped_mid_download_it_resumes_without_refetch_or_recheck(swarm: Swarm, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    done_src, big_src = tmp_path / "src" / "small.bin", tmp_path / "src" / "big.bin"
    done_src.write_bytes(os.urandom(1 * MiB))
    big_src.write_bytes(os.urandom(24 * MiB))
    done_torrent, done_id = swarm.publish(done_src)
    big_torrent, big_id = swarm.publish(big_src, upload_limit=2 * MiB)  # about 12 s: time to stop it
    win = swarm.windows_agent("win3", "127.0.0.53")
    win.api.call("POST", "/dists", {"mode": "fetch", "torrent": done_torrent, "dest": win.root + "\\done"})
    wait_for(lambda: win.status(done_id)["state"] == "seeding", 90, "the small download completes")
    win.api.call("POST", "/dists", {"mode": "fetch", "torrent": big_torrent, "dest": win.root + "\\big"})
    wait_for(lambda: win.status(big_id)["bytes_done"] >= 6 * MiB, 90, "a quarter of the big one")

    stopped = win.host.stop_agent(win.state_dir, win.host_id)  # as `salt minion p2pdist.stop_agent` does
    assert (stopped["result"], stopped["was_running"]) == (True, True), stopped
    wait_for(lambda: win.host.processes_of(win.state_dir) == [], 15, "the agent's process ends")
    had = win.host.linux_path(win.state_dir)
    assert not (had / "agent.json").exists(), "the agent did not go through its own shutdown"

    win.start()
    # A re-check starts a download's progress again from zero: watch it never drop.
    least = {done_id: done_src.stat().st_size, big_id: big_src.stat().st_size}

    def big_complete() -> bool:
        now = {d: win.status(d) for d in least}
        for d, st in now.items():
            least[d] = min(least[d], int(st["bytes_done"]))
        return bool(now[big_id]["state"] == "seeding")

    wait_for(big_complete, 120, "the big download completes")
    assert least[done_id] == done_src.stat().st_size  # the completed one was not re-checked
    assert least[big_id] >= 6 * MiB  # resumed from the resume data saved at the stop
    assert (win.host.linux_path(win.root + "\\big") / big_src.name).read_bytes() == big_src.read_bytes()
    # The origin was the only source: what it sent is all the agent downloaded, both runs.
    size = big_src.stat().st_size
    wait_for(lambda: swarm.origin.call("GET", f"/dists/{big_id}")["uploaded"] >= size, 10, "origin's count")
    assert swarm.origin.call("GET", f"/dists/{big_id}")["uploaded"] <= 1.1 * size


def test_a_file_in_use_at_dest_fails_that_distribution_only(swarm: Swarm, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    new, other = tmp_path / "src" / "setup.msi", tmp_path / "src" / "other.bin"
    new.write_bytes(os.urandom(2 * MiB))
    other.write_bytes(os.urandom(1 * MiB))
    torrent, dist_id = swarm.publish(new)
    other_torrent, other_id = swarm.publish(other)
    win = swarm.windows_agent("win4", "127.0.0.54")
    dest = win.host.linux_path(win.root + "\\installers")
    dest.mkdir(parents=True)
    (dest / new.name).write_bytes(b"the old version, running right now")
    holder = HeldOpen(win.host, win.root + "\\installers\\" + new.name)
    try:
        win.api.call("POST", "/dists", {"mode": "fetch", "torrent": torrent, "force": True,
                                        "dest": win.root + "\\installers"})
        wait_for(lambda: win.status(dist_id)["state"] in ("failed", "seeding"), 90, "the fetch ends")
        status = win.status(dist_id)
        assert status["state"] == "failed", status
        assert new.name in status["error"], status["error"]
        assert (dest / new.name).read_bytes() == b"the old version, running right now"
        assert sorted(p.name for p in dest.iterdir()) == [new.name]  # nothing half-written beside it
        # The agent and its other distributions go on.
        other_dest = win.root + "\\other"
        win.api.call("POST", "/dists", {"mode": "fetch", "torrent": other_torrent, "dest": other_dest})
        wait_for(lambda: win.status(other_id)["state"] == "seeding", 90, "another distribution completes")
    finally:
        holder.release()
