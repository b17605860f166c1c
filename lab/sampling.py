"""What happens during a run, sampled: bytes into each site over time, and how busy the CPU was.

The lab must measure the network, not CPU contention: a run whose machine
was busier than :data:`SATURATED` is marked invalid instead of reported.
The WAN bytes are read on the WAN router's side of every link (one command
per sample): what the router sends on a site's link is what enters the site.
"""

from __future__ import annotations

import threading
import time

from lab.netns import LabError, run
from lab.topology import Lab

SAMPLE_EVERY_S = 0.5
SATURATED = 0.90  # busy fraction of all cores above which a run is invalid


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all cores so far, from /proc/stat (the machine, not a namespace)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user
    return total - idle, total


def busy_fraction(before: tuple[int, int], after: tuple[int, int]) -> float | None:
    busy, total = after[0] - before[0], after[1] - before[1]
    return busy / total if total > 0 else None


class Sampler:
    """A thread that reads the router's per-link tx bytes every SAMPLE_EVERY_S seconds."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.devs = {s.router_dev: s.name for s in lab.sites}
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._start = 0.0
        self._base: dict[str, int] = {}
        self._cpu = (0, 0)
        self.cpu_busy: float | None = None

    def _read(self) -> dict[str, int]:
        paths = [f"/sys/class/net/{dev}/statistics/tx_bytes" for dev in self.devs]
        out = run(["cat", *paths], ns=self.lab.wan_ns).split()
        return {self.devs[dev]: int(v) for dev, v in zip(self.devs, out, strict=True)}

    def _loop(self) -> None:
        while not self._stop.wait(SAMPLE_EVERY_S):
            try:
                now = self._read()
            except LabError:
                continue  # the lab is being torn down
            self.samples.append((round(time.monotonic() - self._start, 2),
                                 {k: v - self._base.get(k, 0) for k, v in now.items()}))

    def start(self) -> None:
        self._start = time.monotonic()
        self._base = self._read()
        self._cpu = cpu_times()
        self._thread.start()

    def stop(self) -> None:
        self.cpu_busy = busy_fraction(self._cpu, cpu_times())
        self._stop.set()
        self._thread.join(timeout=5)
