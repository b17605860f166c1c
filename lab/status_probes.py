"""What lab/status_e2e.py reads while it runs: CPU of process trees, the catalog, the status command."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

BIN = Path(sys.executable).parent
DIST_ID = "e2e0a1b2c3d4e5f6"


def cpu_s(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def by_role(procs: list[psutil.Process]) -> dict[str, float]:
    """CPU seconds per salt-master process role (its title: MWorker, EventPublisher, EventReturn...)."""
    roles: dict[str, float] = {}
    for p in procs:
        try:
            words = p.cmdline()[4:] or ["MainProcess"]  # python salt-master -c <conf> <title...>
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        role = " ".join(w for w in words if not w.startswith("-")).split("-default-")[0]
        roles[role] = roles.get(role, 0.0) + t.user + t.system
    return roles


def family(root: psutil.Process) -> list[psutil.Process]:
    return [root, *root.children(recursive=True)]


def machine_busy_s() -> float:
    t = psutil.cpu_times()
    return float(t.user + t.system + t.nice + t.irq + t.softirq + t.steal)


def status_ages(db: Path) -> tuple[int, float]:
    """Reports in the catalog, and the oldest one's age (s)."""
    with sqlite3.connect(db, timeout=10) as conn:
        n, oldest = conn.execute("SELECT count(*), min(ts) FROM reports").fetchone()
    return int(n), (time.time() - float(oldest)) if oldest else float("inf")


def answered(root: Path, procs: int) -> int:
    """Reports the master has answered so far (each load process keeps its count in a file)."""
    return sum(json.loads((root / f"load-{i}.json").read_text())["replies"] for i in range(procs))


def status_command(conf: Path) -> tuple[float, dict[str, Any]]:
    """``salt-run p2pdist.status <id> --out json``, the whole command, as an admin runs it."""
    t = time.perf_counter()
    out = subprocess.run([str(BIN / "salt-run"), "-c", str(conf), "p2pdist.status", DIST_ID,
                          "--out", "json"], capture_output=True, text=True, check=True).stdout
    return time.perf_counter() - t, json.loads(out)
