"""``python -m lab.fetcher_bench``: a WAN fetcher slowed down or killed mid-run (root).

The default lab as ``python -m lab --scenarios p2pdist --clients 2`` builds it
(4 branches x 2 clients, 20 Mbit/s branch links, 100 Mbit/s HQ, 64 MiB, Salt
mode, the product's default settings). Each run, in one lab build: an
undisturbed p2pdist run, then for each disturbance a run in which the first
branch's seated WAN fetcher is slowed to a tenth of the branch link or has its
agent killed once it holds a quarter of the file (lab/fetcher_disturb.py).

Per run: when the tracker seated another host of that site, the site's finish
(its last client done, seconds from the push command) against the undisturbed
run's, and the copies of the file that entered the site over its WAN link.
Targets (issue: no stalls): replaced within 10 s; the site done at most 15 s
later than undisturbed. A throttled host itself needs its remaining bytes at a
tenth of the link (``throttled_host_earliest_s``), so the site's other hosts
are also reported apart (``rest_of_site_delay_s``).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lab.fetcher_disturb import DISTURBANCES, KILL, SLOW, SLOW_FACTOR, Disturbance, Disturber
from lab.fetcher_report import HEADER, figures, medians, row, write
from lab.harness import run_scenario
from lab.params import LabParams
from lab.scenario_p2pdist import P2PDist
from lab.session import open_lab
from lab.tools import lab_possible
from lab.topology import Lab


@dataclass(frozen=True, kw_only=True)
class BenchParams(LabParams):
    @property
    def timeout_s(self) -> float:
        """The lab's, plus the time a host throttled to a tenth of its link needs for the file."""
        slowest = min(s.down for s in self.layout.sites)
        return super().timeout_s + self.size_bytes * 8 / (SLOW_FACTOR * slowest * 1e6)


class Disturbed(P2PDist):
    """The p2pdist scenario with one fetcher of the first branch disturbed mid-run."""

    name: ClassVar[str] = "p2pdist-disturbed"

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.disturber: Disturber | None = None

    def pushing(self, lab: Lab) -> None:
        assert self.salt is not None
        self.disturber = Disturber(lab, self.salt.minion_root, self.kind)
        self.disturber.start()

    def run(self, lab: Lab) -> dict[str, float | None]:
        self.disturber = None
        try:
            return super().run(lab)
        finally:
            if self.disturber is not None:
                self.disturber.stop()
                self._keep_logs(lab, self.disturber.result.host)

    def _keep_logs(self, lab: Lab, host: str | None) -> None:
        """The disturbed host's minion and agent logs, per run (the lab keeps only the last run's)."""
        if host is None or self.salt is None:
            return
        tag = f"disturbed-{self.kind}-{time.strftime('%H%M%S')}-{host}"
        for log in (self.salt.root / "logs" / f"minion-{host}.log",
                    *self.salt.minion_root(host).rglob("agent.*")):
            with contextlib.suppress(OSError):
                shutil.copyfile(log, lab.log_dir / f"{tag}-{log.name}")


def build_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m lab.fetcher_bench", description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=1)
    p.add_argument("--branches", type=int, default=4)
    p.add_argument("--clients", type=int, default=2, help="clients per branch (default 2)")
    p.add_argument("--size-mib", type=float, default=64.0)
    p.add_argument("--disturb", choices=(*DISTURBANCES, "both"), default="both")
    p.add_argument("--out-dir", type=Path, default=Path("bench/results"))
    p.add_argument("--tag", default="", help="appended to the file name: fetcher-disturbed-<mode>-<tag>.json")
    p.add_argument("--logs", type=Path, help="keep the daemons' logs in this dir")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ok, why = lab_possible()
    if not ok:
        print(f"error: no lab possible here: {why}", file=sys.stderr)
        return 2
    kinds = [SLOW, KILL] if args.disturb == "both" else [args.disturb]
    params = BenchParams(branches=args.branches, clients_per_branch=args.clients, size_mib=args.size_mib)
    outs = {k: args.out_dir / f"fetcher-disturbed-{k}{'-' + args.tag if args.tag else ''}.json"
            for k in kinds}
    rows: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    commit = build_commit()
    with open_lab(params, logs_to=args.logs) as lab:
        print(HEADER, flush=True)
        for run_no in range(1, args.runs + 1):
            base = run_scenario(lab, P2PDist(), run_no)
            for kind in kinds:
                scenario = Disturbed(kind)
                hit = run_scenario(lab, scenario, run_no)
                d = scenario.disturber.result if scenario.disturber else Disturbance(kind, lab.sites[0].name)
                rows[kind].append(figures(lab, base, hit, d))
                print(row(kind, rows[kind][-1]), flush=True)
                write(outs[kind], kind, params, commit, rows[kind])
    for kind in kinds:
        print(f"median of {len(rows[kind])} ({kind}): {medians(rows[kind])}; results: {outs[kind]}")
    return 0 if all(f["hash_ok"] for rs in rows.values() for f in rs) else 1


if __name__ == "__main__":
    sys.exit(main())
