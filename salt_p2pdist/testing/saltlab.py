"""Start real Salt daemons (one master, any number of minions) for tests, the demo and the lab.

It runs the real ``salt-master``/``salt-minion`` programs and the real ``salt``/``salt-run``
CLIs, so tests exercise what an admin runs. We do not use pytest-salt-factories: it needs
pytest, its event listener binds 0.0.0.0, and it cannot put a daemon in a network namespace.
Every path sits under one root directory and the daemons run as the current user on free
loopback ports, so labs run side by side without root. Linux only (process groups, /proc).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from salt_p2pdist.testing.processes import Daemon, spawn, terminate

# Throwaway-lab speed-ups: minions retry authentication every second instead of every 10 s
# and skip the random back-off that protects real masters from reconnect storms.
_MINION_DEFAULTS: dict[str, Any] = {
    "acceptance_wait_time": 1, "acceptance_wait_time_max": 2, "random_reauth_delay": 0,
    "recon_default": 200, "recon_max": 1000, "recon_randomize": False,
    "return_retry_timer": 1, "return_retry_timer_max": 2, "loop_interval": 1,
}  # fmt: skip
# Three MWorkers instead of five: plenty for a lab, and ~100 MB less memory.
_MASTER_DEFAULTS: dict[str, Any] = {"auto_accept": True, "worker_threads": 3}
# Unix socket paths are limited to 107 bytes, and Salt's socket names
# (minion_event_<hash>_pull.ipc, workers-<pool>-<n>.ipc) take up to ~35 of them.
_MAX_SOCK_DIR = 70


class SaltLabError(RuntimeError):
    """A daemon did not start or died, or a CLI gave output we cannot use."""


@dataclass(frozen=True)
class MinionSpec:
    """One minion: its id, static grains, and extra minion config merged over ours."""

    id: str
    grains: dict[str, Any] = field(default_factory=dict)
    opts: dict[str, Any] = field(default_factory=dict)
    netns: str | None = None  # run under `ip netns exec <netns>` (the WAN lab; needs root)


def free_port() -> int:
    # Racy (the port is free again before Salt binds it) but fine for a lab: a clash
    # shows up as a master that dies at start, with the reason in its log.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kwarg_strings(kwargs: dict[str, Any] | None) -> list[str]:
    # The CLIs YAML-load each `key=value`. JSON is YAML, so non-strings keep their type;
    # strings go as they are, so "true" or "2" are still typed by YAML, as on a shell.
    return [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in (kwargs or {}).items()]


def _parse_json(proc: subprocess.CompletedProcess[str]) -> Any:
    """Return the JSON document that ends stdout.

    salt-run prints runner progress events (and whatever a runner prints) before the
    return value, and salt prints "No minions matched ..." before ``{}``.
    """
    out = proc.stdout.strip()
    for start in [0] + [i + 1 for i, ch in enumerate(out) if ch == "\n"]:
        with contextlib.suppress(json.JSONDecodeError):
            value, end = json.JSONDecoder().raw_decode(out, start)
            if end == len(out):
                return value
    raise SaltLabError(f"no JSON from {proc.args} (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


class SaltLab:
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
        self.root = Path(root).resolve()
        self.master_host = master_host  # the minions' `master:` and the master's `interface`
        self.master_netns = master_netns
        self._python = python
        self._bin = Path(python).parent  # salt-master, salt-run, ... sit next to python
        # e.g. {"module_dirs": [...], "runner_dirs": [...]}, written to master and minions.
        self._extension_dirs = {key: [str(d) for d in dirs] for key, dirs in (extension_dirs or {}).items()}
        self._extra_master_opts = dict(master_opts or {})
        self._master_opts: dict[str, Any] = {}
        self._master: Daemon | None = None
        self._minions: dict[str, Daemon] = {}
        self._specs: dict[str, MinionSpec] = {}
        atexit.register(self.stop)  # an interrupted `make demo` still leaves nothing behind

    @property
    def master_config_dir(self) -> Path:
        return self.root / "master" / "conf"

    @property
    def master_opts(self) -> dict[str, Any]:
        """The master config as written, ports included; empty before start()."""
        return self._master_opts

    def minion_root(self, minion_id: str) -> Path:
        return self.root / "minions" / minion_id

    def minion_config_dir(self, minion_id: str) -> Path:
        return self.minion_root(minion_id) / "conf"

    # -- daemons ---------------------------------------------------------------------------

    def start(self, minions: list[MinionSpec], timeout: float = 120) -> None:
        """Start the master and ``minions``; return once every minion answers test.ping."""
        if self._master:
            raise SaltLabError("this lab is already started; use start_minion() to add minions")
        try:
            (self.root / "logs").mkdir(parents=True, exist_ok=True)
            opts = {"interface": self.master_host, "publish_port": free_port(), "ret_port": free_port()}
            opts |= _MASTER_DEFAULTS | self._extra_master_opts
            self._master_opts = self._write_config("master", "master", self.root / "master", opts)
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

    def _write_config(self, name: str, kind: str, daemon_root: Path, opts: dict[str, Any]) -> dict[str, Any]:
        """Write ``<daemon_root>/conf/<kind>``: our paths and defaults, then ``opts``."""
        sock_dir = daemon_root / "sock"
        if len(str(sock_dir)) > _MAX_SOCK_DIR:
            raise SaltLabError(f"{sock_dir} is too long for Unix sockets; use a shorter lab root")
        config = {
            "user": pwd.getpwuid(os.geteuid()).pw_name,
            # Salt prefixes root_dir to every path outside it, even absolute ones, so
            # root_dir is the lab root and each daemon's paths sit below it.
            "root_dir": str(self.root),
            "pki_dir": str(daemon_root / "pki"),
            "cachedir": str(daemon_root / "cache"),
            "extension_modules": str(daemon_root / "cache" / "extmods"),
            "sock_dir": str(sock_dir),
            "pidfile": str(daemon_root / f"salt-{kind}.pid"),
            "log_file": str(self.root / "logs" / f"{name}.log"),
            "key_logfile": str(self.root / "logs" / "key.log"),
            "log_level_logfile": "info",
            # The defaults (/srv/salt, /srv/pillar) are not prefixed with root_dir.
            "file_roots": {"base": [str(daemon_root / "srv" / "salt")]},
            "pillar_roots": {"base": [str(daemon_root / "srv" / "pillar")]},
            **self._extension_dirs,
            **opts,
        }
        for path in [sock_dir, *config["file_roots"]["base"], *config["pillar_roots"]["base"]]:
            Path(path).mkdir(parents=True, exist_ok=True)
        (daemon_root / "conf").mkdir(parents=True, exist_ok=True)
        # JSON is valid YAML, and it spares this module a YAML dependency.
        (daemon_root / "conf" / kind).write_text(json.dumps(config, indent=2) + "\n")
        return config

    def _spawn_minion(self, spec: MinionSpec) -> None:
        if not self._master:
            raise SaltLabError("start() the lab before adding minions")
        opts = {
            "id": spec.id,
            "master": self.master_host,
            "master_port": self._master_opts["ret_port"],
            "publish_port": self._master_opts["publish_port"],
            "grains": spec.grains,
            **_MINION_DEFAULTS,
            **spec.opts,
        }
        name = f"minion-{spec.id}"  # names its log files
        self._write_config(name, "minion", self.minion_root(spec.id), opts)
        self._specs[spec.id] = spec
        self._minions[spec.id] = self._spawn(name, "salt-minion", self.minion_config_dir(spec.id), spec.netns)

    def _spawn(self, name: str, prog: str, config_dir: Path, netns: str | None) -> Daemon:
        # Salt writes <name>.log itself (log_file); <name>.out catches tracebacks before logging starts.
        cmd = self._command(prog, ("-c", str(config_dir)), netns)
        return spawn(name, cmd, self.root / "logs" / f"{name}.out", (self.root / "logs" / f"{name}.log",))

    def _command(self, prog: str, argv: tuple[str, ...], netns: str | None) -> list[str]:
        prefix = ["ip", "netns", "exec", netns] if netns else []
        return [*prefix, self._python, str(self._bin / prog), *argv]

    def _wait(self, what: str, ready: Callable[[], bool], daemons: list[Daemon], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [d for d in daemons if d.proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                why = f"{dead[0].name} exited ({dead[0].proc.returncode})" if dead else "timed out"
                tails = "\n".join(d.tail() for d in dead or daemons)
                raise SaltLabError(f"{why} while waiting for {what}\n{tails}")
            time.sleep(0.2)

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

    # -- command line ----------------------------------------------------------------------

    def cli(
        self, prog: str, *argv: str, timeout: float = 120, netns: str | None = None,
        minion_id: str | None = None,
    ) -> subprocess.CompletedProcess[str]:  # fmt: skip
        """Run ``prog -c <config dir> argv...``; the exit code is not checked.

        ``salt-call`` needs ``minion_id`` (whose config dir to use). The program runs in
        the network namespace of the daemon whose config it uses unless ``netns`` is given.
        """
        if minion_id is not None:
            config_dir, default_netns = self.minion_config_dir(minion_id), self._specs[minion_id].netns
        else:
            config_dir, default_netns = self.master_config_dir, self.master_netns
        cmd = self._command(prog, ("-c", str(config_dir), *argv), netns or default_netns)
        try:
            return subprocess.run(
                cmd, check=False, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise SaltLabError(f"{prog} {' '.join(argv)} took longer than {timeout} s") from exc

    def salt(
        self, tgt: str, fun: str, *args: str, tgt_type: str = "glob", timeout: int = 60,
        kwargs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """Publish ``fun`` with the ``salt`` CLI; return ``{minion_id: return}``.

        The exit code is ignored on purpose: salt exits non-zero when one minion fails
        or stays silent, and the per-minion returns are what a test looks at.
        """
        target_flag = [] if tgt_type == "glob" else ["--" + tgt_type.replace("_", "-")]
        argv = ["--out", "json", "--static", "--timeout", str(timeout), *target_flag, tgt, fun, *args]
        # The CLI's own start-up (about 1 s) comes on top of the job timeout.
        data = _parse_json(self.cli("salt", *argv, *_kwarg_strings(kwargs), timeout=timeout + 60))
        if not isinstance(data, dict):
            raise SaltLabError(f"salt {tgt} {fun} printed {data!r}, not a dict of minions")
        return data

    def salt_run(
        self, fun: str, *args: str, timeout: int = 120, kwargs: dict[str, Any] | None = None,
        user_args: list[str] | None = None, check: bool = False,
    ) -> Any:  # fmt: skip
        """Run a runner with the ``salt-run`` CLI; return its return value.

        A runner that raises prints its traceback as a JSON string and exits 1; one that
        refuses may set ``__context__["retcode"]`` and return a dict. ``check=True`` turns
        a non-zero exit into SaltLabError. ``user_args`` go before the function, e.g.
        ``["-a", "auto", "--username", "u", "--password", "p"]``.
        """
        argv = [*(user_args or []), "--out", "json", "--timeout", str(timeout), fun, *args]
        proc = self.cli("salt-run", *argv, *_kwarg_strings(kwargs), timeout=timeout + 60)
        value = _parse_json(proc)
        if check and proc.returncode != 0:
            raise SaltLabError(f"salt-run {fun} exited {proc.returncode}: {value!r}")
        return value
