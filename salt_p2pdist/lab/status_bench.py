"""``python -m salt_p2pdist.lab.status_bench``: the reporting path at 10,000 minions.

Feeds simulated minions' ``p2pdist/report/<id>`` events, shaped as the master
bus delivers them, through the real returner (``p2pdist.event_return``, loaded
by Salt's loader) in batches of ``event_return_queue`` events, then times the
real runner ``p2pdist.status``, weighs the catalog on disk and what one report
costs a minion. No master, no minions: no network, no origin agent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

TARGETS = {"ingest_reports_per_s": 2000.0, "status_query_s": 1.0, "store_bytes": 200e6}
DEFAULT_OUT = Path("bench/results/status.json")


def master_opts(root: Path) -> dict[str, Any]:
    import salt.config

    opts: dict[str, Any] = salt.config.master_config(None)
    opts.update(cachedir=str(root / "cache"), pki_dir=str(root / "pki"), sock_dir=str(root / "sock"),
                extension_modules=str(root / "ext"), file_roots={"base": [str(root / "srv")]})
    return opts


def dist_ids(n: int) -> list[str]:
    return [f"{i:04x}" + uuid.UUID(int=random.Random(i).getrandbits(128)).hex[:12] for i in range(n)]


def minion_ids(n: int) -> list[str]:
    return [f"node-{i:05d}.dc{i % 4}.example.net" for i in range(n)]


def transfer(rng: random.Random, dist_id: str, progress: float, final: bool) -> dict[str, Any]:
    """One distribution as ``agent.transfer.status_of`` reports it."""
    num_pieces = 512 + int(dist_id[:4], 16) * 64
    total = num_pieces * 2**20 - 12345
    failed = final and rng.random() < 0.01
    done = total if final and not failed else min(total, int(total * progress * rng.uniform(0.6, 1)))
    rate = 0 if done == total or failed else rng.randint(1 << 20, 60 << 20)
    state = "failed" if failed else ("seeding" if done == total else "downloading")
    return {"dist_id": dist_id, "name": f"release-{dist_id[:4]}.tar", "mode": "fetch", "state": state,
            "pieces": done * num_pieces // total, "num_pieces": num_pieces, "bytes_done": done,
            "bytes_total": total, "down_rate": rate, "up_rate": rng.randint(0, 40 << 20),
            "peers": rng.randint(0, 50), "downloaded": done + rng.randint(0, 1 << 20),
            "uploaded": rng.randint(0, 2 * total), "eta_s": round((total - done) / rate) if rate else 0,
            "dest": "/opt/dist", "error": "No space left on device" if failed else ""}


def report(rng: random.Random, minion: str, dists: list[str], progress: float, final: bool,
           ts: float) -> dict[str, Any]:
    """The return of ``p2pdist.report`` on one minion (what the returner fires)."""
    return {"minion": minion, "ts": ts, "dists": {d: transfer(rng, d, progress, final) for d in dists}}


def bus_event(payload: dict[str, Any]) -> dict[str, Any]:
    """The report as EventReturn sees it on the master bus (``iter_events(full=True)``)."""
    tag = "p2pdist/report/" + payload["minion"]
    return {"tag": tag, "data": {"id": payload["minion"], "tag": tag, "data": payload,
                                 "cmd": "_minion_event", "ts": int(payload["ts"]),
                                 "_stamp": "2026-11-25T12:00:00.000000"}}


def events(minions: list[str], dists: list[str], rnd: int, rounds: int) -> Iterator[dict[str, Any]]:
    rng = random.Random(rnd)
    t0 = 1_795_492_977.0 + 5 * rnd
    for m in minions:
        yield bus_event(report(rng, m, dists, (rnd + 1) / rounds, rnd == rounds - 1, t0 + rng.random()))


def ingest(opts: dict[str, Any], minions: list[str], dists: list[str], rounds: int, batch: int
           ) -> dict[str, Any]:
    """Register the distributions, then feed every round through ``event_return``."""
    import salt.loader

    from salt_p2pdist.catalog import Catalog
    from salt_p2pdist.config import MasterSettings

    catalog = Catalog(MasterSettings.from_opts(opts).state_dir / "catalog.sqlite")
    for d in dists:
        catalog.add_distribution(dist_id=d, name=f"release-{d[:4]}.tar", source=f"/srv/{d}",
                                 dest="/opt/dist", torrent=os.urandom(40_000), total_bytes=1 << 30,
                                 num_pieces=1024, user="root", targets=minions)
    catalog.close()  # as on a master: between salt-run calls nobody else holds the catalog open
    event_return: Callable[[list[dict[str, Any]]], None] = salt.loader.returners(opts, {})[
        "p2pdist.event_return"]
    per_round = []
    for rnd in range(rounds):
        spent, queue = 0.0, []
        for ev in events(minions, dists, rnd, rounds):
            queue.append(ev)  # EventReturn: append, flush when len(queue) >= event_return_queue
            if len(queue) >= batch:
                t = time.perf_counter()
                event_return(queue)
                spent += time.perf_counter() - t
                queue = []
        if queue:
            t = time.perf_counter()
            event_return(queue)
            spent += time.perf_counter() - t
        per_round.append(round(len(minions) / spent, 1))
    catalog = Catalog(MasterSettings.from_opts(opts).state_dir / "catalog.sqlite")
    rows = catalog.db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
    catalog.close()
    return {"event_return_queue": batch, "rounds": rounds, "reports_per_s_by_round": per_round,
            "reports_per_s": round(statistics.median(per_round), 1), "rows": rows}


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def minion_cost(dists: list[str], n: int) -> dict[str, Any]:
    """Bytes and CPU of one report on a minion: build + msgpack, and Salt's channel envelope."""
    import salt.crypt
    import salt.payload
    import salt.transport.frame

    key = salt.crypt.PrivateKey(salt.crypt.gen_keys(2048)[0].encode())  # minion keysize default
    crypticle = salt.crypt.Crypticle({}, salt.crypt.Crypticle.generate_key_string())
    rng, out = random.Random(7), {}
    for k in (1, len(dists)):
        t = time.process_time()
        for _ in range(n):
            payload = salt.payload.dumps(report(rng, "node-00001.dc1.example.net", dists[:k], 0.5, False,
                                                time.time()))
        build = (time.process_time() - t) / n
        ret = report(rng, "node-00001.dc1.example.net", dists[:k], 0.5, False, time.time())
        t = time.process_time()
        for _ in range(n):  # what the request channel adds per send (channel/client.py _package_load)
            load = {"id": ret["minion"], "cmd": "_minion_event", "pretag": None, "data": ret,
                    "tag": "p2pdist/report/" + ret["minion"], "nonce": uuid.uuid4().hex,
                    "ts": int(time.time()), "tok": key.encrypt(b"salt")}
            wire = salt.transport.frame.frame_msg({"enc": "aes", "load": crypticle.dumps(load),
                                                   "version": 3, "id": ret["minion"]})
        envelope = (time.process_time() - t) / n
        out[f"dists_{k}"] = {"payload_bytes": len(payload), "wire_bytes": len(wire),
                             "build_cpu_us": round(build * 1e6, 1),
                             "channel_cpu_us": round(envelope * 1e6, 1)}
    return out


