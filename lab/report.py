"""The figures of a run, their medians, the table and the JSON file.

F is the payload size. ``branch_in_over_F`` is how many copies' worth of
bytes entered a site over its WAN link (1.0 is the ideal, plus ~4.5 % of
Ethernet/IP/TCP headers, which the counters include); ``hq_out_over_F`` is
the same for the HQ uplink's outgoing side.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.params import LabParams
from lab.sampling import SATURATED
from lab.shaping import Counters


@dataclass
class RunRecord:
    scenario: str
    run: int | str  # 1..N, or "median" for the median of those runs
    branches: int
    clients_per_branch: int
    branch_mbit: float
    hq_mbit: float
    size_mib: float
    total_s: float | None  # start until the last client is done; None if any failed
    t_lb_s: float
    ratio: float | None  # total_s / t_lb_s
    branch_in_over_F: dict[str, float]
    branch_out_over_F: dict[str, float]
    hq_out_over_F: float
    hq_in_over_F: float
    clients_done: int
    hash_ok: bool
    client_times: dict[str, float | None] = field(default_factory=dict)
    bad_hash: list[str] = field(default_factory=list)
    error: str = ""
    wall_s: float = 0.0  # including the scenario's prepare step
    topology: str = "uniform"
    wan: str = "mesh"
    bound_s: float | None = None  # the product planner's bound for this lab (lab/shapes.py)
    binding: str = ""  # the term that binds it
    ratio_to_bound: float | None = None  # total_s / bound_s
    cpu_busy: float | None = None  # both cores' busy fraction during the run (/proc/stat)
    valid: bool = True  # False: the machine was saturated (cpu_busy > 0.90), not the network
    # p2pdist: push command start until the first block lands on a branch client's disk
    first_piece_s: float | None = None
    samples: list[Any] = field(default_factory=list)  # [seconds, {site: bytes into it}] each 0.5 s
    # How p2pdist's Salt side ran in this lab: "salt" (salt-master and a salt-minion
    # per client) or "agents" (no Salt daemon, lab/agentsdriver.py). Set on every
    # record of a run, the baselines' too, though only p2pdist's depends on it.
    mode: str = "salt"
    # p2pdist: CPU seconds per kind of process in the lab during the run (lab/cpuroles.py)
    cpu_s_by_role: dict[str, float] = field(default_factory=dict)


def make_record(
    params: LabParams, *, scenario: str, run: int, times: Mapping[str, float | None],
    delta: Mapping[str, Counters], bad_hash: Sequence[str], error: str, wall_s: float,
    cpu_busy: float | None = None, first_piece_s: float | None = None,
    samples: list[Any] | None = None, cpu_s_by_role: dict[str, float] | None = None,
) -> RunRecord:
    size = params.size_bytes
    done = [t for t in times.values() if t is not None]
    complete = len(done) == len(times) and not error
    total = max(done) if complete and done else None
    hq = delta.get("hq", Counters(0, 0))
    sites = {k: v for k, v in delta.items() if k != "hq"}
    return RunRecord(
        scenario=scenario, run=run, branches=params.branches,
        clients_per_branch=params.clients_per_branch, branch_mbit=params.branch_mbit,
        hq_mbit=params.hq_mbit, size_mib=params.size_mib,
        total_s=total, t_lb_s=params.t_lb_s,
        ratio=total / params.t_lb_s if total is not None else None,
        branch_in_over_F={k: v.rx_bytes / size for k, v in sites.items()},
        branch_out_over_F={k: v.tx_bytes / size for k, v in sites.items()},
        hq_out_over_F=hq.tx_bytes / size, hq_in_over_F=hq.rx_bytes / size,
        clients_done=len(done), hash_ok=not bad_hash and not error,
        client_times=dict(times), bad_hash=list(bad_hash), error=error, wall_s=wall_s,
        topology=params.layout.name, wan=params.layout.wan, bound_s=params.bound_s,
        binding=(params.plan["binding"] or {}).get("term", ""),
        ratio_to_bound=total / params.bound_s if total is not None else None,
        cpu_busy=cpu_busy, valid=cpu_busy is None or cpu_busy <= SATURATED,
        first_piece_s=first_piece_s, samples=samples or [], mode=params.mode,
        cpu_s_by_role=cpu_s_by_role or {},
    )


def _median(values: Sequence[float | None]) -> float | None:
    return statistics.median(values) if values and None not in values else None  # type: ignore[type-var]


def _median_map(maps: Sequence[Mapping[str, float | None]]) -> dict[str, float | None]:
    return {k: _median([m.get(k) for m in maps]) for k in maps[0]} if maps else {}


def median_record(records: Sequence[RunRecord]) -> RunRecord:
    """The per-figure median of several runs of one scenario."""
    first = records[0]
    ins = _median_map([r.branch_in_over_F for r in records])
    outs = _median_map([r.branch_out_over_F for r in records])
    total = _median([r.total_s for r in records])
    return RunRecord(
        scenario=first.scenario, run="median", branches=first.branches,
        clients_per_branch=first.clients_per_branch, branch_mbit=first.branch_mbit,
        hq_mbit=first.hq_mbit, size_mib=first.size_mib, total_s=total,
        t_lb_s=first.t_lb_s, ratio=total / first.t_lb_s if total is not None else None,
        branch_in_over_F={k: v or 0.0 for k, v in ins.items()},
        branch_out_over_F={k: v or 0.0 for k, v in outs.items()},
        hq_out_over_F=statistics.median(r.hq_out_over_F for r in records),
        hq_in_over_F=statistics.median(r.hq_in_over_F for r in records),
        clients_done=min(r.clients_done for r in records),
        hash_ok=all(r.hash_ok for r in records),
        client_times=_median_map([r.client_times for r in records]),
        wall_s=statistics.median(r.wall_s for r in records),
        topology=first.topology, wan=first.wan, bound_s=first.bound_s, binding=first.binding,
        ratio_to_bound=total / first.bound_s if total is not None and first.bound_s else None,
        cpu_busy=_median([r.cpu_busy for r in records]), valid=all(r.valid for r in records),
        first_piece_s=_median([r.first_piece_s for r in records]), mode=first.mode,
    )


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def label(r: RunRecord) -> str:
    """The scenario as the table names it: p2pdist's mode is part of what was measured."""
    return f"{r.scenario}/{r.mode}" if r.scenario == "p2pdist" else r.scenario


