"""Commands and processes inside network namespaces, and cleaning them up.

Every process the lab starts runs through ``ip netns exec`` in a session of
its own, so its process group id equals its pid: teardown kills the whole
group (a server's workers included) without guessing names. As a last sweep
``ip netns pids`` finds anything still living in one of our namespaces, e.g. a
process that made a session of its own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

# A process gets this long to exit after SIGTERM before it gets SIGKILL.
TERM_GRACE_S = 3.0


class LabError(RuntimeError):
    """The lab could not be built, run or torn down."""


def run(argv: Sequence[str], *, ns: str | None = None, timeout: float = 60.0) -> str:
    """Run a command (inside ``ns`` if given), return stdout, raise on failure."""
    full = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    try:
        done = subprocess.run(
            full, capture_output=True, timeout=timeout, check=False,
            stdin=subprocess.DEVNULL,
            # Replace, not fail: some replies (a tracker's scrape) hold binary.
            text=True, errors="replace",
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"{' '.join(full)}: {exc}") from exc
    if done.returncode != 0:
        raise LabError(f"{' '.join(full)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def namespaces(prefix: str) -> list[str]:
    """Names of existing network namespaces that start with ``prefix``."""
    out = run(["ip", "netns", "list"])
    # Lines look like "p2pl-s1 (id: 3)"; the name is the first word.
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if n.startswith(prefix)]


def ns_pids(ns: str) -> list[int]:
    try:
        return [int(p) for p in run(["ip", "netns", "pids", ns]).split()]
    except LabError:
        return []  # the namespace is already gone


def _signal_pid(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def kill_all_in(ns: str) -> None:
    """SIGKILL every process in namespace ``ns`` (all of them are the lab's)."""
    for pid in ns_pids(ns):
        _signal_pid(pid, signal.SIGKILL)


def purge(prefix: str) -> list[str]:
    """Kill every process in, and delete, every namespace named ``prefix*``.

    Used at start (a crashed run's leftovers) and as the last step of
    teardown. Returns the namespaces it removed.
    """
    names = namespaces(prefix)
    for name in names:
        kill_all_in(name)
    # A killed process may take a moment to let go of its namespace; deleting
    # the name works anyway (the kernel frees the namespace with the last
    # reference), so one pass is enough.
    for name in names:
        # A failure means it raced with another deletion: gone either way.
        with contextlib.suppress(LabError):
            run(["ip", "netns", "del", name])
    return names


class Processes:
    """The processes started in the lab, stopped by process group."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._procs: list[subprocess.Popen[bytes]] = []

    def spawn(
        self,
        ns: str,
        argv: Sequence[str],
        *,
        log_name: str,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` inside namespace ``ns``; output goes to log_dir/log_name.log."""
        log_path = self.log_dir / f"{log_name}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", ns, *argv],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                cwd=cwd, env=env,
                # A new session makes pid == pgid, and keeps the terminal's
                # Ctrl-C away from children: the lab stops them itself, in order.
                start_new_session=True,
            )
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        self.stop_many([proc])

    def stop_many(self, procs: Sequence[subprocess.Popen[bytes]]) -> None:
        """SIGTERM each group, wait up to TERM_GRACE_S, then SIGKILL the rest."""
        for proc in procs:
            self._kill_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + TERM_GRACE_S
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for proc in procs:
            # Even if the leader exited, its children may still hold the group.
            self._kill_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=TERM_GRACE_S)
            if proc in self._procs:
                self._procs.remove(proc)

    def stop_all(self) -> None:
        self.stop_many(list(self._procs))

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes], sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
