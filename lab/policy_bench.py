"""``python -m lab.policy_bench``: the share policy, measured with real agents.

Real agents and libtorrent on loopback aliases (127.0.0.x), in closed swarms
(TLS between peers, a certificate per host, as in production): an origin with its
tracker seeds four files to minions, then stops seeding (keep_swarm), so each
swarm's only source is a minion under a policy; other minions fetch from it:

- ``upload: false``: U must send L nothing (and, without the policy, U' serves L');
- ``upload_rate: 1MB``: C serves D at about 1,000,000 B/s;
- WAN cap ``wan_rate: 1MB`` on S, whose site is itself and P1: P1 at LAN speed,
  P2 (outside the site) at about 1 MB/s. P1 does not upload (``upload: false``),
  so that S stays P2's only source once P1 is complete.

All swarms run at once (about 30 s). Rates are the slope of bytes_done over
time, the first second of each transfer skipped.
"""

from __future__ import annotations

import base64
import functools
import os
import statistics
import time
from pathlib import Path
from typing import Any

from lab import checkbench, closedswarm
from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.torrent import creation, metainfo

DEFAULT_OUT = Path("bench/results/policy.json")
MB, MiB = 1_000_000, 2**20
SITE = {"site": "paris", "site_networks": ["127.0.0.8/29"]}
NO_UPLOAD = {"policy": {"upload": False}, **SITE}
# name: (address, policy body or None, swarm); sources first (they fetch from the origin).
SOURCES = {"U": ("127.0.0.9", NO_UPLOAD, "none"), "U'": ("127.0.0.11", None, "all"),
           "C": ("127.0.0.13", {"policy": {"upload_rate": "1MB"}, **SITE}, "rate"),
           "S": ("127.0.0.21", {"policy": {}, "site": "paris", "wan_rate": MB,
                                "site_networks": ["127.0.0.21/32", "127.0.0.22/32"]}, "wan")}
FETCHERS = {"L": ("127.0.0.10", None, "none"), "L'": ("127.0.0.12", None, "all"),
            "D": ("127.0.0.14", None, "rate"), "P1": ("127.0.0.22", NO_UPLOAD, "wan"),
            "P2": ("127.0.0.30", None, "wan")}
# S's WAN cap would bind its own download from the origin (outside its site): set it after.
LATE = {"S"}
SIZES = {"none": 4 * MiB, "all": 4 * MiB, "rate": 16 * MiB, "wan": 64 * MiB}
MEASURE_S, DEADLINE_S, POLL_S = 20.0, 45.0, 0.2  # L waits >= 15 s; P2 runs MEASURE_S
Samples = list[tuple[float, int]]


def rate(samples: Samples, total: int, skip: float = 1.0) -> float:
    """Bytes/s: least-squares slope of bytes_done from first byte (+ skip) to completion."""
    moving = [s for s in samples if s[1] > 0]
    done = [i for i, s in enumerate(moving) if s[1] >= total]
    moving = moving[:done[0] + 1] if done else moving
    if not moving:
        return 0.0
    window = [s for s in moving if s[0] >= moving[0][0] + skip]
    window = window if len(window) >= 3 else moving  # a LAN transfer may be over within a second
    if len(window) < 2:
        return 0.0
    return statistics.linear_regression([t for t, _ in window], [b for _, b in window]).slope


def host_id(name: str) -> str:
    return name.replace("'", "-prime")


def start_origin(root: Path, names: list[str], extra: list[str] | None = None) -> tuple[AgentClient, str]:
    """The origin with its tracker and swarm CA, knowing the keys of ``names``; and its URL."""
    closedswarm.make_keys(root, [host_id(n) for n in names])
    origin = AgentClient(root / "origin", "origin", ["--bt-interface", "127.0.0.1", "--tracker-port", "0",
                                                     "--tracker-interface", "127.0.0.1",
                                                     *closedswarm.origin_args(root), *(extra or [])])
    return origin, f"https://127.0.0.1:{origin.ensure()['tracker_port']}/announce"


def start(root: Path, name: str, ip: str) -> AgentClient:
    agent = AgentClient(root / name, host_id(name), ["--bt-interface", ip, "--outgoing-interface", ip,
                                                     *closedswarm.agent_args(root, host_id(name))])
    agent.ensure()
    return agent


