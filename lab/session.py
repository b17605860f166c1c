"""Opening and closing a lab so that nothing is left behind.

``open_lab`` is a context manager: whatever happens inside (an exception,
Ctrl-C, SIGTERM, SIGHUP) the ``finally`` stops every process the lab started
(by process group), sweeps its namespaces for stragglers, deletes them and
removes the work dir. A run killed with SIGKILL cannot clean up; the next run
finds its namespaces by prefix and removes them first.
"""

from __future__ import annotations

import fcntl
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from lab.build import build, make_payload
from lab.netns import LabError, purge
from lab.params import LabParams
from lab.tools import ensure_tools
from lab.topology import Lab, plan

WORKDIR_PREFIX = "p2pdist-lab-"
# A work dir holds this file, so that stale ones are told apart from any
# other directory that happens to share the prefix.
MARKER = ".p2pdist-lab"
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class LabInterrupted(BaseException):
    """SIGTERM or SIGHUP arrived while the lab was up.

    A BaseException, like KeyboardInterrupt, so that the harness's catch-all
    for broken scenarios does not swallow it and the whole bench stops.
    """


def _raise_interrupted(signum: int, _frame: FrameType | None) -> None:
    raise LabInterrupted(f"signal {signal.Signals(signum).name}")


@contextmanager
def _exclusive(prefix: str) -> Iterator[None]:
    """One lab per prefix at a time: the start-up purge of leftovers would
    otherwise tear down a lab that another run is still using."""
    path = Path("/run") / f"p2pdist-lab-{prefix.rstrip('-')}.lock"
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise LabError(f"another lab with prefix {prefix!r} is running") from exc
        yield


@contextmanager
def _signals_raise() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an exception so that ``finally`` runs
    (Python already does so for SIGINT with KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread
        return
    old = {s: signal.signal(s, _raise_interrupted) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


@contextmanager
def _shielded() -> Iterator[None]:
    """Ignore Ctrl-C and SIGTERM while tearing down: a second impatient
    Ctrl-C would otherwise abort the cleanup and leave namespaces behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, *_STOP_SIGNALS)
    old = {s: signal.signal(s, signal.SIG_IGN) for s in sigs}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def _remove_stale_workdirs() -> None:
    for path in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        if (path / MARKER).exists():
            shutil.rmtree(path, ignore_errors=True)


def _log(message: str) -> None:
    print(f"[lab] {message}", file=sys.stderr, flush=True)


@contextmanager
def open_lab(params: LabParams, *, logs_to: Path | None = None) -> Iterator[Lab]:
    """Build the lab, yield it, and always tear it down.

    ``logs_to``: copy the processes' logs there before the work dir goes.
    """
    problems = params.validate()
    if problems:
        raise LabError("; ".join(problems))
    # Every bench builds its lab here, so the lab's own tools (ethtool, tc...)
    # are installed here too, not only by ``python -m lab``.
    ensure_tools()
    with _exclusive(params.prefix), _signals_raise():
        leftovers = purge(params.prefix)
        if leftovers:
            _log(f"removed leftovers of an earlier run: {' '.join(leftovers)}")
        _remove_stale_workdirs()
        workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        lab: Lab | None = None
        try:
            # Servers at HQ may drop privileges (nginx workers run as
            # nobody): the tree they read must be world-readable.
            workdir.chmod(0o755)
            (workdir / MARKER).touch()
            payload = workdir / "origin" / "payload.bin"
            sha = make_payload(payload, params.size_bytes)
            lab = plan(params, workdir, payload, sha)
            for d in (lab.hq_dir, lab.log_dir, *(c.dir for c in lab.clients)):
                d.mkdir(parents=True, exist_ok=True)
                d.chmod(0o755)
            _log(f"building {len(lab.namespaces)} namespaces ({params.layout.name}: "
                 f"{len(lab.sites)} sites, {len(lab.clients)} clients, {params.layout.wan} WAN)")
            build(lab)
            yield lab
        finally:
            with _shielded():
                if lab is not None:
                    lab.stop_processes()
                    if logs_to is not None:
                        shutil.copytree(lab.log_dir, logs_to, dirs_exist_ok=True)
                purge(params.prefix)
                shutil.rmtree(workdir, ignore_errors=True)
                _log("torn down")
