"""The roll-out phases of ``python -m lab.rollouts_bench``, in one built lab with one Salt master.

Every phase pushes its own payload (its own name, so its own distribution) with
the product's default settings and watches each client's dest, as the p2pdist
scenario does; bytes into each site are read on the WAN router (lab.sampling),
with the machine's CPU busy fraction of the phase.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.build import make_payload
from lab.p2pdistsetup import keep_agent_logs
from lab.sampling import SATURATED, Sampler
from lab.scenario_p2pdist import P2PDist
from lab.topology import Client, Lab

BUSINESS = Path(__file__).with_name("business.py")
BUSINESS_PORT = 5001
POLL_S = 0.2
SETTLE_S = 15.0


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    seconds: float | None = None  # push to the last client's copy (None: not every client finished)
    cpu_busy: float | None = None
    samples: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def valid(self) -> bool:
        return not self.error and self.cpu_busy is not None and self.cpu_busy < SATURATED

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": self.seconds, "cpu_busy": self.cpu_busy,
                "valid": self.valid, "error": self.error, **self.extra}


def valid_if(value: Any, *phases: Phase) -> Any:
    """``value``, or None when one of the phases it comes from is invalid."""
    return value if all(p.valid for p in phases) else None


class Rollouts:
    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.p2p = P2PDist()
        self.origin = lab.workdir / "origin"

    def start(self) -> None:
        self.p2p.prepare(self.lab)  # the master and every minion's agent, product defaults
        self.lab.spawn(self.lab.hq_ns, [sys.executable, str(BUSINESS), "serve", "--port",
                                        str(BUSINESS_PORT)], log_name="business-server")
        time.sleep(SETTLE_S)  # minions and agents are busy starting: not part of any phase

    def stop(self) -> None:
        if self.p2p.salt is not None:
            self.p2p.salt.stop()
        keep_agent_logs(self.lab.hq_dir / "salt", self.lab.log_dir)

    # -- building blocks ----------------------------------------------------
    def payload(self, name: str, mib: float, *, folder: str = "") -> Path:
        path = self.origin / (folder or name) / name
        make_payload(path, int(mib * 1024 * 1024))
        return path

    def push(self, path: Path, priority: str = "") -> dict[str, Any]:
        assert self.p2p.salt is not None
        kwargs: dict[str, Any] = {"tgt": "*", "dest": "/"}
        if priority:
            kwargs["priority"] = priority
        ret = self.p2p.salt.salt_run("p2pdist.push", str(path), timeout=600, kwargs=kwargs)
        if not isinstance(ret, dict) or not ret.get("accepted"):
            raise RuntimeError(f"p2pdist.push {path.name} {priority or ''}: {str(ret)[:300]}")
        return ret

    def business(self, client: Client, seconds: float) -> dict[str, float]:
        out = self.lab.run(client.ns, [sys.executable, str(BUSINESS), "fetch", "--host", self.lab.hq_ip,
                                       "--port", str(BUSINESS_PORT), "--seconds", str(seconds)],
                           timeout=seconds + 60)
        return dict(json.loads(out.strip().splitlines()[-1]))

    def run_phase(self, name: str, path: Path | None, *, priority: str = "",
                  during: Any = None, done: Any = None) -> Phase:
        """Push ``path`` (if any) and wait for every client; ``during(phase)`` runs meanwhile.

        ``done(client)``: when a client's copy counts as complete (default: it exists at dest).
        """
        phase = Phase(name)
        sampler = Sampler(self.lab)
        pushed: dict[str, Any] = {}
        start = time.monotonic()
        sampler.start()
        try:
            pusher = None
            if path is not None:
                pusher = threading.Thread(target=lambda: pushed.update(self._push_safely(path, priority)))
                pusher.start()
            if during is not None:
                during(phase, start, sampler)
            if path is not None and pusher is not None:
                is_done = done or (lambda c: (c.dir / path.name).exists())
                phase.seconds = self._wait_all(is_done, start, pushed, pusher)
        except Exception as exc:  # recorded; the next phase still runs
            phase.error = f"{type(exc).__name__}: {exc}"
            print(f"[rollouts] {name}: {phase.error}", file=sys.stderr, flush=True)
        finally:
            sampler.stop()
        phase.cpu_busy, phase.samples = sampler.cpu_busy, list(sampler.samples)
        if "result" in pushed:  # the distribution's id: its hosts' own counters are read by it
            phase.extra["dist_id"] = pushed["result"].get("id")
        return phase

    def _push_safely(self, path: Path, priority: str) -> dict[str, Any]:
        try:
            return {"result": self.push(path, priority)}
        except Exception as exc:
            return {"error": str(exc)}

    def _wait_all(self, is_done: Any, start: float, pushed: dict[str, Any],
                  pusher: threading.Thread) -> float | None:
        left = set(self.lab.clients)
        last: float | None = None
        deadline = start + self.lab.params.timeout_s + 600
        while left and time.monotonic() < deadline:
            for c in [c for c in left if is_done(c)]:
                left.discard(c)
                last = time.monotonic() - start
            if not pusher.is_alive() and "error" in pushed:
                raise RuntimeError(pushed["error"])
            time.sleep(POLL_S)
        return None if left else last

    def site_bytes(self, site: str) -> int:
        return self.lab.wan_counters()[site].rx_bytes


def change_in_place(path: Path, fraction: float, regions: int, seed: int) -> int:
    """Overwrite ``regions`` spread-out regions totalling ``fraction`` of ``path``; bytes changed."""
    size = path.stat().st_size
    length = int(size * fraction / regions)
    rng = random.Random(seed)
    with path.open("r+b") as fh:
        for k in range(regions):
            fh.seek(int(size * (k + 0.5) / regions) - length // 2)
            fh.write(rng.randbytes(length))
    return length * regions


def steady_rate(samples: list[tuple[float, dict[str, int]]], site: str,
                low: float = 0.1, high: float = 0.9) -> float | None:
    """Bytes/s into ``site`` between the moments it had ``low`` and ``high`` of its total."""
    series = [(t, by_site.get(site, 0)) for t, by_site in samples]
    if not series or series[-1][1] <= 0:
        return None
    total = series[-1][1]
    t_low = next(t for t, b in series if b >= low * total)
    t_high = next(t for t, b in series if b >= high * total)
    b_low = next(b for t, b in series if t == t_low)
    b_high = next(b for t, b in series if t == t_high)
    return (b_high - b_low) / (t_high - t_low) if t_high > t_low else None
