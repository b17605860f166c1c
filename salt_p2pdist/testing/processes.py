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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from salt_p2pdist.testing.waiting import WaitTimeout, wait_for


@dataclass
class Daemon:
    name: str
    proc: subprocess.Popen[bytes]
    logs: tuple[Path, ...]  # the files to show when it fails, most useful first

    def running(self) -> bool:
        """Whether the leader or any process of its group is still alive (zombies aside)."""
        return self.proc.poll() is None or any(state != "Z" for state in group_states(self.proc.pid))

    def gone(self) -> bool:
        """Whether every process of the group has exited and been reaped."""
        return self.proc.poll() is not None and not group_states(self.proc.pid)

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


def group_states(pgid: int) -> list[str]:
    """The states ("S", "R", "Z", ...) of the processes in group ``pgid``, read from /proc.

    ``os.killpg(pgid, 0)`` cannot tell: it also succeeds for zombies nobody has reaped yet.
    """
    states = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            # After the ")" that ends the command name: field 0 is the state, field 2 the group.
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:
                states.append(fields[0])
    return states


def terminate(daemons: list[Daemon], *, kill: bool = False, grace: float = 20) -> None:
    """Stop every daemon and its whole group: SIGTERM, then SIGKILL after ``grace`` seconds.

    SIGTERM goes to the leader only, which stops its children itself: sent to a whole
    salt-minion group at once it left about one minion in ten running for good (Salt
    3008.3). All daemons are signalled before we wait, since a minion takes 5 to 10 s to
    stop. ``kill`` skips SIGTERM, like a crash. Then we wait until the groups are gone,
    zombies included: orphans of a killed daemon stay zombies until init reaps them (about
    1.5 s here), and a minion restarted while its old pid exists refuses to start.
    """
    if not kill:
        for daemon in daemons:
            with contextlib.suppress(ProcessLookupError):
                daemon.proc.send_signal(signal.SIGTERM)
        _wait_until("the daemons to exit", lambda: not any(d.running() for d in daemons), grace)
    for daemon in filter(Daemon.running, daemons):  # never signal a group id that may be reused
        with contextlib.suppress(ProcessLookupError):
            os.killpg(daemon.proc.pid, signal.SIGKILL)
    # bounded: some inits never reap
    _wait_until("the process groups to be gone", lambda: all(d.gone() for d in daemons), 10)


def _wait_until(what: str, done: Callable[[], bool], timeout: float) -> None:
    """Wait for ``done``, at most ``timeout`` s; what follows copes with stragglers."""
    with contextlib.suppress(WaitTimeout):
        wait_for(what, done, timeout=timeout, every=0.1)