HEADER = (f"{'scenario':<14} {'run':>6} {'total_s':>8} {'bound':>6} {'ratio':>6} "
          f"{'in/F avg':>8} {'in/F max':>8} {'out/F avg':>9} {'HQout/F':>8} "
          f"{'done':>7} {'hash':>6} {'cpu':>5}")


def table_row(r: RunRecord) -> str:
    ins = list(r.branch_in_over_F.values()) or [0.0]
    outs = list(r.branch_out_over_F.values()) or [0.0]
    clients = len(r.client_times)
    cpu = "-" if r.cpu_busy is None else f"{100 * r.cpu_busy:.0f}%"
    return (f"{label(r):<14} {r.run!s:>6} {_fmt(r.total_s):>8} {_fmt(r.bound_s):>6} "
            f"{_fmt(r.ratio_to_bound, 2):>6} {_fmt(statistics.mean(ins), 2):>8} "
            f"{_fmt(max(ins), 2):>8} {_fmt(statistics.mean(outs), 2):>9} "
            f"{_fmt(r.hq_out_over_F, 2):>8} {f'{r.clients_done}/{clients}':>7} "
            f"{'ok' if r.hash_ok else 'FAILED':>6} {cpu:>5}"
            + ("" if r.valid else "  INVALID: CPU saturated"))


def client_line(r: RunRecord) -> str:
    times = " ".join(f"{k}={_fmt(v)}" for k, v in r.client_times.items())
    cpu = ", ".join(f"{k} {v:.1f}" for k, v in r.cpu_s_by_role.items())
    return (f"    clients (s): {times}" + (f"\n    CPU s by process: {cpu}" if cpu else "")
            + (f"\n    error: {r.error}" if r.error else ""))


def _rounded(value: object) -> object:
    # Microseconds and 1e-9 copies are noise: keep the file readable.
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def _dumps(records: Sequence[Any]) -> str:
    """Indented JSON, but each run's time series on one line: readable and small."""
    series = [json.dumps(r.get("samples", []), separators=(",", ":")) for r in records]
    text = json.dumps([{**r, "samples": f"@samples{i}@"} for i, r in enumerate(records)], indent=2)
    for i, line in enumerate(series):
        text = text.replace(f'"@samples{i}@"', line, 1)
    return text + "\n"


def write_json(path: Path, records: Sequence[RunRecord]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(_dumps([_rounded(asdict(r)) for r in records]))
    tmp.replace(path)  # a reader never sees half a file
