"""``python -m lab.status_load``: many minions' progress reports, sent as salt-minions send them.

One process speaks for a slice of minion ids. Each id signs in to the
master's request server with Salt's own ``AsyncAuth`` (its accepted key,
the master's session key for it), and every report is a ``_minion_event``
load packaged as ``AsyncReqChannel._package_load`` packages it: nonce, ts,
the RSA token, encrypted with that id's session key, protocol version 3.
What is simpler than a real minion, and why (see docs/benchmark.md):
- the ids share one RSA key pair (each id's accepted key on the master is that
  public key): generating 10,000 keys takes longer than the run;
- the token (a signature of b"salt" with the minion's key, deterministic) is
  made once per process instead of once per report, and the master's encrypted
  replies are counted, not decrypted: the generator's CPU is not the master's;
- requests go out over a few DEALER sockets per process instead of one REQ
  socket per minion.
Prints one JSON line when signed in, one with its counts at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

TAG = "p2pdist/report/"
SOCKETS = 8


def agent_status(rng: random.Random, dist_id: str, order_id: str, progress: float) -> dict[str, Any]:
    """One distribution as the agent's ``GET /dists`` gives it (agent/transfer.status_of)."""
    num_pieces = 1024
    total = num_pieces * 2**20 - 12345
    done = min(total, int(total * progress))
    rate = rng.randint(1 << 20, 60 << 20)
    return {"dist_id": dist_id, "name": "release-2026.12.tar", "mode": "fetch", "state": "downloading",
            "pieces": done * num_pieces // total, "num_pieces": num_pieces, "bytes_done": done,
            "bytes_total": total, "down_rate": rate, "up_rate": rng.randint(0, 40 << 20),
            "peers": rng.randint(0, 50), "downloaded": done + rng.randint(0, 1 << 20),
            "uploaded": rng.randint(0, total), "failed_bytes": rng.choice((0, 0, 0, 1 << 18)),
            "eta_s": round((total - done) / rate), "dest": "/srv/p2pdist/release", "error": "",
            "banned": rng.choice(([], [], ["10.1.2.3"])), "reused": 0, "seeded": 0, "replaced": {},
            "order_id": order_id, "as_of": time.time(),
            "from_site": done // 2, "from_remote": done // 3, "from_origin": done - done // 2 - done // 3,
            "site": "dc1"}


def beacon_report(rng: random.Random, minion: str, dists: dict[str, str], progress: float,
                  lean: bool) -> dict[str, Any]:
    """What the ``p2pdist`` beacon fires: reporting.snapshot, lean as the beacon sends it when asked."""
    from salt_p2pdist.core.reports import lean_dists

    held = {d: agent_status(rng, d, order, progress) for d, order in dists.items()}
    return {"minion": minion, "ts": time.time(), "dists": lean_dists(held) if lean else held}


def minion_opts(pki_dir: str, port: int, minion_id: str) -> dict[str, Any]:
    opts: dict[str, Any] = dict(BASE_OPTS)
    opts.update(id=minion_id, pki_dir=pki_dir, master="127.0.0.1", master_port=port,
                master_ip="127.0.0.1", master_uri=f"tcp://127.0.0.1:{port}")
    return opts


BASE_OPTS: dict[str, Any] = {}


async def sign_in(ids: list[str], pki_dir: str, port: int, parallel: int = 8) -> dict[str, Any]:
    """Each id's session crypticle, from Salt's own sign-in (``AsyncAuth``)."""
    import salt.crypt

    crypticles: dict[str, Any] = {}
    queue = list(ids)

    async def worker() -> None:
        while queue:
            mid = queue.pop()
            auth = salt.crypt.AsyncAuth(minion_opts(pki_dir, port, mid))
            await auth.authenticate()
            crypticles[mid] = auth.session_crypticle
    await asyncio.gather(*(worker() for _ in range(parallel)))
    return crypticles


def cached_sessions(ids: list[str], sessions: Path) -> dict[str, Any]:
    """The session key a sign-in hands each id, read from the master's session cache.

    The master makes an id's key at its first sign-in and keeps it in
    ``<cachedir>/sessions/<id>`` (``publish_session``, a day); the conductor
    placed them there, as 10,000 earlier sign-ins would have.
    """
    import salt.crypt

    return {m: salt.crypt.Crypticle(BASE_OPTS, salt.crypt.Crypticle.read_key(sessions / m)) for m in ids}


