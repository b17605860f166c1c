"""How many announces per second the master's tracker sustains (``python -m lab.tracker_bench``).

Two figures, on this machine:

- the tracker alone (``Tracker.respond``, sans I/O): seconds of CPU per
  announce in a swarm of 100, 1,000 and 10,000 hosts (the hand-out looks at
  the whole swarm, so this grows with it);
- the whole path as minions take it: a new TLS connection per announce with
  the host's client certificate, through the origin's ``TrackerServer``,
  hammered by client processes. The server's CPU per announce is measured
  in its own process, so the clients' CPU does not count against it.

The tracker's interval rule (tracker/intervals.py) spends a budget of these
announces per second on downloading hosts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import resource
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote_from_bytes

from salt_p2pdist.agent import mastertls
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.trackerserver import TrackerServer, server_tls
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.torrent import swarmca
from salt_p2pdist.tracker.tracker import Tracker

HASH = bytes(range(20))
NAME = "bench.bin"


def _query(host: str, left: int) -> str:
    return f"info_hash={quote_from_bytes(HASH)}&port=6881&left={left}&minion={host}&numwant=50"


def _ip(i: int, sites: int = 100) -> str:
    """Host ``i``'s address: site ``i % sites``, one /24 each."""
    k = i % sites
    return f"10.{k // 250}.{k % 250}.{1 + i // sites % 250}"


def filled_tracker(hosts: int, sites: int = 100, complete_every: int = 0) -> Tracker:
    """A tracker with one swarm of ``hosts`` hosts in ``sites`` sites, downloading but for
    every ``complete_every``-th one (0: none), which is complete (a seed)."""
    names = [f"h{i:05d}" for i in range(hosts)]
    site_map = SiteMap.from_config({f"s{k}": {"networks": [f"10.{k // 250}.{k % 250}.0/24"]}
                                    for k in range(sites)})
    tracker = Tracker(sites=site_map, require_cert=False)
    tracker.register(HASH, frozenset(names), 6881, NAME)
    for i, host in enumerate(names):
        tracker.respond(_query(host, _left(i, complete_every, 1 << 30)), _ip(i, sites), "10.255.0.1")
    return tracker


def _left(i: int, complete_every: int, left: int) -> int:
    return 0 if complete_every and i % complete_every == 0 else left


def cpu_per_announce(hosts: int, rounds: int = 2000, complete_every: int = 0,
                     fetchers_only: bool = False) -> float:
    """CPU seconds per announce of a random host (``fetchers_only``: of a site's WAN fetcher,
    the one announce that reads the other sites' seeds)."""
    tracker = filled_tracker(hosts, complete_every=complete_every)
    rng = random.Random(1)
    seated = sorted(int(h[1:]) for h in tracker.swarms[HASH].fetchers.all())
    start = time.process_time()
    for _ in range(rounds):
        i = rng.choice(seated) if fetchers_only else rng.randrange(hosts)
        tracker.respond(_query(f"h{i:05d}", _left(i, complete_every, 1 << 29)), _ip(i), "10.255.0.1")
    return (time.process_time() - start) / rounds


def _client(port: int, ca_pem: str, cert: str, key: str, seconds: float, out: Any) -> None:
    ctx = mastertls.client_context(ca_pem, (Path(cert), Path(key)))
    done, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ctx)
        try:  # a new connection each time, as libtorrent announces
            conn.request("GET", "/announce?" + _query("m1", 1 << 29))
            if b"failure" not in conn.getresponse().read():
                done += 1
        finally:
            conn.close()
    out.put(done)


def over_tls(directory: Path, clients: int, seconds: float, swarm: int) -> dict[str, float]:
    ca = swarmca.SwarmCA(directory / "ca")
    tracker = filled_tracker(swarm) if swarm else Tracker()
    tracker.require_cert = True
    tracker.register(HASH, frozenset(tracker.swarms[HASH].allowed if swarm else ()) | {"m1"}, 6881, NAME)
    swarmca.host_key(directory / "tls.key")
    cfg = AgentConfig(state_dir=directory, host_id="origin", tracker_port=0, tracker_interface="127.0.0.1")
    server = TrackerServer("127.0.0.1", 0, tracker, None, server_tls(cfg, ca, directory / "tls.key"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    key = swarmca.host_key(directory / "m1.key")
    (directory / "m1.pem").write_bytes(ca.issue(swarmca.public_pem(key), torrent_name=NAME, holder="m1"))
    out: Any = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_client, args=(
        server.server_address[1], ca.cert_pem.decode(), str(directory / "m1.pem"),
        str(directory / "m1.key"), seconds, out)) for _ in range(clients)]
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    for p in procs:
        p.start()
    total = sum(out.get() for _ in procs)
    wall = time.monotonic() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for p in procs:
        p.join()
    server.shutdown()
    server.server_close()
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    return {"clients": clients, "swarm_hosts": swarm, "announces": total,
            "announces_per_s": round(total / wall, 1),
            "server_cpu_ms_per_announce": round(1000 * cpu / total, 3),
            "per_core_announces_per_s": round(total / cpu, 1)}


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m lab.tracker_bench")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=3)
    p.add_argument("--out", type=Path)
    p.add_argument("--alone", action="store_true", help="the tracker alone only, no TLS runs")
    a = p.parse_args()
    result: dict[str, Any] = {"tracker_cpu_ms_per_announce": {
        str(n): round(1000 * cpu_per_announce(n), 3) for n in (100, 1000, 10000)}}
    # Half the swarm complete: seeds of every site are candidates for every other site's fetcher.
    result["tracker_cpu_ms_per_announce_half_seeds"] = {
        str(n): round(1000 * cpu_per_announce(n, complete_every=2), 3) for n in (100, 1000, 10000)}
    result["tracker_cpu_ms_per_fetcher_announce_half_seeds"] = {
        str(n): round(1000 * cpu_per_announce(n, complete_every=2, fetchers_only=True), 3)
        for n in (100, 1000, 10000)}
    if not a.alone:
        with tempfile.TemporaryDirectory() as d:
            result["tls"] = [over_tls(Path(d) / f"r{i}", a.clients, a.seconds, swarm)
                             for i, swarm in enumerate((0, 1000))]
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
