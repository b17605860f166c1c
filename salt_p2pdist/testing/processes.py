"""Daemons in their own process groups: started with their output in a file, stopped with no leftovers.

salt-master and salt-minion fork a dozen children each (workers, job processes, a keep-alive
parent), and some outlive their parent for seconds. Each daemon therefore starts in a new
session, so its group id is its pid, and stopping means: signal the group, then wait until no
process of the group is left. Linux only (reads /proc), like the labs that use it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen[bytes]
    logs: tuple[Path, ...]  # the files to show when it fails, most useful first

    def running(self) -> bool:
        return self.proc.poll() is None or group_alive(self.proc.pid)

    def tail(self, lines: int = 40) -> str:
        texts = [(log, log.read_text(errors="replace") if log.exists() else "") for log in self.logs]
        return "\n".join(f"--- {log} ---\n" + "\n".join(t.splitlines()[-lines:]) for log, t in texts)


def spawn(name: str, cmd: list[str], out: Path, logs: tuple[Path, ...] = ()) -> Daemon:
    """Start ``cmd`` in a new session with stdout and stderr appended to ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("ab") as out_file:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Daemon(name, proc, (*logs, out))


def group_alive(pgid: int) -> bool:
    """Whether any live process is in group ``pgid``.

    Not ``os.killpg(pgid, 0)``: that also succeeds for zombies nobody has reaped yet.
    """
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # After the ")" that ends the command name: field 0 is the state, field 2 the group.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                return True
    return False


def terminate(daemons: list[Daemon], *, kill: bool = False, grace: float = 20) -> None:
    """Signal every daemon's group at once, then wait until no member is left.

    SIGTERM first and SIGKILL after ``grace`` seconds, or SIGKILL at once with ``kill``.
    All groups are signalled before waiting because a salt-minion takes 5 to 10 s to stop
    gracefully. We wait after SIGKILL too: a minion restarted while its old process still
    exists refuses to start ("An instance is already running").
    """
    rounds = [(signal.SIGKILL, 10.0)] if kill else [(signal.SIGTERM, grace), (signal.SIGKILL, 10.0)]
    for sig, wait in rounds:
        for daemon in daemons:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(daemon.proc.pid, sig)
        deadline = time.monotonic() + wait
        while any(d.running() for d in daemons) and time.monotonic() < deadline:
            time.sleep(0.1)
