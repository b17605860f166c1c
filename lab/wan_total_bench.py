"""``python -m lab.wan_total_bench``: a site's WAN cap held as one total.

Real agents, libtorrent and the master's tracker on loopback aliases, in
closed swarms (TLS, per-host certificates, as in production). Site
paris (S1, S2, S3 and P1) has ``wan_rate`` R; site lyon has F. S1-S3 fetch a
file from the origin, which then stops seeding, so paris's three seeds are the
only source. Then, at once, F (lyon, uncapped) and P1 (paris) fetch it:

- what F receives is everything paris sends across its WAN: it must stay
  within R (+10 %), although three paris hosts serve it, each capped at R;
- P1 fetches from the same seeds over its LAN, unslowed (>> R).

The same run repeats the phase after removing the sites from the tracker (so
each host applies the whole cap: the per-host behaviour before the total), as
the baseline: F2 may then receive up to 4 R (three seeds and P2, each capped at R).
A last phase measures the other way: lyon's seeds L1, L2 (uncapped) serve
paris's R1 and R2, both WAN fetchers (two per site): what L1 and L2 send is
what paris receives across its WAN, within R (+10 %).
"""

from __future__ import annotations

import base64
import functools
import os
import time
from pathlib import Path
from typing import Any

from lab import checkbench, closedswarm
from lab.policy_bench import POLL_S, Samples, rate, start, start_origin
from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.torrent import creation, metainfo

DEFAULT_OUT = Path("bench/results/wan-total.json")
MB, MiB = 1_000_000, 2**20
WAN_RATE = 2 * MB
SIZE = 40 * MiB
SITES = {"paris": {"networks": ["127.0.0.40/29"]}, "lyon": {"networks": ["127.0.0.48/29"]}}
PARIS = {"policy": {}, "site": "paris", "site_networks": ["127.0.0.40/29"], "wan_rate": WAN_RATE}
PARIS_SEEDS = {"S1": "127.0.0.41", "S2": "127.0.0.42", "S3": "127.0.0.43"}
LYON_SEEDS = {"L1": "127.0.0.51", "L2": "127.0.0.52"}
# name: (seeds, fetchers, the tracker's sites); paris hosts are capped once they fetch.
PHASES = {"total": (PARIS_SEEDS, {"F": "127.0.0.49", "P1": "127.0.0.44"}, SITES),
          "per-host": (PARIS_SEEDS, {"F2": "127.0.0.50", "P2": "127.0.0.45"}, {}),
          "into paris": (LYON_SEEDS, {"R1": "127.0.0.46", "R2": "127.0.0.47"}, SITES)}
DEADLINE_S = 90.0


def whole(samples: Samples) -> float:
    """Size over time to completion, from the order (a LAN copy may finish before 2 samples)."""
    done = [t for t, b in samples if b >= SIZE]
    return SIZE / done[0] if done else 0.0


def seeding(agent: AgentClient, dist_id: str) -> bool:
    return bool(agent.call("GET", f"/dists/{dist_id}")["state"] == "seeding")


def phase(origin: AgentClient, agents: dict[str, AgentClient], seeds: dict[str, str],
          fetchers: dict[str, str], torrent: str, dist_id: str, root: Path) -> dict[str, Any]:
    """The seeds fetch from the origin, which steps back; then the fetchers fetch from them."""
    for n in seeds:
        agents[n].call("POST", "/dists", {"mode": "fetch", "torrent": torrent, "dest": str(root / n)})
    for n in seeds:
        wait_for(f"{n} complete", functools.partial(seeding, agents[n], dist_id), timeout=60, every=POLL_S)
    for n in seeds:  # the cap from now on: it would have slowed their fetch from the origin
        if n in PARIS_SEEDS:
            agents[n].call("POST", "/policy", PARIS)
    origin.call("DELETE", f"/dists/{dist_id}?keep_swarm=1")
    # What the seeds sent each other while fetching from the origin is not the fetchers'.
    before = {n: agents[n].call("GET", f"/dists/{dist_id}")["uploaded"] for n in seeds}
    t0 = time.monotonic()
    for n in fetchers:
        agents[n].call("POST", "/dists", {"mode": "fetch", "torrent": torrent, "dest": str(root / n)})
    samples: dict[str, Samples] = {n: [] for n in fetchers}
    last: dict[str, dict[str, Any]] = {}
    while time.monotonic() - t0 < DEADLINE_S:
        for n in fetchers:
            last[n] = agents[n].call("GET", f"/dists/{dist_id}")
            samples[n].append((time.monotonic() - t0, int(last[n]["bytes_done"])))
        if all(st["state"] == "seeding" for st in last.values()):
            break
        time.sleep(POLL_S)
    took = max(t for ss in samples.values() for t, _ in ss)
    uploaded = {n: agents[n].call("GET", f"/dists/{dist_id}")["uploaded"] - before[n] for n in seeds}
    return {"fetchers": {n: {"state": st["state"], "bytes_done": st["bytes_done"],
                             "rate": round(rate(samples[n], SIZE) or whole(samples[n]))}
                         for n, st in last.items()},
            "seeds_uploaded": uploaded, "seeds_rate": round(sum(uploaded.values()) / took),
            "wan_rate_in_force": {n: agents[n].call("GET", "/policy").get("in_force", {}).get("wan_rate")
                                  for n in [*seeds, *fetchers]},
            "elapsed_s": round(took, 1)}


