"""``python -m lab.status_command``: where ``salt-run p2pdist.status <id> --out json`` spends its time.

A real salt-master with 10,000 accepted minion keys and a catalog holding a
report from each of them (as lab/status_e2e.py sets it up, without the load):
the whole command runs ``--runs`` times through lab/status_phases.py, beside
``salt-run test.arg`` (what any runner costs on this master: Salt's floor).
Printed: the median wall and CPU seconds of each, and of each phase.
``--src`` runs the command with another checkout's code (before/after).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from lab.status_e2e import ORDER_ID, setup, start_master
from lab.status_load import beacon_report
from lab.status_probes import DIST_ID


def fill(root: Path, ids: list[str]) -> None:
    """A fresh report from every minion, as the beacon sends it (lean), partly downloaded."""
    from salt_p2pdist.master.catalog import Catalog

    rng = random.Random(1)
    catalog = Catalog(root / "cache" / "p2pdist" / "catalog.sqlite")
    reports = [beacon_report(rng, mid, {DIST_ID: ORDER_ID}, rng.random(), True) for mid in ids]
    rows = [(d, r["minion"], r["ts"], fields) for r in reports for d, fields in r["dists"].items()]
    catalog.record_reports(rows)
    catalog.close()


def run_once(conf: Path, args: list[str], src: str) -> dict[str, float]:
    env = {**os.environ, **({"P2PDIST_SRC": src} if src else {})}
    # Run as a file, not ``-m lab...``: importing the lab package would import salt_p2pdist first.
    phases_py = Path(__file__).with_name("status_phases.py")
    done = subprocess.run([sys.executable, str(phases_py), "-c", str(conf), *args, "--out", "json"],
                          capture_output=True, text=True, env=env, check=True)
    line = next(x for x in done.stderr.splitlines() if x.startswith("PHASES "))
    phases: dict[str, float] = json.loads(line[len("PHASES "):])
    phases["stdout_bytes"] = len(done.stdout)
    return phases


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: round(statistics.median(r.get(k, 0.0) for r in runs), 3) for k in runs[0]}


def measure(minions: int, runs: int, sources: dict[str, str], master_extra: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="p2pdist-cmd-") as tmp:
        root = Path(tmp)
        env = setup(root, minions, master_extra)
        master = start_master(env)
        try:
            found: dict[str, list[dict[str, float]]] = {}
            for _ in range(runs):  # interleaved: the machine's load falls on each alike
                fill(root, (root / "ids").read_text().split())  # fresh reports: none stale
                for name, src in sources.items():
                    found.setdefault(name, []).append(run_once(env["conf"], ["p2pdist.status", DIST_ID], src))
                found.setdefault("salt-run test.arg (Salt's floor)", []).append(
                    run_once(env["conf"], ["test.arg", "1"], ""))
        finally:
            master.terminate()
            master.wait(30)
    return {"minions": minions, "runs": runs, "master_config": master_extra,
            **{k: medians(v) for k, v in found.items()}}


def main() -> None:
    p = argparse.ArgumentParser(description="time salt-run p2pdist.status <id> --out json, phase by phase")
    p.add_argument("--minions", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--src", default="", help="also run the command with this checkout's code")
    p.add_argument("--master", default="{}", help="JSON: extra master config (e.g. Salt's own tunables)")
    p.add_argument("--out", type=Path, help="also write the result here (salt-master prints on stdout too)")
    a = p.parse_args()
    sources = {"p2pdist.status <id> (this checkout)": ""}
    if a.src:
        sources[f"p2pdist.status <id> ({a.src})"] = str(Path(a.src).resolve())
    found = json.dumps(measure(a.minions, a.runs, sources, json.loads(a.master)), indent=2)
    print(found)
    if a.out:
        a.out.write_text(found + "\n")


if __name__ == "__main__":
    main()
