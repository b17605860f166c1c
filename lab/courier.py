"""Delivering a master's call to hosts as their salt-minions would run it, without a salt-minion.

A salt-minion takes a published job, forks, and runs the execution module's
function with the loader's ``__opts__``, ``__grains__``, ``__pillar__``,
``__salt__`` and ``__context__``. Here one process (the lab's master side)
loads ``_modules/p2pdist.py`` once, forks a child per host and job, the child
enters the host's network namespace (its agent's loopback API is there, and an
agent it starts runs there), sets the same dunders and calls the same
function; its return comes back over a pipe as JSON, as a minion's return
does. A function that raises returns its error as a string, as Salt does.

``__salt__`` is :func:`lab_salt`: what a minion module asks of Salt (events
to the master, the report beacon, the agent's keepalive schedule) is written
to the host's ``salt-calls.jsonl`` and not acted on, since there is no
salt-minion to run a beacon or a schedule and no master event bus.
"""

from __future__ import annotations

import ctypes
import importlib.util
import json
import os
import selectors
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from lab.agentspec import Host
from salt_p2pdist.loader_dirs import get_dirs

CLONE_NEWNET = 0x40000000
_module: ModuleType | None = None


def calls_log(h: Host) -> Path:
    return Path(h.opts["cachedir"]) / "salt-calls.jsonl"


def lab_salt(log: Path) -> dict[str, Callable[..., Any]]:
    """The ``__salt__`` functions p2pdist's module uses: each call is recorded, none acted on."""
    def recorder(name: str, answer: Any) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            log.parent.mkdir(parents=True, exist_ok=True)
            with log.open("a") as out:
                out.write(json.dumps({"fun": name, "args": args, "kwargs": kwargs}, default=str) + "\n")
            return answer
        return call

    return {"event.fire_master": recorder("event.fire_master", True),
            "schedule.list": recorder("schedule.list", {}),
            "schedule.add": recorder("schedule.add", {"result": True}),
            "schedule.delete": recorder("schedule.delete", {"result": True}),
            "schedule.run_job": recorder("schedule.run_job", {"result": True}),
            "beacons.list": recorder("beacons.list", {}),
            "beacons.add": recorder("beacons.add", {"result": True}),
            "beacons.save": recorder("beacons.save", {"result": True}),
            "beacons.delete": recorder("beacons.delete", {"result": True})}


def execution_module() -> ModuleType:
    """``_modules/p2pdist.py`` as the minion's loader finds it (the ``salt.loader`` entry point)."""
    global _module
    if _module is None:
        path = Path(get_dirs()["modules"][0]) / "p2pdist.py"
        spec = importlib.util.spec_from_file_location("salt.loaded.ext.module.p2pdist", path)
        assert spec and spec.loader
        _module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_module)
    return _module


def enter_netns(name: str) -> None:
    """Move this (single-threaded) process into network namespace ``name`` (setns(2); root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into {name}: {os.strerror(err)}")
    finally:
        os.close(fd)


def run_as_minion(h: Host, fun: str, args: list[Any], kwarg: dict[str, Any]) -> Any:
    """Call ``fun`` ("p2pdist.fetch") with the dunders the minion's loader would inject."""
    module = execution_module()
    module.__opts__ = h.opts  # type: ignore[attr-defined]
    module.__grains__ = h.grains  # type: ignore[attr-defined]
    module.__pillar__ = {}  # type: ignore[attr-defined]
    module.__context__ = {}  # type: ignore[attr-defined]
    module.__salt__ = lab_salt(calls_log(h))  # type: ignore[attr-defined]
    return getattr(module, fun.removeprefix("p2pdist."))(*args, **kwarg)


def _child(h: Host, fun: str, args: list[Any], kwarg: dict[str, Any], out: int) -> None:
    try:
        if h.netns:
            enter_netns(h.netns)
        answer = json.dumps(run_as_minion(h, fun, args, kwarg), default=str)
    except BaseException as exc:  # a minion returns the exception as text
        answer = json.dumps(f"The minion function caused an exception: {type(exc).__name__}: {exc}")
    data = answer.encode()
    while data:
        data = data[os.write(out, data):]
    os._exit(0)  # never the parent's atexit handlers or buffers


def deliver(hosts: list[Host], fun: str, args: list[Any], kwarg: dict[str, Any],
            timeout: float) -> dict[str, Any]:
    """``{host id: return}`` of ``fun`` on every host at once; hosts silent after ``timeout`` absent."""
    execution_module()  # imported once, before forking: each job costs a fork, as on a minion
    pending: dict[int, tuple[str, int, bytearray]] = {}
    for h in hosts:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _child(h, fun, args, kwarg, write_end)
        os.close(write_end)
        pending[read_end] = (h.id, pid, bytearray())
    returns: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        for fd in pending:
            sel.register(fd, selectors.EVENT_READ)
        while pending and (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(left):
                fd = int(key.fd)
                host_id, pid, buf = pending[fd]
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    buf.extend(chunk)
                    continue
                sel.unregister(fd)
                os.close(fd)
                del pending[fd]
                os.waitpid(pid, 0)
                returns[host_id] = json.loads(buf) if buf else None
    for fd, (_host_id, pid, _buf) in pending.items():  # silent: like a minion that never answered
        os.close(fd)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return returns
