"""Resident memory of processes over a run, sampled in a thread, kept as the peak per phase.

The caller names the phase (``sampler.phase = "file: a downloads"``); each
sample of each process counts towards the phase current when it was read.
"""

from __future__ import annotations

import threading

import psutil

SAMPLE_EVERY_S = 0.2
MB = 1_000_000


class RssSampler:
    def __init__(self, pids: dict[str, int]) -> None:
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.phase = "start"
        self.peaks: dict[str, dict[str, int]] = {}  # phase -> process name -> peak RSS bytes
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            self.sample()

    def sample(self) -> None:
        phase = self.peaks.setdefault(self.phase, {})
        for name, proc in self.procs.items():
            try:
                rss = int(proc.memory_info().rss)
            except psutil.Error:  # exited: its last samples stand
                continue
            phase[name] = max(phase.get(name, 0), rss)
        self.samples += 1

    def peak(self, name: str, phases: list[str] | None = None) -> int:
        """The highest RSS of ``name`` over ``phases`` (all if None)."""
        return max((p.get(name, 0) for ph, p in self.peaks.items() if phases is None or ph in phases),
                   default=0)

    def in_mb(self) -> dict[str, dict[str, float]]:
        return {ph: {n: round(v / MB, 1) for n, v in p.items()} for ph, p in self.peaks.items()}