def run(minions: int = 10_000, dists: int = 10, rounds: int = 3, batches: tuple[int, ...] = (1, 100),
        repeats: int = 5, out: Path | None = DEFAULT_OUT) -> dict[str, Any]:
    names, ids = minion_ids(minions), dist_ids(dists)
    result: dict[str, Any] = {"minions": minions, "dists": dists, "ingest": []}
    with tempfile.TemporaryDirectory(prefix="p2pdist-status-bench-") as tmp:
        for batch in batches:
            opts = master_opts(Path(tmp) / f"q{batch}")
            result["ingest"].append(ingest(opts, names, ids, rounds, batch))
        result["ingest_reports_per_s"] = min(r["reports_per_s"] for r in result["ingest"])
        result["rows"] = result["ingest"][-1]["rows"]
        import salt.loader

        runner = salt.loader.runner(opts)
        result["status_query_s"], view = median_time(lambda: runner["p2pdist.status"](ids[0]), repeats)
        assert len(view["minions"]) == minions, view
        result["status_list_s"], listing = median_time(lambda: runner["p2pdist.status"](), repeats)
        assert len(listing) == dists
        state_dir = Path(opts["cachedir"]) / "p2pdist"
        result["store_bytes"] = sum(p.stat().st_size for p in state_dir.glob("catalog.sqlite*"))
    result["minion"] = minion_cost(ids, 2000)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    return result


def table(r: dict[str, Any]) -> str:
    ok = {"ingest_reports_per_s": r["ingest_reports_per_s"] >= TARGETS["ingest_reports_per_s"],
          "status_query_s": r["status_query_s"] < TARGETS["status_query_s"],
          "store_bytes": r["store_bytes"] < TARGETS["store_bytes"]}
    lines = [f"{r['minions']} minions x {r['dists']} distributions", f"{'metric':34} {'measured':>14}  target"]
    for i in r["ingest"]:
        lines.append(f"{'ingest, event_return_queue=' + str(i['event_return_queue']):34}"
                     f" {i['reports_per_s']:>10,.0f}/s  >= 2,000/s  by round {i['reports_per_s_by_round']}")
    lines += [f"{'ingest (worst)':34} {r['ingest_reports_per_s']:>10,.0f}/s  >= 2,000/s "
              f"{'ok' if ok['ingest_reports_per_s'] else 'MISSED'}",
              f"{'status <id> (runner, median)':34} {r['status_query_s']:>12.3f} s  < 1 s "
              f"{'ok' if ok['status_query_s'] else 'MISSED'}",
              f"{'status listing (runner, median)':34} {r['status_list_s']:>12.3f} s",
              f"{'store (sqlite + wal + shm)':34} {r['store_bytes'] / 1e6:>11.1f} MB  < 200 MB "
              f"{'ok' if ok['store_bytes'] else 'MISSED'}"]
    for k, m in r["minion"].items():
        lines.append(f"{'minion report, ' + k.replace('_', '=') :34} {m['payload_bytes']:>8} B payload,"
                     f" {m['wire_bytes']} B wire; {m['build_cpu_us']} us build+msgpack,"
                     f" {m['channel_cpu_us']} us channel (AES+RSA token)")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--minions", type=int, default=10_000)
    p.add_argument("--dists", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--batches", default="1,100", help="event_return_queue sizes to try")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = p.parse_args()
    r = run(a.minions, a.dists, a.rounds, tuple(int(b) for b in a.batches.split(",")), out=a.out)
    print(table(r))
    print(f"written: {a.out}")


if __name__ == "__main__":
    main()
