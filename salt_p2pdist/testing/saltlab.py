"""Start real Salt daemons (one master, any number of minions) for tests, the demo and the lab.

It runs the real ``salt-master``/``salt-minion`` programs and the real ``salt``/``salt-run``
CLIs, so tests exercise what an admin runs. We do not use pytest-salt-factories: it needs
pytest, its event listener binds 0.0.0.0, and it cannot put a daemon in a network namespace.
Every path sits under one root directory and the daemons run as the current user on free
loopback ports, so labs run side by side without root. Linux only (process groups, /proc).
Their config files are written by ``saltconfig``, the CLIs run by ``saltcli``.
"""

from __future__ import annotations

import atexit
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from salt_p2pdist.testing.processes import Daemon, spawn, terminate
from salt_p2pdist.testing.saltcli import SaltCommands
from salt_p2pdist.testing.saltconfig import (
    MASTER_DEFAULTS,
    MINION_DEFAULTS,
    MinionSpec,
    SaltLabError,
    free_port,
    write_config,
)
from salt_p2pdist.testing.waiting import WaitTimeout, wait_for

__all__ = ["MinionSpec", "SaltLab", "SaltLabError", "free_port"]


class SaltLab(SaltCommands):
    """A throwaway master and its minions under ``root``; use it as a context manager."""

    def __init__(
        self,
        root: Path,
        *,
        master_opts: dict[str, Any] | None = None,
        master_netns: str | None = None,
        master_host: str = "127.0.0.1",
        python: str = sys.executable,
        extension_dirs: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(root, python=python, master_netns=master_netns)
        self.master_host = master_host  # the minions' `master:` and the master's `interface`
        # e.g. {"module_dirs": [...], "runner_dirs": [...]}, written to master and minions.
        self._extension_dirs = {key: [str(d) for d in dirs] for key, dirs in (extension_dirs or {}).items()}
        self._extra_master_opts = dict(master_opts or {})
        self._master_opts: dict[str, Any] = {}
        self._master: Daemon | None = None
        self._minions: dict[str, Daemon] = {}
        atexit.register(self.stop)  # an interrupted `make demo` still leaves nothing behind

    @property
    def master_opts(self) -> dict[str, Any]:
        """The master config as written, ports included; empty before start()."""
        return self._master_opts

    # -- daemons ---------------------------------------------------------------------------

    def start(self, minions: list[MinionSpec], timeout: float = 120) -> None:
        """Start the master and ``minions``; return once every minion answers test.ping."""
        if self._master:
            raise SaltLabError("this lab is already started; use start_minion() to add minions")
        try:
            (self.root / "logs").mkdir(parents=True, exist_ok=True)
            opts = {"interface": self.master_host, "publish_port": free_port(), "ret_port": free_port()}
            opts |= MASTER_DEFAULTS | self._extra_master_opts
            self._master_opts = write_config(self.root, "master", "master", self.root / "master",
                                             self._extension_dirs | opts)
            self._master = self._spawn("master", "salt-master", self.master_config_dir, self.master_netns)
            # The event socket appears ~0.5 s before the TCP ports accept; minions retry.
            event_sock = Path(self._master_opts["sock_dir"]) / "master_event_pub.ipc"
            self._wait("the master", event_sock.exists, [self._master], timeout)
            for spec in minions:
                self._spawn_minion(spec)
            self._wait_pings([spec.id for spec in minions], timeout)
        except BaseException:
            self.stop()
            raise

    def restart_master(self, *, kill: bool = False, timeout: float = 120) -> None:
        """Stop the master (``kill=True``: like a crash) and start it again with the
        same config; return once every running minion answers again."""
        if self._master:
            terminate([self._master], kill=kill)
        event_sock = Path(self._master_opts["sock_dir"]) / "master_event_pub.ipc"
        event_sock.unlink(missing_ok=True)
        self._master = self._spawn("master", "salt-master", self.master_config_dir, self.master_netns)
        self._wait("the master", event_sock.exists, [self._master], timeout)
        self._wait_pings(list(self._minions), timeout)

    def start_minion(self, spec: MinionSpec, timeout: float = 60) -> None:
        """Add a minion to the running lab, or restart it (with this spec) if it runs."""
        self.stop_minion(spec.id)
        self._spawn_minion(spec)
        self._wait_pings([spec.id], timeout)

    def stop_minion(self, minion_id: str, *, kill: bool = False) -> None:
        """Stop one minion; ``kill=True`` SIGKILLs it at once, like a crash or power loss."""
        daemon = self._minions.pop(minion_id, None)
        if daemon:
            terminate([daemon], kill=kill)

    def minion_pid(self, minion_id: str) -> int:
        """The pid of a running minion's main process (its process group's leader)."""
        return self._minions[minion_id].proc.pid

    def stop(self) -> None:
        """Stop every daemon this lab started, minions first. Safe to call again."""
        minions, self._minions = list(self._minions.values()), {}
        terminate(minions, kill=False)
        if self._master:
            terminate([self._master], kill=False)
            self._master = None

    def __enter__(self) -> SaltLab:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _spawn_minion(self, spec: MinionSpec) -> None:
        if not self._master:
            raise SaltLabError("start() the lab before adding minions")
        opts = {
            "id": spec.id,
            "master": self.master_host,
            "master_port": self._master_opts["ret_port"],
            "publish_port": self._master_opts["publish_port"],
            "grains": spec.grains,
            **MINION_DEFAULTS,
            **spec.opts,
        }
        name = f"minion-{spec.id}"  # names its log files
        write_config(self.root, name, "minion", self.minion_root(spec.id), self._extension_dirs | opts)
        self._specs[spec.id] = spec
        self._minions[spec.id] = self._spawn(name, "salt-minion", self.minion_config_dir(spec.id), spec.netns)

    def _spawn(self, name: str, prog: str, config_dir: Path, netns: str | None) -> Daemon:
        # Salt writes <name>.log itself (log_file); <name>.out catches tracebacks before logging starts.
        cmd = self._command(prog, ("-c", str(config_dir)), netns)
        return spawn(name, cmd, self.root / "logs" / f"{name}.out", (self.root / "logs" / f"{name}.log",))

    def _wait(self, what: str, ready: Callable[[], bool], daemons: list[Daemon], timeout: float) -> None:
        def ready_while_alive() -> bool:
            if ready():
                return True
            dead = [d for d in daemons if d.proc.poll() is not None]
            if dead:  # no use waiting on
                tails = "\n".join(d.tail() for d in dead)
                raise SaltLabError(f"{dead[0].name} exited ({dead[0].proc.returncode}) "
                                   f"while waiting for {what}\n{tails}")
            return False

        try:
            wait_for(what, ready_while_alive, timeout=timeout, every=0.2)
        except WaitTimeout:
            tails = "\n".join(d.tail() for d in daemons)
            raise SaltLabError(f"timed out while waiting for {what}\n{tails}") from None

    def _wait_pings(self, ids: list[str], timeout: float) -> None:
        pending, last_error = set(ids), [""]

        def all_answered() -> bool:
            # A ping published before a restarted minion connects is lost, and then the
            # salt CLI waits timeout + gather_job_timeout (5 + 10 s); manage.up takes both.
            limits = {"tgt_type": "list", "timeout": 3, "gather_job_timeout": 2}
            try:
                up = self.salt_run("manage.up", ",".join(sorted(pending)), kwargs=limits, timeout=10)
                pending.difference_update(up if isinstance(up, list) else [])
            except SaltLabError as exc:  # e.g. the CLI cannot reach the master yet
                last_error[0] = str(exc)
            return not pending

        try:
            self._wait("test.ping", all_answered, [self._minions[i] for i in ids], timeout)
        except SaltLabError as exc:
            raise SaltLabError(f"{sorted(pending)} did not answer: {exc}\n{last_error[0]}") from None