async def send_reports(ids: list[str], crypticles: dict[str, Any], token: bytes, port: int,
                       dists: dict[str, str], interval: float, start_at: float, duration: float,
                       lean: bool, progress: Path | None = None) -> dict[str, Any]:
    import salt.payload
    import zmq
    import zmq.asyncio

    ctx = zmq.asyncio.Context()
    socks = [ctx.socket(zmq.DEALER) for _ in range(SOCKETS)]
    for s in socks:
        s.setsockopt(zmq.LINGER, 0)
        s.connect(f"tcp://127.0.0.1:{port}")
    counts = {"sent": 0, "replies": 0}
    rng = random.Random(hash(ids[0]))
    phase = {m: rng.uniform(0, interval) for m in ids}
    order = sorted(ids, key=phase.__getitem__)

    async def receive(sock: Any) -> None:
        while True:
            await sock.recv_multipart()
            counts["replies"] += 1

    async def tell() -> None:  # the conductor reads how far this process got at its window's edges
        while progress is not None:
            progress.with_suffix(".tmp").write_text(json.dumps(counts))
            progress.with_suffix(".tmp").replace(progress)  # never read half-written
            await asyncio.sleep(0.5)

    receivers = [asyncio.ensure_future(receive(s)) for s in socks] + [asyncio.ensure_future(tell())]
    end, k = start_at + duration, 0
    while start_at + k * interval < end:
        for i, mid in enumerate(order):
            due = start_at + k * interval + phase[mid]
            if due >= end:
                break
            wait = due - time.time()
            if wait > 0.002:
                await asyncio.sleep(wait)
            report = beacon_report(rng, mid, dists, min(1.0, (time.time() - start_at) / duration), lean)
            load = {"id": mid, "cmd": "_minion_event", "pretag": None, "data": report, "tag": TAG + mid,
                    "nonce": uuid.uuid4().hex, "ts": int(time.time()), "tok": token}
            package = {"enc": "aes", "load": crypticles[mid].dumps(load), "version": 3, "id": mid,
                       "enc_algo": BASE_OPTS["encryption_algorithm"],
                       "sig_algo": BASE_OPTS["signing_algorithm"]}
            await socks[i % SOCKETS].send_multipart([b"", salt.payload.dumps(package)])
            counts["sent"] += 1
        k += 1
    await asyncio.sleep(2)  # the last replies
    for r in receivers:
        r.cancel()
    ctx.destroy(linger=0)
    return counts


async def main_async(a: argparse.Namespace) -> None:
    import salt.config
    import salt.crypt

    BASE_OPTS.update(salt.config.minion_config(None))
    BASE_OPTS.update(acceptance_wait_time=1, auth_timeout=60, auth_tries=3)
    ids = Path(a.ids).read_text().split()[a.first:a.first + a.count]
    t = time.time()
    crypticles = cached_sessions(ids, Path(a.sessions))
    real = await sign_in(ids[:a.sign_in], a.pki_dir, a.port)
    # A real sign-in gets the key the cache holds: what the others use is what they would get.
    same = sum(real[m].keys == crypticles[m].keys for m in real)
    crypticles.update(real)
    key = salt.crypt.PrivateKey.from_file(str(Path(a.pki_dir) / "minion.pem"))
    token = key.encrypt(b"salt")
    print(json.dumps({"signed_in": len(real), "same_session_key": same,
                      "sign_in_s": round(time.time() - t, 1)}), flush=True)
    start_at = float(sys.stdin.readline())  # the conductor's common start
    dists = json.loads(a.dists)
    counts = await send_reports(ids, crypticles, token, a.port, dists, a.interval, start_at, a.duration,
                                a.lean, Path(a.progress) if a.progress else None)
    print(json.dumps(counts), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description="simulated minions sending p2pdist reports to a salt-master")
    p.add_argument("--pki-dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ids", required=True, help="a file of minion ids, one a line")
    p.add_argument("--sessions", required=True, help="the master's <cachedir>/sessions")
    p.add_argument("--sign-in", type=int, default=50, help="ids that sign in for real (Salt's AsyncAuth)")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--dists", required=True, help='JSON {dist_id: order_id}')
    p.add_argument("--interval", type=float, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--progress", default="", help="a file to keep the counts in, every 0.5 s")
    p.add_argument("--lean", action="store_true", help="lean reports (only what the master keeps)")
    asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    main()
