"""``python -m lab.status_e2e``: the status path at 10,000 minions through a real salt-master.

A salt-master (``event_return: p2pdist``) with 10,000 accepted minion keys; load
processes (lab/status_load.py) sign each id in and send its reports, as the
beacon builds them, through the master's request server (ZeroMQ, AES, token
checked), its event bus, the event returner and into the catalog. Measured:
the mean cores all salt-master processes use over a steady window (the
generator's processes are measured apart, and the machine's total shows
whether the two cores were saturated), the age of every minion's status
(sampled from the catalog each second, and as ``p2pdist.status`` shows it),
and ``salt-run p2pdist.status <id> --out json`` wall time as an admin runs it.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from lab.status_probes import (
    BIN,
    DIST_ID,
    answered,
    by_role,
    cpu_s,
    family,
    machine_busy_s,
    status_ages,
    status_command,
)

DEFAULT_OUT = Path("bench/results/status.json")
ORDER_ID = "0123456789abcdef"
IDLE_S = 10


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(root: Path, minions: int, master_extra: dict[str, Any]) -> dict[str, Any]:
    """Config, keys (one pair, accepted under every id) and a distribution ordered to every id."""
    import salt.crypt
    import salt.utils.yaml

    from salt_p2pdist.master.catalog import Catalog

    conf, pki, mpki = root / "conf", root / "mpki", root / "pki"
    for d in (conf, pki, mpki / "minions", root / "srv"):
        d.mkdir(parents=True)
    port = free_port()
    opts = {"root_dir": str(root), "pki_dir": str(mpki), "cachedir": str(root / "cache"),
            "sock_dir": str(root / "sock"), "log_file": str(root / "master.log"), "user": "root",
            "interface": "127.0.0.1", "ret_port": port, "publish_port": free_port(),
            "file_roots": {"base": [str(root / "srv")]}, "event_return": "p2pdist",
            **master_extra, "p2pdist": {"supervise_origin": False, **master_extra.get("p2pdist", {})}}
    (conf / "master").write_text(salt.utils.yaml.safe_dump(opts))
    t = time.perf_counter()
    private, public = salt.crypt.gen_keys(2048)
    keygen_s = time.perf_counter() - t
    (pki / "minion.pem").write_text(private)
    (pki / "minion.pub").write_text(public)
    ids = [f"node-{i:05d}.dc{i % 4}.example.net" for i in range(minions)]
    sessions = root / "cache" / "sessions"
    sessions.mkdir(parents=True)
    for mid in ids:
        (mpki / "minions" / mid).write_text(public)
        salt.crypt.Crypticle.write_key(sessions / mid)  # as each id's first sign-in leaves it
    (root / "ids").write_text("\n".join(ids) + "\n")
    catalog = Catalog(root / "cache" / "p2pdist" / "catalog.sqlite")
    catalog.add_distribution(dist_id=DIST_ID, name="release-2026.12.tar", source="/srv/release",
                             dest="/srv/p2pdist/release", torrent=os.urandom(40_000),
                             total_bytes=1 << 30, num_pieces=1024, user="root", targets=ids)
    catalog.db.execute("UPDATE targets SET order_id=?", (ORDER_ID,))
    catalog.close()
    return {"conf": conf, "pki": pki, "port": port, "keygen_s": keygen_s}


def start_master(env: dict[str, Any]) -> psutil.Popen:
    master = psutil.Popen([str(BIN / "salt-master"), "-c", str(env["conf"]), "-l", "quiet"])
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", env["port"])) == 0:
                time.sleep(3)  # the MWorkers and the EventReturn process
                return master
        time.sleep(0.5)
    master.terminate()
    raise RuntimeError("salt-master did not open its request port")


def run(minions: int, interval: float, procs: int, window: float, lean: bool,
        master_extra: dict[str, Any]) -> dict[str, Any]:
    warmup, commands = interval + 5, 3
    with tempfile.TemporaryDirectory(prefix="p2pdist-e2e-") as tmp:
        root = Path(tmp)
        env = setup(root, minions, master_extra)
        db = root / "cache" / "p2pdist" / "catalog.sqlite"
        master = start_master(env)
        gens: list[psutil.Popen] = []
        try:
            share = -(-minions // procs)
            duration = warmup + window + interval + commands * 15
            for i in range(procs):
                gens.append(psutil.Popen(
                    [sys.executable, "-m", "lab.status_load", "--pki-dir", str(env["pki"]),
                     "--port", str(env["port"]), "--sessions", str(root / "cache" / "sessions"),
                     "--ids", str(root / "ids"), "--first", str(i * share),
                     "--count", str(share), "--dists", json.dumps({DIST_ID: ORDER_ID}),
                     "--interval", str(interval), "--duration", str(duration), *(["--lean"] if lean else []),
                     "--progress", str(root / f"load-{i}.json")],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
            t = time.time()
            signed = [json.loads(g.stdout.readline()) for g in gens]  # type: ignore[union-attr]
            sign_in_s = time.time() - t
            # The master's own idle cost, for reference (signed in, no reports yet).
            i0, t0 = cpu_s(family(master)), time.time()
            time.sleep(IDLE_S)
            idle = (cpu_s(family(master)) - i0) / (time.time() - t0)
            start_at = time.time() + 1
            for g in gens:
                g.stdin.write(f"{start_at}\n")  # type: ignore[union-attr]
                g.stdin.flush()  # type: ignore[union-attr]
            time.sleep(start_at + warmup - time.time())
            masters, loaders = family(master), [psutil.Process(g.pid) for g in gens]
            m0, g0, b0, w0 = cpu_s(masters), cpu_s(loaders), machine_busy_s(), time.time()
            r0, a0 = by_role(masters), answered(root, procs)
            ages, rows = [], 0
            while time.time() < w0 + window:
                time.sleep(1)
                rows, age = status_ages(db)
                ages.append(age)
            masters = family(master)
            span = time.time() - w0
            m1, g1, b1 = cpu_s(masters), cpu_s(loaders), machine_busy_s()
            a1 = answered(root, procs)
            roles = {k: round((v - r0.get(k, 0.0)) / span, 3) for k, v in by_role(masters).items()}
            timings, shown = [], []
            for _ in range(commands):
                took, view = status_command(env["conf"])
                timings.append(took)
                shown += [h.get("age_s") or 0 for h in view.get("minions", {}).values()]
            listed = len(view.get("minions", {}))
            counts = [json.loads(g.communicate(timeout=duration + 60)[0].splitlines()[-1]) for g in gens]
            quiet_s, _view = status_command(env["conf"])  # the same once the reports stopped
        except Exception:
            log = root / "master.log"
            print("\n".join(log.read_text().splitlines()[-30:]) if log.exists() else "no master log",
                  file=sys.stderr)
            raise
        finally:
            for g in gens:
                if g.poll() is None:
                    g.kill()
            master.terminate()
            master.wait(30)
    return {
        "minions": minions, "report_interval_s": interval, "window_s": round(span, 1),
        "reports": "lean (the catalog's fields)" if lean else "full (as the agent builds them)",
        "master_cpu_cores": round((m1 - m0) / span, 3),
        "reports_per_s_answered": round((a1 - a0) / span, 1),
        # robust to other work on the machine: what one report costs the master, and so the
        # cores it needs for the offered rate
        "master_cpu_ms_per_report": round((m1 - m0) / max(1, a1 - a0) * 1000, 3),
        "master_cores_needed_at_offered_rate": round((m1 - m0) / max(1, a1 - a0) * minions / interval, 3),
        "master_idle_cpu_cores": round(idle, 3),
        "master_processes": len(masters), "master_cpu_cores_by_process": roles,
        "generator_cpu_cores": round((g1 - g0) / span, 3),
        "machine_busy_cores": round((b1 - b0) / span, 3), "cores": psutil.cpu_count(),
        "status_age_s_max": round(max(max(ages), max(shown)), 1),
        "status_age_s_max_in_command": round(max(shown), 1),
        "rows_in_catalog": rows, "minions_in_status": listed,
        "status_command_s": round(max(timings), 2),
        "status_command_s_median": round(statistics.median(timings), 2),
        "status_command_s_after_the_load": round(quiet_s, 2),
        "reports_per_s_offered": round(minions / interval, 1),
        "sent": sum(c["sent"] for c in counts), "replies": sum(c["replies"] for c in counts),
        "sign_in_s": round(sign_in_s, 1), "signed_in": sum(s["signed_in"] for s in signed),
        "signed_in_same_session_key": sum(s["same_session_key"] for s in signed),
        "rsa_keygen_s_per_key": round(env["keygen_s"], 3),
        "master_config": master_extra,
    }


SIMULATED = (
    "a real salt-master (event_return: p2pdist) and 10,000 accepted minion ids; signed_in of them sign in "
    "with Salt's AsyncAuth first and get the session key the master's cache holds, the others' keys were "
    "placed in that cache as their sign-ins would leave them; every report is a _minion_event load "
    "packaged as Salt's request channel packages it (nonce, ts, RSA token, AES with the id's session "
    "key, version 3) through the master's request server. Simulated: all ids share one RSA key pair "
    "(one 2048-bit key takes rsa_keygen_s_per_key to make), the token is signed once per load process, "
    "replies are counted not decrypted, a few DEALER sockets per load process carry its ids instead "
    "of one REQ socket per minion; one distribution downloading on every minion, each report built "
    "as the agent's GET /dists gives it (lean: only the fields the master keeps, as the beacon sends)")


def main() -> None:
    p = argparse.ArgumentParser(description="p2pdist status path through a real salt-master")
    p.add_argument("--minions", type=int, default=10_000)
    p.add_argument("--interval", type=float, default=0, help="seconds; 0: what the master's budget gives")
    p.add_argument("--procs", type=int, default=2, help="load processes")
    p.add_argument("--window", type=float, default=30, help="seconds of steady load measured")
    p.add_argument("--full", action="store_true", help="full reports (the agent's whole status)")
    p.add_argument("--master", default="{}", help="JSON: extra master config")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--key", default="e2e", help="the key of the run in --out (e.g. e2e_fixed_5s)")
    a = p.parse_args()
    extra = json.loads(a.master)
    interval = a.interval or paced_interval(a.minions, extra)
    r = {**run(a.minions, interval, a.procs, a.window, not a.full, extra), "simulated": SIMULATED,
         "command": " ".join(["python -m lab.status_e2e", *sys.argv[1:]])}
    print(json.dumps(r, indent=2))
    if str(a.out) not in ("", "."):
        old = json.loads(a.out.read_text()) if a.out.exists() else {}
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps({**old, a.key: r}, indent=2) + "\n")
        print(f"written: {a.out} ({a.key})")


def paced_interval(minions: int, master_extra: dict[str, Any]) -> float:
    from salt_p2pdist.core.config import MasterSettings
    from salt_p2pdist.core.pacing import report_every

    cfg = MasterSettings.from_opts({"cachedir": "/nonexistent", "p2pdist": master_extra.get("p2pdist", {})})
    return report_every(minions, cfg.report_budget, 5)


if __name__ == "__main__":
    main()
