"""``python -m lab.report_cost``: what progress reporting costs an active minion, in CPU.

A real master, one real minion and its agent on loopback; the minion downloads
a file from the origin at a trickle (so it stays active) while the CPU time of
the salt-minion's process group (reaped job processes included) is sampled.
Measured in the same run: idle (no transfer), reporting by the ``p2pdist``
beacon (the default), and by a scheduled ``p2pdist.report`` job with the
returner, as versions before the beacon did (the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from salt_p2pdist.testing.deployment import Deployment, write_random

DEFAULT_OUT = Path("bench/results/report-cost.json")
WINDOW_S = 60.0
SETTLE_S = 15.0  # the order's job and the keepalive's first run (run_on_start) end before the clock


def group_cpu_s(pgid: int) -> float:
    """CPU seconds of every process in the group, with the children they reaped."""
    total = 0.0
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid:
                t = p.cpu_times()
                total += t.user + t.system + t.children_user + t.children_system
        except (psutil.Error, ProcessLookupError):
            continue
    return total


def cores_over(pgid: int, seconds: float) -> float:
    start, t0 = group_cpu_s(pgid), time.monotonic()
    time.sleep(seconds)
    return (group_cpu_s(pgid) - start) / (time.monotonic() - t0)


def run(root: Path, interval: int) -> dict[str, Any]:
    lab = Deployment(root, master_p2pdist={"origin_upload_rate": 256 << 10})
    try:
        # The testing kit reports every second; this bench measures the default interval.
        lab.start([lab.minion("m1", 1, report_interval=interval)])
        pgid = lab.minion_pid("m1")
        lab.salt("m1", "p2pdist.report", timeout=120)  # the agent is up before the clock runs
        idle = cores_over(pgid, WINDOW_S / 2)
        payload = write_random(root / "srv" / "slow.bin", 64 << 20, seed=1)  # ~256 s at the trickle
        lab.salt_run("p2pdist.push", str(payload), kwargs={"tgt": "m1", "dest": "/opt/cost"}, check=True)
        time.sleep(SETTLE_S)
        beacon = cores_over(pgid, WINDOW_S)
        lab.salt("m1", "beacons.delete", "p2pdist")
        lab.salt("m1", "schedule.add", "p2pdist_report", kwargs={
            "function": "p2pdist.report", "seconds": interval, "returner": "p2pdist", "return_job": False})
        time.sleep(SETTLE_S)
        schedule = cores_over(pgid, WINDOW_S)
    finally:
        lab.stop()
    per_report = {k: round((v - idle) * interval, 4) for k, v in (("beacon", beacon), ("schedule", schedule))}
    return {"report_interval_s": interval, "window_s": WINDOW_S, "minion_idle_cores": round(idle, 4),
            "minion_active_cores": {"beacon": round(beacon, 4), "schedule_baseline": round(schedule, 4)},
            "reporting_cores": {"beacon": round(beacon - idle, 4),
                                "schedule_baseline": round(schedule - idle, 4)},
            "cpu_s_per_report": per_report}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="report_cost", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--interval", type=int, default=5, help="report_interval (the default is 5)")
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="p2rc-"))  # short: Unix socket paths are limited
    try:
        result = run(root, args.interval)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
