"""The figures of a disturbed-fetcher run against the undisturbed one, the table and the JSON."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lab.fetcher_disturb import SLOW, SLOW_FACTOR, Disturbance
from lab.params import LabParams
from lab.report import RunRecord
from lab.topology import Lab

TARGETS = {"replaced_after_s": "<= 10", "site_delay_s": "<= 15"}
MEDIANS = ("replaced_after_s", "site_delay_s", "rest_of_site_delay_s", "undisturbed_site_s",
           "disturbed_site_s", "undisturbed_copies_in", "disturbed_copies_in")


def _finish(r: RunRecord, hosts: list[str]) -> float | None:
    times = [r.client_times.get(h) for h in hosts]
    return None if not times or None in times else max(t for t in times if t is not None)


def _less(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 2)


def figures(lab: Lab, base: RunRecord, hit: RunRecord, d: Disturbance) -> dict[str, Any]:
    """One run's figures: the disturbed site's finish in both runs, the seat's replacement."""
    site = lab.sites[0]
    hosts = [c.name for c in site.clients]
    rest = [h for h in hosts if h != d.host]
    base_site, hit_site = _finish(base, hosts), _finish(hit, hosts)
    earliest = None
    if d.kind == SLOW and d.at_s is not None:
        rate_bytes = SLOW_FACTOR * site.down_mbit * 1e6 / 8
        earliest = round(d.at_s + (lab.params.size_bytes - d.host_bytes_at) / rate_bytes, 1)
    return {
        "run": base.run, "site": site.name, "disturbance": asdict(d),
        "replaced_after_s": d.replaced_after_s,
        "undisturbed_site_s": base_site, "disturbed_site_s": hit_site,
        "site_delay_s": _less(hit_site, base_site),
        "rest_of_site_delay_s": _less(_finish(hit, rest), _finish(base, rest)),
        "throttled_host_earliest_s": earliest,
        "undisturbed_copies_in": base.branch_in_over_F.get(site.name),
        "disturbed_copies_in": hit.branch_in_over_F.get(site.name),
        "undisturbed_total_s": base.total_s, "disturbed_total_s": hit.total_s,
        "cpu_busy": [base.cpu_busy, hit.cpu_busy], "valid": base.valid and hit.valid,
        "hash_ok": base.hash_ok and hit.hash_ok, "errors": [e for e in (base.error, hit.error) if e],
        "client_times": {"undisturbed": base.client_times, "disturbed": hit.client_times},
    }


def medians(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in MEDIANS:
        values = [r[key] for r in rows if r[key] is not None]
        out[key] = round(statistics.median(values), 3) if values else None
    return out


def _fmt(v: Any, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)


HEADER = (f"{'disturb':<7} {'run':>3} {'host':>6} {'at_s':>6} {'seat to':>7} {'replaced':>8} "
          f"{'site s':>7} {'undist':>7} {'delay':>6} {'rest':>6} {'copies':>11} {'cpu':>9}")


def row(kind: str, f: dict[str, Any]) -> str:
    d = f["disturbance"]
    cpu = "/".join("-" if c is None else f"{100 * c:.0f}%" for c in f["cpu_busy"])
    copies = f"{_fmt(f['undisturbed_copies_in'], 2)}/{_fmt(f['disturbed_copies_in'], 2)}"
    return (f"{kind:<7} {f['run']:>3} {_fmt(d['host']):>6} {_fmt(d['at_s']):>6} "
            f"{_fmt(d['replaced_by']):>7} {_fmt(f['replaced_after_s']):>8} "
            f"{_fmt(f['disturbed_site_s']):>7} {_fmt(f['undisturbed_site_s']):>7} "
            f"{_fmt(f['site_delay_s']):>6} {_fmt(f['rest_of_site_delay_s']):>6} {copies:>11} {cpu:>9}"
            + ("" if f["valid"] else "  INVALID: CPU saturated") + ("" if f["hash_ok"] else "  FAILED"))


def write(path: Path, kind: str, params: LabParams, commit: str, rows: list[dict[str, Any]]) -> None:
    doc = {"disturb": kind, "commit": commit, "targets": TARGETS, "lab": {
        "branches": params.branches, "clients_per_branch": params.clients_per_branch,
        "branch_mbit": params.branch_mbit, "hq_mbit": params.hq_mbit, "size_mib": params.size_mib,
        "mode": params.mode, "t_lb_s": round(params.t_lb_s, 2)},
        "runs": rows, "median": medians(rows)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1) + "\n")
