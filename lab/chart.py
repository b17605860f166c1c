"""A run's chart: bytes into each site over time, one panel per way of distributing.

Each line is a site's WAN link (copies of the payload that entered it, read
every 0.5 s), each dot the moment its last client had a verified copy, the
dashed line the planner's bound. Where the time goes shows without a table:
a flat line is a site waiting, a line far above 1 copy a site paying for
copies it did not need. matplotlib is a bench-only dependency
(requirements-bench.txt).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from lab.params import LabParams
from lab.report import RunRecord


def draw(path: Path, records: Sequence[RunRecord], params: LabParams) -> None:
    """One PNG of 800x400 px for the records of one run (each scenario's first run)."""
    first: dict[str, RunRecord] = {}
    for r in records:
        first.setdefault(r.scenario, r)
    size = params.size_bytes
    fig, axes = plt.subplots(1, len(first), figsize=(8, 4), dpi=100, squeeze=False)
    sites = [s.name for s in params.layout.sites]
    colors = {name: f"C{i % 10}" for i, name in enumerate(sites)}
    for ax, (name, r) in zip(axes[0], first.items(), strict=True):
        finished = [t for t in r.client_times.values() if t is not None]
        # Until the last client is done (the scenario's clean-up is not the run).
        end = 1.05 * max(finished) if finished else float("inf")
        shown = [(t, by_site) for t, by_site in r.samples if t <= end]
        for site in sites:
            xs = [t for t, _ in shown]
            ys = [by_site.get(site, 0) / size for _, by_site in shown]
            ax.plot(xs, ys, color=colors[site], lw=1.2, label=site)
            done = [t for c, t in r.client_times.items() if c.startswith(site + "c")]
            if done and None not in done:
                last = max(t for t in done if t is not None)
                at = [y for x, y in zip(xs, ys, strict=True) if x <= last]
                ax.plot([last], [at[-1] if at else 0], "o", color=colors[site], ms=4)
        if r.bound_s:
            ax.axvline(r.bound_s, ls="--", color="k", lw=1)
        ratio = f"{r.ratio_to_bound:.2f} x bound" if r.ratio_to_bound else "incomplete"
        ax.set_title(f"{name}: {ratio}", fontsize=9)
        ax.set_xlabel("seconds", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0][0].set_ylabel("copies into the site", fontsize=8)
    axes[0][-1].legend(fontsize=7, loc="upper left")
    bound = records[0].bound_s if records else None
    fig.suptitle(f"{params.layout.name} ({params.layout.wan}), {params.size_mib:g} MiB, "
                 f"bound {bound or 0:.1f} s (dashed)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
