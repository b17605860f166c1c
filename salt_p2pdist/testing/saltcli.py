"""The real ``salt``, ``salt-run`` and ``salt-call`` CLIs against a throwaway lab.

Tests run what an admin runs, and read the JSON the CLIs print. The daemons
themselves are started by :class:`salt_p2pdist.testing.saltlab.SaltLab`,
which is a :class:`SaltCommands`.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path
from typing import Any

from salt_p2pdist.testing.saltconfig import MinionSpec, SaltLabError


def kwarg_strings(kwargs: dict[str, Any] | None) -> list[str]:
    # The CLIs YAML-load each `key=value`. JSON is YAML, so non-strings keep their type;
    # strings go as they are, so "true" or "2" are still typed by YAML, as on a shell.
    return [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in (kwargs or {}).items()]


def parse_json(proc: subprocess.CompletedProcess[str]) -> Any:
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


class SaltCommands:
    """Run the Salt CLIs with the config of the lab under ``root``."""

    def __init__(self, root: Path, *, python: str, master_netns: str | None) -> None:
        self.root = Path(root).resolve()
        self.master_netns = master_netns
        self._python = python
        self._bin = Path(python).parent  # salt-master, salt-run, ... sit next to python
        self._specs: dict[str, MinionSpec] = {}

    @property
    def master_config_dir(self) -> Path:
        return self.root / "master" / "conf"

    def minion_root(self, minion_id: str) -> Path:
        return self.root / "minions" / minion_id

    def minion_config_dir(self, minion_id: str) -> Path:
        return self.minion_root(minion_id) / "conf"

    def _command(self, prog: str, argv: tuple[str, ...], netns: str | None) -> list[str]:
        prefix = ["ip", "netns", "exec", netns] if netns else []
        return [*prefix, self._python, str(self._bin / prog), *argv]

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
        data = parse_json(self.cli("salt", *argv, *kwarg_strings(kwargs), timeout=timeout + 60))
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
        proc = self.cli("salt-run", *argv, *kwarg_strings(kwargs), timeout=timeout + 60)
        value = parse_json(proc)
        if check and proc.returncode != 0:
            raise SaltLabError(f"salt-run {fun} exited {proc.returncode}: {value!r}")
        return value