def run(root: Path) -> dict[str, Any]:
    hosts = {**PARIS_SEEDS, **LYON_SEEDS, **{n: ip for _, f, _ in PHASES.values() for n, ip in f.items()}}
    # Two WAN fetchers per site: in "into paris", R1 and R2 both fetch across the WAN.
    origin, tracker = start_origin(root, list(hosts), ["--fetchers-per-site", "2"])
    agents = {n: start(root, n, ip) for n, ip in hosts.items()}
    for n in hosts:
        if n[0] in "PR":  # paris's fetchers; paris's seeds get the cap once complete
            agents[n].call("POST", "/policy", PARIS)
    results = {}
    for name, (seeds, fetchers, sites) in PHASES.items():
        origin.call("POST", "/topology", {"sites": sites})
        src = root / "src" / name / f"{name}.bin"
        src.parent.mkdir(parents=True)
        src.write_bytes(os.urandom(SIZE))
        raw = creation.create_in_subprocess(src, tracker, closedswarm.ca_file(root))
        torrent, dist_id = base64.b64encode(raw).decode(), metainfo.describe(raw).dist_id
        origin.call("POST", "/dists", {"mode": "seed", "torrent": torrent, "source": str(src),
                                       "targets": list(hosts), "upload_limit": 0})
        for n in seeds:  # uncapped while they fetch from the origin (outside paris)
            if n in PARIS_SEEDS:
                agents[n].call("POST", "/policy", {**PARIS, "wan_rate": None})
        results[name] = phase(origin, agents, seeds, fetchers, torrent, dist_id, root)
    for a in [*agents.values(), origin]:
        a.stop()
    return {"wan_rate": WAN_RATE, "size": SIZE, "phases": results}


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    ph, cap = r["phases"], r["wan_rate"]
    total, base, into = ph["total"]["fetchers"], ph["per-host"]["fetchers"], ph["into paris"]
    return [
        ("paris -> lyon, total (F)", f"{total['F']['rate'] / MB:.3f} MB/s from 3 seeds",
         f"<= {cap * 1.1 / MB:.1f} MB/s",
         total["F"]["state"] == "seeding" and total["F"]["rate"] <= 1.1 * cap),
        ("  and not over-throttled", f"{total['F']['rate'] / cap:.2f} x the cap", ">= 0.80",
         total["F"]["rate"] >= 0.8 * cap),
        ("paris LAN (P1)", f"{total['P1']['rate'] / MB:.1f} MB/s", ">> cap", total["P1"]["rate"] > 5 * cap),
        ("baseline: per-host cap (F2)", f"{base['F2']['rate'] / MB:.3f} MB/s", "(up to 4 x cap)",
         base["F2"]["state"] == "seeding"),
        ("lyon -> paris, total (R1+R2)", f"{into['seeds_rate'] / MB:.3f} MB/s into 2 fetchers",
         f"<= {cap * 1.1 / MB:.1f} MB/s",
         all(f["state"] == "seeding" for f in into["fetchers"].values()) and into["seeds_rate"] <= 1.1 * cap),
    ]


def main(argv: list[str] | None = None) -> int:
    return checkbench.main("wan_total_bench", __doc__, DEFAULT_OUT, run, verdicts, argv)


if __name__ == "__main__":
    raise SystemExit(main())
