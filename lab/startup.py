"""``python -m lab.startup``: where the seconds go from ``salt-run p2pdist.push`` to the first block.

A real master and real minions on loopback, every product setting at its
default. The minions' agents run before the clock starts (they are
long-lived on real minions). Two pushes of different 64 MiB files: the first
one after the master started (``cold``: the master's origin agent, seeder and
tracker, is started by that push) and a second one (``warm``: the usual case).

Each stage's time comes from what the daemons log anyway (lab/stages.py):
the runner's job id (its start), the origin's certificate for the new
distribution (torrent made, signed, recorded and seeded), the publish of the
order, the first minion job, the first minion certificate, the tracker's first
hand-out, and the first block written at a minion (polled).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from lab.stages import STAGES, stage_times
from salt_p2pdist.testing.deployment import Deployment, write_random

DEFAULT_OUT = Path("bench/results/startup.json")
POLL_S = 0.01


def first_block(lab: Deployment, minions: list[str], name: str) -> bool:
    """True once a minion's staging copy of ``name`` holds data (within a piece of verified)."""
    for m in minions:
        staging = lab.minion_root(m) / "cache" / "p2pdist" / "staging"
        for f in staging.rglob(name) if staging.is_dir() else ():
            with contextlib.suppress(OSError):
                if f.is_file() and f.stat().st_blocks > 0:
                    return True
    return False


def one_push(lab: Deployment, root: Path, minions: list[str], name: str, seed: int) -> dict[str, Any]:
    payload = write_random(root / "srv" / "dist" / name, 64 << 20, seed=seed)
    pushed: dict[str, Any] = {}
    t0 = time.time()
    pusher = threading.Thread(target=lambda: pushed.update(lab.salt_run(
        "p2pdist.push", str(payload), kwargs={"tgt": "*", "dest": "/opt/startup"})))
    pusher.start()
    block_at = None
    while block_at is None and time.time() - t0 < 120:
        if first_block(lab, minions, name):
            block_at = time.time()
        time.sleep(POLL_S)
    pusher.join()
    if not pushed.get("result"):
        raise RuntimeError(f"push failed: {pushed}")
    stages = stage_times(lab.root, pushed["id"], since=t0)
    stages["first_block"] = block_at
    return {"dist_id": pushed["id"], "first_block_s": None if block_at is None else round(block_at - t0, 3),
            "stages_s": {k: None if v is None else round(v - t0, 3) for k, v in stages.items()}}


def run(root: Path, clients: int) -> dict[str, Any]:
    # The testing kit's faster intervals are put back to the product's defaults.
    lab = Deployment(root, master_p2pdist={"announce_interval": 30})
    minions = [f"m{i}" for i in range(1, clients + 1)]
    try:
        lab.start([lab.minion(m, i, report_interval=5) for i, m in enumerate(minions, 1)])
        lab.salt("*", "p2pdist.report", timeout=120)  # agents up before the clock runs
        time.sleep(5)
        cold = one_push(lab, root, minions, "cold.bin", 1)
        time.sleep(10)  # the first transfer done, the machine quiet again
        warm = one_push(lab, root, minions, "warm.bin", 2)
    finally:
        lab.stop()
    return {"minions": clients, "size_mib": 64, "stages": list(STAGES), "cold": cold, "warm": warm,
            "target_s": 2.0}


def table(result: dict[str, Any]) -> str:
    rows = ["| stage (s after the command starts) | cold | warm |", "|---|---|---|"]
    for stage in [*STAGES, "first_block"]:
        cells = [result[k]["stages_s"].get(stage) for k in ("cold", "warm")]
        rows.append(f"| {stage} | " + " | ".join("-" if c is None else f"{c:.2f}" for c in cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="startup", description=(__doc__ or "").split("\n")[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--minions", type=int, default=4)
    args = p.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="p2su-"))  # short: Unix socket paths are limited
    try:
        result = run(root, args.minions)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(table(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
