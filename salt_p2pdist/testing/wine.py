"""A Windows host on this Linux machine: the real Windows CPython and libtorrent under Wine.

The environment is built by ``tests/windows/build_env.py`` (``make test-windows``): a Wine
prefix whose ``C:\\python313`` is the official embeddable CPython with the ``win_amd64``
wheels, and the checkout on its path. Agents there are started and stopped as a Salt
minion on Windows does it, through :class:`~salt_p2pdist.agent.client.AgentClient` running
under the Windows interpreter; the Linux side talks to them over loopback and reads their
files through the prefix's ``drive_c``. Linux only (reads /proc), like the rest of the kit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import threading
from pathlib import Path, PureWindowsPath
from typing import Any

PY_DIR = "python313"
DLL_OVERRIDES = ("msvcp140,msvcp140_1,msvcp140_2,msvcp140_atomic_wait,msvcp140_codecvt_ids=n,b;"
                 "bcryptprimitives=n,b")  # same as build_env.py: the real msvcp140, our ProcessPrng


class WindowsHost:
    def __init__(self, cache: Path):
        self.prefix = cache / "prefix"
        self.drive_c = self.prefix / "drive_c"
        self.python_exe = self.drive_c / PY_DIR / "python.exe"

    def ready(self) -> bool:
        return (self.prefix.parent / "stamp").exists() and self.python_exe.exists()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
        env.update(WINEPREFIX=str(self.prefix), WINEDEBUG="-all", WINEARCH="win64",
                   WINEDLLOVERRIDES=DLL_OVERRIDES)
        return env

    def linux_path(self, win: str | PureWindowsPath) -> Path:
        """Where ``C:\\...`` is seen from Linux."""
        p = PureWindowsPath(win)
        if p.drive.upper() != "C:":
            raise ValueError(f"not on drive C: {win}")
        return self.drive_c.joinpath(*p.parts[1:])

    def python(self, *args: str, timeout: float = 120) -> tuple[int, str]:
        """Run the Windows interpreter to the end: its exit code and output.

        Its standard streams must be pipes: given a regular Linux file, the Windows CPython
        aborts at start (init_sys_streams, WinError 6). A detached agent it starts inherits
        the pipe under Wine, so we wait for the process, not for the end of its output.
        """
        proc = subprocess.Popen(["wine", str(self.python_exe), *args], env=self.env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        chunks: list[bytes] = []
        reader = threading.Thread(target=lambda: chunks.extend(iter(proc.stdout.read1, b"")),  # type: ignore[union-attr]
                                  daemon=True)
        reader.start()
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        reader.join(1)
        return code, b"".join(chunks).decode(errors="replace")

    def client(self, state_dir: str, host_id: str, agent_args: list[str]) -> str:
        """Python source building the Windows-side AgentClient of ``state_dir``."""
        return ("from pathlib import Path; from salt_p2pdist.agent.client import AgentClient; "
                f"c = AgentClient(Path({state_dir!r}), {host_id!r}, {agent_args!r}); ")

    def ensure_agent(self, state_dir: str, host_id: str, agent_args: list[str]) -> None:
        """Start the agent the way the Salt module does on Windows (a detached process)."""
        code, out = self.python("-c", self.client(state_dir, host_id, agent_args) + "c.ensure()")
        if code != 0:
            raise RuntimeError(f"Windows agent {host_id} did not start:\n{out}")

    def stop_agent(self, state_dir: str, host_id: str) -> dict[str, Any]:
        """Stop it the way ``salt minion p2pdist.stop_agent`` does on Windows; its answer."""
        code, out = self.python("-c", self.client(state_dir, host_id, []) +
                                "import json; print(json.dumps(c.stop_outcome().as_dict()))")
        if code != 0:
            raise RuntimeError(f"stopping Windows agent {host_id} failed:\n{out}")
        return dict(json.loads(out.strip().splitlines()[-1]))

    def end_session(self) -> str:
        """End the Windows session as a logoff or shutdown does (``wineboot --end-session``).

        Wine sends WM_QUERYENDSESSION, then WM_ENDSESSION, to every top-level window and
        waits for their answers before it ends the processes: what Windows does at logoff.
        """
        proc = subprocess.run(["wineboot", "--end-session"], env=self.env(), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=180, check=False)
        return f"exit {proc.returncode}: {proc.stdout}{proc.stderr}".strip()

    def close_window_of(self, pid: int) -> str:
        """Post WM_CLOSE to the agent's hidden window, as a service manager (NSSM) does at a stop.

        ``pid`` is the agent's Windows pid (its agent.json); the window is found by its title.
        """
        code = ("import ctypes; from salt_p2pdist.agent import winsession as w; "
                "u = ctypes.WinDLL('user32'); u.FindWindowW.restype = ctypes.c_void_p; "
                f"h = u.FindWindowW(w.WINDOW_CLASS, w.window_title({int(pid)})); "
                "print('posted' if h and u.PostMessageW(ctypes.c_void_p(h), w.WM_CLOSE, 0, 0) "
                "else 'no window')")
        return self.python("-c", code)[1].strip()

    def processes_of(self, state_dir: str) -> list[int]:
        """Linux pids of the Wine processes running the agent of ``state_dir``."""
        pids = []
        needle = state_dir.encode()
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            with contextlib.suppress(OSError, ValueError):
                if b"salt_p2pdist.agent" in cmdline.read_bytes() and needle in cmdline.read_bytes():
                    pids.append(int(cmdline.parent.name))
        return pids

    def kill_agent(self, state_dir: str) -> None:
        """Teardown only: end what is left of that agent from the Linux side."""
        for pid in self.processes_of(state_dir):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
