"""``python -m lab.status_bench``: the reporting path at 10,000 minions.

Feeds simulated minions' ``p2pdist/report/<id>`` events, shaped as the master
bus delivers them, through the real returner (``p2pdist.event_return``, loaded
by Salt's loader) in batches of ``event_return_queue`` events, as Salt's
EventReturn process flushes them; then times the real runner ``p2pdist.status``,
weighs the catalog on disk and what one report costs a minion. No master, no
minions, no network, no origin agent (the runner tolerates its absence).
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

DEFAULT_OUT = Path("bench/results/status.json")
TAG = "p2pdist/report/"


def master_opts(root: Path, batch: int) -> dict[str, Any]:
    import salt.config

    opts: dict[str, Any] = salt.config.master_config(None)
    opts.update(cachedir=str(root / "cache"), pki_dir=str(root / "pki"), sock_dir=str(root / "sock"),
                extension_modules=str(root / "ext"), file_roots={"base": [str(root / "srv")]},
                event_return="p2pdist", event_return_queue=batch,
                # No origin agent in this bench: only the report path is measured.
                p2pdist={"supervise_origin": False},
                output="json")  # as with --out json: the full structured status
    return opts


def dist_ids(n: int) -> list[str]:  # like metainfo: 16 hex digits of the info hash
    return [f"{i:04x}{random.Random(i).getrandbits(48):012x}" for i in range(n)]


def minion_ids(n: int) -> list[str]:
    return [f"node-{i:05d}.dc{i % 4}.example.net" for i in range(n)]


def transfer(rng: random.Random, dist_id: str, progress: float, final: bool) -> dict[str, Any]:
    """One distribution, with the fields and types of ``agent.transfer.status_of``."""
    num_pieces = 512 + int(dist_id[:4], 16) * 64
    total = num_pieces * 2**20 - 12345
    failed = final and rng.random() < 0.01
    done = total if final and not failed else min(total, int(total * progress * rng.uniform(0.6, 1)))
    rate = 0 if done == total or failed else rng.randint(1 << 20, 60 << 20)
    return {"dist_id": dist_id, "name": f"release-{dist_id[:4]}.tar", "mode": "fetch",
            "state": "failed" if failed else ("seeding" if done == total else "downloading"),
            "pieces": done * num_pieces // total, "num_pieces": num_pieces, "bytes_done": done,
            "bytes_total": total, "down_rate": rate, "up_rate": rng.randint(0, 40 << 20),
            "peers": rng.randint(0, 50), "downloaded": done + rng.randint(0, 1 << 20),
            "uploaded": rng.randint(0, 2 * total), "eta_s": round((total - done) / rate) if rate else 0,
            "dest": "/opt/dist", "error": "No space left on device" if failed else ""}


def report(rng: random.Random, minion: str, dists: list[str], progress: float = 0.5,
           final: bool = False, ts: float | None = None) -> dict[str, Any]:
    """The return of ``p2pdist.report`` on a minion: what its returner fires."""
    return {"minion": minion, "ts": time.time() if ts is None else ts,
            "dists": {d: transfer(rng, d, progress, final) for d in dists}}


def bus_event(payload: dict[str, Any]) -> dict[str, Any]:
    """The report as EventReturn gets it from the master bus (``iter_events(full=True)``)."""
    tag = TAG + payload["minion"]
    return {"tag": tag, "data": {"id": payload["minion"], "tag": tag, "data": payload,
                                 "cmd": "_minion_event", "ts": int(payload["ts"]),
                                 "_stamp": "2026-11-25T12:00:00.000000"}}


def events(minions: list[str], dists: list[str], rnd: int, rounds: int) -> Iterator[dict[str, Any]]:
    rng, t0 = random.Random(rnd), 1_795_492_977.0 + 5 * rnd
    for m in minions:
        yield bus_event(report(rng, m, dists, (rnd + 1) / rounds, rnd == rounds - 1, t0 + rng.random()))


def ingest(opts: dict[str, Any], minions: list[str], dists: list[str], rounds: int) -> dict[str, Any]:
    """Register the distributions, then feed every round of reports through ``event_return``."""
    import salt.loader

    from salt_p2pdist.core.config import MasterSettings
    from salt_p2pdist.master.catalog import Catalog

    path = MasterSettings.from_opts(opts).state_dir / "catalog.sqlite"
    catalog = Catalog(path)
    for d in dists:
        catalog.add_distribution(dist_id=d, name=f"release-{d[:4]}.tar", source=f"/srv/{d}",
                                 dest="/opt/dist", torrent=os.urandom(40_000), total_bytes=1 << 30,
                                 num_pieces=1024, user="root", targets=minions)
    catalog.close()
    event_return: Callable[[list[dict[str, Any]]], None] = salt.loader.returners(opts, {})[
        "p2pdist.event_return"]
    batch, per_round = max(1, opts["event_return_queue"]), []
    for rnd in range(rounds):  # round 0 inserts rows, the next ones update them
        spent, queue = 0.0, []
        for i, ev in enumerate(events(minions, dists, rnd, rounds), 1):
            queue.append(ev)  # EventReturn: append, flush once len(queue) >= event_return_queue
            if len(queue) >= batch or i == len(minions):
                t = time.perf_counter()
                event_return(queue)
                spent += time.perf_counter() - t
                queue = []
        per_round.append(spent)
    catalog = Catalog(path)
    rows = catalog.db.execute("SELECT COUNT(*) FROM reports").fetchone()[0]
    catalog.close()
    return {"event_return_queue": batch, "rounds": rounds, "rows": rows,
            "reports_per_s": round(rounds * len(minions) / sum(per_round), 1),
            "reports_per_s_by_round": [round(len(minions) / s, 1) for s in per_round]}


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times), 4), out


def per_call_us(fn: Callable[..., Any], n: int, *args: Any) -> tuple[float, Any]:
    t, out = time.process_time(), None
    for _ in range(n):
        out = fn(*args)
    return round((time.process_time() - t) / n * 1e6, 1), out


def minion_cost(dists: list[str], n: int) -> dict[str, Any]:
    """What one report costs a minion: bytes and CPU, ours and Salt's request channel's."""
    import salt.crypt
    import salt.payload
    import salt.transport.frame

    from salt_p2pdist.core.reports import REPORT_FIELDS

    key = salt.crypt.PrivateKey(salt.crypt.gen_keys(2048)[0].encode())  # a minion's default key
    aes = salt.crypt.Crypticle({}, salt.crypt.Crypticle.generate_key_string())
    rng, me, out = random.Random(7), minion_ids(2)[1], {}
    token_us, tok = per_call_us(lambda: key.encrypt(b"salt"), n)  # _package_load signs every send
    for k in (1, len(dists)):
        build_us, payload = per_call_us(lambda ds: salt.payload.dumps(report(rng, me, ds)), n, dists[:k])
        ret = report(rng, me, dists[:k])
        load = {"id": me, "cmd": "_minion_event", "pretag": None, "data": ret, "tag": TAG + me,
                "nonce": uuid.uuid4().hex, "ts": int(time.time()), "tok": tok}  # as channel/client.py
        aes_us, wire = per_call_us(lambda ld: salt.transport.frame.frame_msg(
            {"enc": "aes", "load": aes.dumps(ld), "version": 3, "id": me}), n, load)
        lean = {**ret, "dists": {d: {f: v[f] for f in REPORT_FIELDS if f in v}
                                 for d, v in ret["dists"].items()}}
        out[f"dists_{k}"] = {"payload_bytes": len(payload), "wire_bytes": len(wire),
                             "payload_bytes_stored_fields_only": len(salt.payload.dumps(lean)),
                             "build_msgpack_cpu_us": build_us, "rsa_token_cpu_us": token_us,
                             "aes_frame_cpu_us": aes_us}
    return out


def run(minions: int = 10_000, dists: int = 10, rounds: int = 3, batches: tuple[int, ...] = (1, 100),
        repeats: int = 5, out: Path | None = DEFAULT_OUT) -> dict[str, Any]:
    names, ids = minion_ids(minions), dist_ids(dists)
    result: dict[str, Any] = {"minions": minions, "dists": dists, "loader": "salt.loader",
                              "loadavg_1m_before": os.getloadavg()[0], "ingest": []}
    with tempfile.TemporaryDirectory(prefix="p2pdist-status-bench-") as tmp:
        for batch in batches:
            opts = master_opts(Path(tmp) / f"q{batch}", batch)
            result["ingest"].append(ingest(opts, names, ids, rounds))
        result["ingest_reports_per_s"] = min(r["reports_per_s"] for r in result["ingest"])
        result["rows"] = result["ingest"][-1]["rows"]
        import salt.loader

        status = salt.loader.runner(opts)["p2pdist.status"]
        result["status_query_s"], view = median_time(lambda: status(ids[0]), repeats)
        assert len(view["minions"]) == minions, view
        result["status_list_s"], listing = median_time(status, repeats)
        assert len(listing) == dists, listing
        files = {p.name: p.stat().st_size
                 for p in (Path(opts["cachedir"]) / "p2pdist").glob("catalog.sqlite*")}
        result["store_files"], result["store_bytes"] = files, sum(files.values())
    result["minion_report"] = minion_cost(ids, max(50, min(2000, minions)))
    result["loadavg_1m_after"] = os.getloadavg()[0]  # other work on the machine skews the figures
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        # the end-to-end runs (lab/status_e2e.py) share the file: keep them
        kept = {k: v for k, v in (json.loads(out.read_text()) if out.exists() else {}).items()
                if k.startswith("e2e")}
        out.write_text(json.dumps({**result, **kept}, indent=2) + "\n")
    return result


def table(r: dict[str, Any]) -> str:
    rows = [(f"ingest, event_return_queue={i['event_return_queue']}", f"{i['reports_per_s']:,.0f} reports/s",
             ">= 2,000/s", i["reports_per_s"] >= 2000) for i in r["ingest"]]
    rows += [(f"status <id>, {r['minions']:,} minions", f"{r['status_query_s']:.3f} s", "< 1 s",
              r["status_query_s"] < 1),
             ("status (listing)", f"{r['status_list_s']:.3f} s", "", None),
             ("store: catalog.sqlite + wal + shm", f"{r['store_bytes'] / 1e6:.1f} MB", "< 200 MB",
              r["store_bytes"] < 200e6)]
    for k, m in r["minion_report"].items():
        rows += [(f"report bytes, {k.replace('_', '=')}", f"{m['payload_bytes']:,} B", "", None),
                 ("  on the wire (AES, framed)", f"{m['wire_bytes']:,} B", "", None),
                 ("  minion CPU: build+msgpack", f"{m['build_msgpack_cpu_us']} us", "", None),
                 ("  + Salt: RSA token, AES+frame", f"{m['rsa_token_cpu_us']} + {m['aes_frame_cpu_us']} us",
                  "", None)]
    lines = [f"p2pdist status path: {r['minions']:,} minions x {r['dists']} distributions",
             f"{'':36}{'measured':>20}  {'target':12}"]
    verdict = {None: "", True: "ok", False: "MISSED"}
    lines += [f"{a:36}{b:>20}  {c:12}{verdict[ok]}" for a, b, c, ok in rows]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description="p2pdist reporting path at scale (no network)")
    p.add_argument("--minions", type=int, default=10_000)
    p.add_argument("--dists", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3, help="reports per minion and distribution")
    p.add_argument("--batches", default="1,100", help="event_return_queue sizes to try")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    a = p.parse_args()
    r = run(a.minions, a.dists, a.rounds, tuple(int(b) for b in a.batches.split(",")), out=a.out)
    print(table(r))
    print(f"written: {a.out}")


if __name__ == "__main__":
    main()
