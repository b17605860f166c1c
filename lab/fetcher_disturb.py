"""Disturbing a site's WAN fetcher mid-run, and when the tracker gave its seat to another host.

A thread started as the push command starts reads the origin's log, where the
master's tracker writes each change of a site's WAN fetchers ("site s1's WAN
fetchers ['s1c1'] -> ['s1c2']", with the log's millisecond timestamp). Once
the watched site's seated fetcher holds ``at_fraction`` of the file (or
``at_latest_s`` after its first bytes, whichever comes first), it disturbs
that host:

- ``slow``: its own link in the branch (the veth between it and the LAN
  bridge) is limited to a tenth of the branch's WAN rate, each direction on
  its own with ``tbf`` as the WAN links are (lab/shaping.py), until the run ends;
- ``kill``: its p2pdist agent gets SIGKILL, as in a host crash; the minion
  starts it again as it would after one.

Bytes at a host are the blocks its staging file holds: libtorrent writes
sparse files, so allocated blocks are the bytes downloaded so far.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from lab.netns import LabError, run
from lab.shaping import tbf_for
from lab.topology import Lab, Site

SLOW, KILL = "slow", "kill"
DISTURBANCES = (SLOW, KILL)
SLOW_FACTOR = 0.1  # the disturbed host's link: this fraction of its branch's WAN rate
POLL_S = 0.2
SEATS = re.compile(r"^(\S+ \S+) .*: site (\S+)'s WAN fetchers \[(.*)\] -> \[(.*)\]")


def _hosts(text: str) -> list[str]:
    return [h.strip().strip("'\"") for h in text.split(",") if h.strip()]


@dataclass
class Disturbance:
    kind: str  # SLOW or KILL
    site: str
    host: str | None = None  # the fetcher disturbed
    at_s: float | None = None  # seconds from the push command
    host_bytes_at: int = 0  # what that host held then
    replaced_by: str | None = None  # the first other host of the site seated afterwards
    replaced_after_s: float | None = None  # seconds from the disturbance to that seat
    # Every change of the site's fetchers: [seconds from the push, before, after]
    seat_changes: list[list[Any]] = field(default_factory=list)


class Disturber:
    def __init__(self, lab: Lab, minion_root: Callable[[str], Path], kind: str, *,
                 at_fraction: float = 0.25, at_latest_s: float = 5.0) -> None:
        self.lab, self.kind, self.minion_root = lab, kind, minion_root
        self.site: Site = lab.sites[0]
        self.at_bytes, self.at_latest_s = at_fraction * lab.params.size_bytes, at_latest_s
        self.result = Disturbance(kind=kind, site=self.site.name)
        self._t0 = 0.0  # the push command's wall-clock start
        self._log: Path | None = None
        self._offset = 0
        self._first_bytes: float | None = None
        self._throttled: list[tuple[str, str]] = []  # (namespace, device)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> None:
        self._t0 = time.time()
        self._thread.start()

    def stop(self) -> None:
        """End the watch and lift a throttle, so the next run finds the lab as built."""
        self._stop.set()
        self._thread.join(timeout=10)
        for ns, dev in self._throttled:
            with contextlib.suppress(LabError):
                run(["tc", "qdisc", "del", "dev", dev, "root"], ns=ns)
        self._throttled = []

    def _now(self) -> float:
        return time.time() - self._t0

    def _loop(self) -> None:
        while not self._stop.wait(POLL_S):
            self._read_seats()
            seated = self.result.seat_changes[-1][2] if self.result.seat_changes else []
            if self.result.at_s is None and seated and self._due(seated[0]):
                self._disturb(seated[0])

    def _new_lines(self) -> list[str]:
        """Whole lines the origin's log gained since the last call."""
        if self._log is None:
            self._log = next((self.lab.hq_dir / "salt").rglob("origin/agent.log"), None)
        if self._log is None:
            return []
        try:
            with open(self._log, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return []
        whole = chunk[:chunk.rfind(b"\n") + 1]  # a line being written is read next time
        self._offset += len(whole)
        return whole.decode("utf-8", errors="replace").splitlines()

    def _read_seats(self) -> None:
        r = self.result
        for line in self._new_lines():
            m = SEATS.match(line)
            if m is None or m.group(2) != self.site.name:
                continue
            stamp = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            at, before, after = round(stamp - self._t0, 3), _hosts(m.group(3)), _hosts(m.group(4))
            r.seat_changes.append([at, before, after])
            if r.at_s is not None and r.replaced_by is None and at >= r.at_s:
                newcomer = [h for h in after if h != r.host]
                if newcomer:
                    r.replaced_by, r.replaced_after_s = newcomer[0], round(at - r.at_s, 3)

    def host_bytes(self, host: str) -> int:
        staging = self.minion_root(host) / "cache" / "p2pdist" / "staging"
        total = 0
        for f in staging.rglob("*") if staging.is_dir() else ():
            with contextlib.suppress(OSError):
                total += f.stat().st_blocks * 512 if f.is_file() else 0
        return total

    def _due(self, host: str) -> bool:
        held = self.host_bytes(host)
        if held > 0 and self._first_bytes is None:
            self._first_bytes = self._now()
        late = self._first_bytes is not None and self._now() - self._first_bytes >= self.at_latest_s
        return held >= self.at_bytes or late

    def _disturb(self, host: str) -> None:
        r = self.result
        r.host, r.host_bytes_at = host, self.host_bytes(host)
        if self.kind == SLOW:
            self._slow(host)
        else:
            self._kill(host)
        r.at_s = round(self._now(), 3)

    def _slow(self, host: str) -> None:
        j = next(k for k, c in enumerate(self.site.clients, start=1) if c.name == host)
        client = self.site.clients[j - 1]
        # Into the host: the bridge port's egress; out of it: the host's own eth0.
        for ns, dev, mbit in ((self.site.ns, f"c{j}", self.site.down_mbit),
                              (client.ns, "eth0", self.site.up_mbit)):
            run(["tc", "qdisc", "replace", "dev", dev, "root",
                 *tbf_for(SLOW_FACTOR * mbit).tc_args()], ns=ns)
            self._throttled.append((ns, dev))

    def _kill(self, host: str) -> None:
        endpoint = next(self.minion_root(host).rglob("agent.json"))
        os.kill(int(json.loads(endpoint.read_text())["pid"]), signal.SIGKILL)
