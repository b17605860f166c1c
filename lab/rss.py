"""Resident memory of processes over a run, sampled in a thread, kept as the peak per phase.

The caller names the phase (``sampler.phase = "file: a downloads"``); each
sample of each process counts towards the phase current when it was read.
Samples every 0.2 s can miss a short spike (a resume save of a big torrent
lasts milliseconds), so each phase also keeps the kernel's high-water mark
(VmHWM), reset when the phase starts (Linux ``clear_refs``). Each peak sample
is split into RssAnon (heap, buffers: what p2pdist can shrink) and RssFile
(the interpreter's and libtorrent's code mapped from disk, shared with every
other process that maps them).
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

SAMPLE_EVERY_S = 0.2
MB = 1_000_000
KINDS = ("rss", "anon", "file", "hwm")


def _status(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile and VmHWM in bytes, from /proc (Linux)."""
    fields = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "VmHWM": "hwm"}
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in fields:
            out[fields[key]] = int(value.split()[0]) * 1024
    return out


def _reset_hwm(pid: int) -> None:
    # exited, or a kernel without it: VmHWM then spans the process's life
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # 5: reset the peak RSS


class RssSampler:
    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = dict(pids)
        self._phase = "start"
        # phase -> process name -> {"rss": peak, "anon"/"file": at that peak, "hwm": high-water}
        self.peaks: dict[str, dict[str, dict[str, int]]] = {}
        self.samples = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        for pid in self.pids.values():
            _reset_hwm(pid)

    @property
    def phase(self) -> str:
        return self._phase

    @phase.setter
    def phase(self, name: str) -> None:
        with self._lock:
            self._read()  # the closing phase's last sample and high-water mark
            for pid in self.pids.values():
                _reset_hwm(pid)
            self._phase = name

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._read()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.sample()

    def sample(self) -> None:
        with self._lock:
            self._read()

    def _read(self) -> None:
        phase = self.peaks.setdefault(self._phase, {})
        for name, pid in self.pids.items():
            try:
                now = _status(pid)
            except (OSError, ValueError):  # exited: its last samples stand
                continue
            seen = phase.setdefault(name, {k: 0 for k in KINDS})
            if now.get("rss", 0) > seen["rss"]:
                seen.update(rss=now["rss"], anon=now.get("anon", 0), file=now.get("file", 0))
            seen["hwm"] = max(seen["hwm"], now.get("hwm", 0))
        self.samples += 1

    def peak(self, name: str, phases: list[str] | None = None, kind: str = "hwm") -> int:
        """The highest ``kind`` of ``name`` over ``phases`` (all if None); hwm catches spikes."""
        return max((p.get(name, {}).get(kind, 0) for ph, p in self.peaks.items()
                    if phases is None or ph in phases), default=0)

    def in_mb(self) -> dict[str, dict[str, dict[str, float]]]:
        return {ph: {n: {k: round(v / MB, 1) for k, v in kinds.items()} for n, kinds in p.items()}
                for ph, p in self.peaks.items()}