def run(root: Path) -> dict[str, Any]:
    origin, tracker = start_origin(root, [*SOURCES, *FETCHERS])
    agents = {n: start(root, n, ip) for n, (ip, _, _) in {**SOURCES, **FETCHERS}.items()}
    for n, (_, body, _) in {**SOURCES, **FETCHERS}.items():
        if body is not None and n not in LATE:  # before any torrent: classes are set at connect time
            agents[n].call("POST", "/policy", body)
    torrents, dists = {}, {}
    for swarm, size in SIZES.items():
        src = root / "src" / swarm / f"{swarm}.bin"
        src.parent.mkdir(parents=True)
        src.write_bytes(os.urandom(size))
        torrent = creation.create_in_subprocess(src, tracker, closedswarm.ca_file(root))
        torrents[swarm], dists[swarm] = base64.b64encode(torrent).decode(), metainfo.describe(torrent).dist_id
        origin.call("POST", "/dists", {"mode": "seed", "torrent": torrents[swarm], "source": str(src),
                                       "targets": [a.host_id for a in agents.values()], "upload_limit": 0})

    def status(name: str, swarm: str) -> dict[str, Any]:
        return dict(agents[name].call("GET", f"/dists/{dists[swarm]}"))

    def seeding(name: str, swarm: str) -> bool:
        return bool(status(name, swarm)["state"] == "seeding")

    for n, (_, _, swarm) in SOURCES.items():
        agents[n].call("POST", "/dists", {"mode": "fetch", "torrent": torrents[swarm], "dest": str(root / n)})
    for n, (_, _, swarm) in SOURCES.items():
        wait_for(f"{n} complete", functools.partial(seeding, n, swarm), timeout=30, every=POLL_S)
    for n in LATE:  # still before P1 and P2 connect
        agents[n].call("POST", "/policy", SOURCES[n][1])
    for dist_id in dists.values():  # the sources under policy are now the only ones
        origin.call("DELETE", f"/dists/{dist_id}?keep_swarm=1")
    t0 = time.monotonic()
    for n, (_, _, swarm) in FETCHERS.items():
        agents[n].call("POST", "/dists", {"mode": "fetch", "torrent": torrents[swarm], "dest": str(root / n)})
    samples: dict[str, Samples] = {n: [] for n in FETCHERS}
    last: dict[str, dict[str, Any]] = {}
    while time.monotonic() - t0 < DEADLINE_S:
        for n, (_, _, swarm) in FETCHERS.items():
            last[n] = status(n, swarm)
            samples[n].append((time.monotonic() - t0, int(last[n]["bytes_done"])))
        complete = {n for n, st in last.items() if st["state"] == "seeding"}
        if time.monotonic() - t0 >= MEASURE_S and {"L'", "D", "P1"} <= complete:
            break
        time.sleep(POLL_S)
    up = {n: status(n, swarm)["uploaded"] for n, (_, _, swarm) in SOURCES.items()}
    fetch = {n: {"state": last[n]["state"], "bytes_done": last[n]["bytes_done"],
                 "bytes_total": last[n]["bytes_total"], "peers": last[n]["peers"],
                 "uploaded": last[n]["uploaded"],
                 "rate": round(rate(samples[n], int(last[n]["bytes_total"])))} for n in FETCHERS}
    explain = {n: agents[n].call("GET", "/policy") for n in ("U", "C", "S")}
    for a in [*agents.values(), origin]:
        a.stop()
    return {"uploaded": up, "fetchers": fetch, "policy_in_force": explain,
            "elapsed_s": round(time.monotonic() - t0, 1), "sizes": SIZES}


def verdicts(r: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    f, up = r["fetchers"], r["uploaded"]
    u2, l2 = up["U'"], f["L'"]["state"]
    return [
        ("upload: false, U -> L",
         f"U uploaded {up['U']} B; L {f['L']['bytes_done']} B, {f['L']['peers']} peer(s)",
         "0 B", up["U"] == 0),
        ("no policy, U' -> L'", f"U' uploaded {u2} B; L' {l2}",
         "L' complete", l2 == "seeding"),
        ("upload_rate 1MB, C -> D", f"D {f['D']['rate'] / MB:.3f} MB/s", "1 MB/s +-10%",
         abs(f["D"]["rate"] - MB) <= 0.1 * MB),
        ("wan_rate 1MB, S -> P1 (site)", f"P1 {f['P1']['rate'] / MB:.1f} MB/s", ">> 1 MB/s",
         f["P1"]["rate"] > 10 * MB),
        ("wan_rate 1MB, S -> P2 (WAN)", f"P2 {f['P2']['rate'] / MB:.3f} MB/s", "1 MB/s +-10%",
         abs(f["P2"]["rate"] - MB) <= 0.1 * MB),
    ]


def main(argv: list[str] | None = None) -> int:
    return checkbench.main("policy_bench", __doc__, DEFAULT_OUT, run, verdicts, argv)


if __name__ == "__main__":
    raise SystemExit(main())
