"""Start real Salt daemons (one master, any number of minions) for tests and labs.

Used by the integration tests, by ``make demo`` and by the network-namespace
WAN lab. It drives the real ``salt-master``/``salt-minion`` programs and the
real ``salt``/``salt-run`` CLIs, so the tests exercise what an admin runs.
We do not use pytest-salt-factories: it needs pytest, its event listener binds
0.0.0.0, and it cannot start a daemon inside a network namespace.

Everything lives under one root directory and runs as the current user on
free loopback ports, so several labs can run side by side without root.
Linux only (process groups, ``/proc``), like the lab it serves.
"""

from __future__ import annotations

import atexit
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

# Throwaway-lab speed-ups. Minions retry authentication every second instead of
# every 10 s and skip the random back-off that protects real masters from
# reconnect storms; returns are retried after 1 s.
_MINION_DEFAULTS: dict[str, Any] = {
    "acceptance_wait_time": 1,
    "acceptance_wait_time_max": 2,
    "random_reauth_delay": 0,
    "recon_default": 200,
    "recon_max": 1000,
    "recon_randomize": False,
    "return_retry_timer": 1,
    "return_retry_timer_max": 2,
    "loop_interval": 1,  # the scheduler and beacons tick once per loop_interval
}
# Three MWorkers instead of five: enough for a few dozen minions, less memory.
_MASTER_DEFAULTS: dict[str, Any] = {"auto_accept": True, "worker_threads": 3}
# Unix socket paths are limited to 107 bytes and Salt's socket names
# (minion_event_<hash>_pull.ipc, workers-<pool>-<n>.ipc) take up to ~35.
_MAX_SOCK_DIR = 70


class SaltLabError(RuntimeError):
    """A daemon did not start or died, or a CLI call gave unusable output."""


@dataclass(frozen=True)
class MinionSpec:
    """One minion: its id, static grains and extra config merged over ours."""

    id: str
    grains: dict[str, Any] = field(default_factory=dict)
    opts: dict[str, Any] = field(default_factory=dict)
    netns: str | None = None  # run under `ip netns exec <netns>` (lab, root only)


