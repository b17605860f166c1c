"""A Windows agent stops cleanly when the session ends or a service manager closes it.

Detached, the agent has no console: Windows reaches it through its hidden top-level
window (agent/winsession.py). Under Wine, ``wineboot --end-session`` sends
WM_QUERYENDSESSION and WM_ENDSESSION to every top-level window and waits for the
answers before ending the processes, as a logoff or shutdown does; a service manager's
stop is WM_CLOSE, posted here by a Windows process. Either way the agent must save its
resume data and mark the stop clean before it answers, so the next start trusts that
data: no re-check, and it fetches only the rest. Also: how the agent is started from
inside a job object, as a service manager may run the minion.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from winswarm import Swarm, WinAgent, wait_for

MiB = 2**20
IN_A_JOB = Path(__file__).with_name("in_a_job.py")


def fetch_until_a_quarter(swarm: Swarm, win: WinAgent, src: Path) -> tuple[str, str]:
    """A download of ``src`` stopped a quarter in: (torrent, dist_id)."""
    torrent, dist_id = swarm.publish(src, upload_limit=2 * MiB)  # about 8 s: time to stop it
    win.api.call("POST", "/dists", {"mode": "fetch", "torrent": torrent, "dest": win.root + "\\dist"})
    wait_for(lambda: win.status(dist_id)["bytes_done"] >= src.stat().st_size // 4, 90, "a quarter")
    return torrent, dist_id


def assert_stopped_cleanly(win: WinAgent, dist_id: str, why: str) -> None:
    wait_for(lambda: win.host.processes_of(win.state_dir) == [], 30, "the agent's process ends")
    state = win.host.linux_path(win.state_dir)
    assert (state / "clean_stop").exists(), "no clean-stop marker: the stop was not clean"
    assert (state / "dists" / dist_id / "resume.dat").exists()
    assert not (state / "agent.json").exists(), "the agent did not go through its own shutdown"
    assert why in (state / "agent.log").read_text(errors="replace")


def assert_resumes_without_recheck(swarm: Swarm, win: WinAgent, src: Path, torrent: str,
                                   dist_id: str) -> None:
    had = win.host.linux_path(win.state_dir)
    win.start()
    assert "re-checking staged pieces" not in (had / "agent.log").read_text(errors="replace")
    # The master orders it again, naming dest in another case and with a trailing separator:
    # on Windows that is the same folder, so the same distribution goes on.
    again = win.api.call("POST", "/dists", {"mode": "fetch", "torrent": torrent,
                                            "dest": (win.root + "\\DIST\\").lower()})
    assert again["dist_id"] == dist_id
    least = [src.stat().st_size]  # a re-check starts progress from zero again: it never drops

    def complete() -> bool:
        st = win.status(dist_id)
        least[0] = min(least[0], int(st["bytes_done"]))
        return bool(st["state"] == "seeding")

    wait_for(complete, 120, "the download completes")
    assert least[0] >= src.stat().st_size // 4  # resumed from the data saved at the stop
    assert (win.host.linux_path(win.root + "\\dist") / src.name).read_bytes() == src.read_bytes()
    size = src.stat().st_size  # the origin is the only source: all the agent got, both runs
    wait_for(lambda: swarm.origin.call("GET", f"/dists/{dist_id}")["uploaded"] >= size, 10, "origin's count")
    assert swarm.origin.call("GET", f"/dists/{dist_id}")["uploaded"] <= 1.1 * size


def test_an_ending_session_stops_the_agent_cleanly_mid_download(swarm: Swarm, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(16 * MiB))
    win = swarm.windows_agent("win3", "127.0.0.55")
    torrent, dist_id = fetch_until_a_quarter(swarm, win, src)

    ended = win.host.end_session()  # logoff / shutdown
    assert_stopped_cleanly(win, dist_id, "Windows is ending the session: stopping cleanly")
    assert "exit 0" in ended, ended
    assert_resumes_without_recheck(swarm, win, src, torrent, dist_id)


def test_a_close_message_as_at_a_service_stop_stops_the_agent_cleanly(swarm: Swarm, tmp_path: Path) -> None:
    src = tmp_path / "big.bin"
    src.write_bytes(os.urandom(16 * MiB))
    win = swarm.windows_agent("win4", "127.0.0.56")
    torrent, dist_id = fetch_until_a_quarter(swarm, win, src)
    pid = json.loads(win.host.linux_path(win.state_dir + "\\agent.json").read_text())["pid"]

    assert win.host.close_window_of(pid) == "posted"  # what NSSM does before TerminateProcess
    assert_stopped_cleanly(win, dist_id, "asked to close (WM_CLOSE")
    assert_resumes_without_recheck(swarm, win, src, torrent, dist_id)


def test_the_agent_leaves_the_minions_job_object_when_the_job_allows_it(swarm: Swarm) -> None:
    script = "Z:" + str(IN_A_JOB).replace("/", "\\")
    for mode, outlives_the_job in (("breakaway-ok", True), ("no-breakaway", False)):
        state_dir = f"{swarm.win_root}\\{mode}\\state"
        # A job that ends every process in it when it closes, as a service manager's may.
        code, out = swarm.windows.python(script, mode, state_dir, "win1", json.dumps(["--bt-interface",
                                                                                      "127.0.0.57"]))
        try:
            assert code == 0, out  # started either way: inside the job when it may not be left
            if outlives_the_job:
                assert swarm.windows.processes_of(state_dir), "the agent ended with the job"
                stopped = swarm.windows.stop_agent(state_dir, "win1")  # alive, and stops cleanly
                assert (stopped["result"], stopped["was_running"]) == (True, True), stopped
            else:  # Windows' own rule, shown by Wine: what stays in the job ends with it
                wait_for(lambda sd=state_dir: swarm.windows.processes_of(sd) == [], 15, "the job ends it")
        finally:
            swarm.windows.kill_agent(state_dir)