@dataclass
class _Daemon:
    name: str
    proc: subprocess.Popen[bytes]
    logs: tuple[Path, ...]  # Salt's own log file, then captured stdout/stderr

    def tail(self, lines: int = 40) -> str:
        parts = []
        for log in self.logs:
            text = log.read_text(errors="replace") if log.exists() else ""
            parts.append(f"--- {log} ---\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts)


def _free_port() -> int:
    # Racy by nature (the port is released before Salt binds it), but fine for
    # a lab; a clash shows up as a master that dies at start with a clear log.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kwarg_strings(kwargs: dict[str, Any] | None) -> list[str]:
    # The CLIs YAML-load each `key=value`; JSON is valid YAML, so non-strings
    # keep their type. Strings go as-is, so "true" or "2" are still YAML-typed.
    return [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in (kwargs or {}).items()]


def _parse_json(proc: subprocess.CompletedProcess[str]) -> Any:
    """Return the JSON document that ends stdout; salt-run may print event lines before it."""
    out = proc.stdout.strip()
    decoder = json.JSONDecoder()
    for start in [0] + [i + 1 for i, ch in enumerate(out) if ch == "\n"]:
        try:
            value, end = decoder.raw_decode(out, start)
        except json.JSONDecodeError:
            continue
        if end == len(out):
            return value
    raise SaltLabError(f"no JSON from {proc.args!r} (rc={proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


def _group_alive(pgid: int) -> bool:
    # os.killpg(pgid, 0) also succeeds for zombies nobody has reaped yet, so
    # read /proc and ignore them; field 5 of /proc/<pid>/stat is the pgrp.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


class SaltLab:
    """A throwaway master and minions under ``root``; use as a context manager."""

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
        self.root = Path(root).resolve()
        self.master_host = master_host  # the minions' `master:` and the master's `interface`
        self.master_netns = master_netns
        self._python = python
        self._bin = Path(python).parent
        self._extension_dirs = {k: [str(d) for d in v] for k, v in (extension_dirs or {}).items()}
        self._extra_master_opts = dict(master_opts or {})
        self._master_opts: dict[str, Any] = {}
        self._master: _Daemon | None = None
        self._minions: dict[str, _Daemon] = {}
        self._specs: dict[str, MinionSpec] = {}

    # -- paths and configuration ------------------------------------------------

    @property
    def master_config_dir(self) -> Path:
        return self.root / "master" / "conf"

    @property
    def master_opts(self) -> dict[str, Any]:
        """The master config as written to disk (ports included) once started."""
        return self._master_opts

    def minion_root(self, minion_id: str) -> Path:
        return self.root / "minions" / minion_id

    def minion_config_dir(self, minion_id: str) -> Path:
        return self.minion_root(minion_id) / "conf"

    def _base_opts(self, daemon_root: Path, log_name: str) -> dict[str, Any]:
        # Salt prepends root_dir to any path outside it (even absolute ones),
        # so root_dir is the lab root and each daemon's paths sit below it.
        sock_dir = daemon_root / "sock"
        if len(str(sock_dir)) > _MAX_SOCK_DIR:
            raise SaltLabError(f"{sock_dir} is too long for Unix sockets; use a shorter lab root")
        return {
            "user": pwd.getpwuid(os.geteuid()).pw_name,
            "root_dir": str(self.root),
            "pki_dir": str(daemon_root / "pki"),
            "cachedir": str(daemon_root / "cache"),
            "extension_modules": str(daemon_root / "cache" / "extmods"),
            "sock_dir": str(sock_dir),
            "pidfile": str(daemon_root / "run" / f"{log_name}.pid"),
            "log_file": str(self.root / "logs" / f"{log_name}.log"),
            "key_logfile": str(self.root / "logs" / f"{log_name}-key.log"),
            "log_level_logfile": "info",
            # Explicit roots: the defaults (/srv/salt) are not prefixed with root_dir.
            "file_roots": {"base": [str(daemon_root / "srv" / "salt")]},
            "pillar_roots": {"base": [str(daemon_root / "srv" / "pillar")]},
            **self._extension_dirs,
        }

    def _write_config(self, config_dir: Path, name: str, opts: dict[str, Any]) -> None:
        for key in ("pki_dir", "cachedir", "sock_dir"):
            Path(opts[key]).mkdir(parents=True, exist_ok=True)
        for path in ("pidfile", "log_file"):
            Path(opts[path]).parent.mkdir(parents=True, exist_ok=True)
        for roots in (opts["file_roots"], opts["pillar_roots"]):
            for d in roots["base"]:
                Path(d).mkdir(parents=True, exist_ok=True)
        config_dir.mkdir(parents=True, exist_ok=True)
        # JSON is valid YAML, and it spares us a YAML dependency here.
        (config_dir / name).write_text(json.dumps(opts, indent=2) + "\n")

    # -- processes -------------------------------------------------------------

    def _command(self, prog: str, argv: tuple[str, ...], netns: str | None) -> list[str]:
        prefix = ["ip", "netns", "exec", netns] if netns else []
        return [*prefix, self._python, str(self._bin / prog), *argv]

    def _spawn(self, name: str, prog: str, opts: dict[str, Any], netns: str | None) -> _Daemon:
        config_dir = Path(opts["root_dir"]) / "conf"
        out = self.root / "logs" / f"{name}.out"
        with out.open("ab") as out_file:  # the child keeps its own copy of the fd
            proc = subprocess.Popen(
                self._command(prog, ("-c", str(config_dir)), netns),
                stdin=subprocess.DEVNULL, stdout=out_file, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches every child
            )
        return _Daemon(name, proc, (Path(opts["log_file"]), out))

    def _wait(self, what: str, ready: Callable[[], bool], daemons: list[_Daemon], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [d for d in daemons if d.proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                why = f"{dead[0].name} exited with {dead[0].proc.returncode}" if dead else f"timed out after {timeout:.0f}s"
                tails = "\n".join(d.tail() for d in (dead or daemons))
                raise SaltLabError(f"{why} while waiting for {what}\n{tails}")
            time.sleep(0.2)

    @staticmethod
    def _terminate(daemon: _Daemon, *, kill: bool, grace: float = 15) -> None:
        pgid = daemon.proc.pid  # start_new_session made it the group leader
        deadline = time.monotonic() + (0 if kill else grace)
        try:
            os.killpg(pgid, signal.SIGKILL if kill else signal.SIGTERM)
        except ProcessLookupError:
            pass
        # Children can outlive the leader, so wait for the whole group.
        while (daemon.proc.poll() is None or _group_alive(pgid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _group_alive(pgid) or daemon.proc.poll() is None:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        daemon.proc.wait()

    # -- lifecycle ---------------------------------------------------------------

    def start(self, minions: list[MinionSpec], timeout: float = 120) -> None:
        """Start the master and ``minions``; return once every minion answers test.ping."""
        atexit.register(self.stop)  # `make demo` interrupted: still leave nothing behind
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        master_root = self.root / "master"
        opts = {
            **self._base_opts(master_root, "master"),
            "interface": self.master_host,
            "publish_port": _free_port(),
            "ret_port": _free_port(),
            **_MASTER_DEFAULTS,
            **self._extra_master_opts,
        }
        self._write_config(self.master_config_dir, "master", opts)
        self._master_opts = opts
        self._master = self._spawn("master", "salt-master", opts, self.master_netns)
        # The master's event publisher socket is the last IPC piece the CLIs
        # need; minions retry on their own until its TCP ports accept.
        event_sock = Path(opts["sock_dir"]) / "master_event_pub.ipc"
        self._wait("the master", event_sock.exists, [self._master], timeout)
        for spec in minions:
            self._spawn_minion(spec)
        self._wait_pings([s.id for s in minions], timeout)

    def _spawn_minion(self, spec: MinionSpec) -> None:
        if not self._master:
            raise SaltLabError("start() the master before adding minions")
        opts = {
            **self._base_opts(self.minion_root(spec.id), f"minion-{spec.id}"),
            "id": spec.id,
            "master": self.master_host,
            "master_port": self._master_opts["ret_port"],
            "publish_port": self._master_opts["publish_port"],
            "grains": spec.grains,
            **_MINION_DEFAULTS,
            **spec.opts,
        }
        self._write_config(self.minion_config_dir(spec.id), "minion", opts)
        self._specs[spec.id] = spec
        self._minions[spec.id] = self._spawn(f"minion-{spec.id}", "salt-minion", opts, spec.netns)

    def _wait_pings(self, ids: list[str], timeout: float) -> None:
        pending = set(ids)

        def all_answered() -> bool:
            try:
                ret = self.salt(",".join(sorted(pending)), "test.ping", tgt_type="list", timeout=5)
            except SaltLabError:  # e.g. "No minions matched" before any key is accepted
                return False
            pending.difference_update(i for i, v in ret.items() if v is True)
            return not pending

        waiting = [self._minions[i] for i in ids]
        self._wait(f"test.ping from {sorted(pending)}", all_answered, waiting, timeout)

    def start_minion(self, spec: MinionSpec, timeout: float = 60) -> None:
        """Add a minion to a running lab, or restart it (with a new spec) if it runs."""
        if spec.id in self._minions:
            self.stop_minion(spec.id)
        self._spawn_minion(spec)
        self._wait_pings([spec.id], timeout)

    def stop_minion(self, minion_id: str, *, kill: bool = False) -> None:
        """Stop one minion; ``kill=True`` SIGKILLs it at once, like a crash or power loss."""
        daemon = self._minions.pop(minion_id, None)
        if daemon:
            self._terminate(daemon, kill=kill)

    def stop(self) -> None:
        """Stop every daemon this lab started, minions first. Safe to call twice."""
        for minion_id in list(self._minions):
            self.stop_minion(minion_id)
        if self._master:
            self._terminate(self._master, kill=False)
            self._master = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- CLIs ----------------------------------------------------------------------

    def cli(
        self, prog: str, *argv: str, timeout: float = 120, netns: str | None = None, minion_id: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``prog -c <config dir> argv...``; no check of the exit code.

        Salt exits non-zero for ordinary failures (a minion did not answer, a
        function returned False) and zero for some real ones (eauth denials),
        so callers judge the output. ``salt-call`` needs ``minion_id``; the
        program runs in the namespace of the daemon it talks to unless
        ``netns`` says otherwise.
        """
        if minion_id is not None:
            config_dir, default_ns = self.minion_config_dir(minion_id), self._specs[minion_id].netns
        else:
            config_dir, default_ns = self.master_config_dir, self.master_netns
        cmd = self._command(prog, ("-c", str(config_dir), *argv), netns or default_ns)
        try:
            return subprocess.run(cmd, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise SaltLabError(f"{prog} {' '.join(argv)} took longer than {timeout}s") from exc

    def salt(
        self, tgt: str, fun: str, *args: str, tgt_type: str = "glob", timeout: int = 60,
        kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Publish ``fun`` with the ``salt`` CLI and return ``{minion_id: return}``."""
        target_flag = [] if tgt_type == "glob" else ["--" + tgt_type.replace("_", "-")]
        argv = ["--out", "json", "--static", "--timeout", str(timeout), *target_flag, tgt, fun, *args]
        # The CLI's own start-up takes a few seconds on top of the job timeout.
        data = _parse_json(self.cli("salt", *argv, *_kwarg_strings(kwargs), timeout=timeout + 60))
        if not isinstance(data, dict):
            raise SaltLabError(f"salt {tgt} {fun} returned {data!r}, not a dict of minions")
        return data

    def salt_run(
        self, fun: str, *args: str, timeout: int = 120, kwargs: dict[str, Any] | None = None,
        user_args: list[str] | None = None,
    ) -> Any:
        """Run a runner with the ``salt-run`` CLI and return its parsed return value."""
        argv = [*(user_args or []), "--out", "json", "--timeout", str(timeout), fun, *args]
        return _parse_json(self.cli("salt-run", *argv, *_kwarg_strings(kwargs), timeout=timeout + 60))
