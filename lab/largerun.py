"""One origin and two agents on loopback, and distributing one content through them, measured.

Shared by ``lab.large_bench`` (4 GiB, 20,000 files) and the integration
test (smaller): the same steps, the same checks, other sizes.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from lab import bigcontent, closedswarm
from lab.rss import MB, RssSampler
from salt_p2pdist.agent.client import AgentClient
from salt_p2pdist.core import agentorders, lifecycle
from salt_p2pdist.core.errors import P2PDistError
from salt_p2pdist.master import orders
from salt_p2pdist.testing.agents import stop_agents_under
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.torrent import creation, signature
from salt_p2pdist.torrent.metainfo import describe

RSS_TARGET = 120 * MB
AGENTS = {"a": "127.0.0.2", "b": "127.0.0.3"}


def order_sizes(order: dict[str, Any]) -> dict[str, int]:
    """The order's bytes as JSON and as msgpack (Salt's serialisation of a job's arguments)."""
    import salt.payload

    return {"json": len(json.dumps(order)), "msgpack": len(salt.payload.dumps(order))}


class DestWatcher:
    """Counts the files at a path over and over while a transfer runs: which counts were seen."""

    def __init__(self, path: Path) -> None:
        self.path, self.seen = path, set[int]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.seen.add(1 if self.path.is_file() else bigcontent.count_files(self.path))
            self._stop.wait(0.02)

    def stop(self) -> list[int]:
        self._stop.set()
        self._thread.join()
        self.seen.add(1 if self.path.is_file() else bigcontent.count_files(self.path))
        return sorted(self.seen)


class LargeRun:
    def __init__(self, root: Path) -> None:
        self.root = root
        closedswarm.make_keys(root, [*AGENTS, "master"])
        self.origin = AgentClient(root / "origin", "origin", [
            "--bt-interface", "127.0.0.1", "--tracker-port", "0", "--tracker-interface", "127.0.0.1",
            "--announce-interval", "5", *closedswarm.origin_args(root)])
        self.tracker = f"https://127.0.0.1:{self.origin.ensure()['tracker_port']}/announce"
        self.agents = {}
        for name, ip in AGENTS.items():
            self.agents[name] = AgentClient(root / name, name, [
                "--bt-interface", ip, "--outgoing-interface", ip, *closedswarm.agent_args(root, name)])
            self.agents[name].ensure()
        pids = {name: self._pid(c) for name, c in {"origin": self.origin, **self.agents}.items()}
        self.rss = RssSampler(pids)

    @staticmethod
    def _pid(client: AgentClient) -> int:
        return int(json.loads((client.state_dir / "agent.json").read_text())["pid"])

    def __enter__(self) -> LargeRun:
        self.rss.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.rss.__exit__(*exc)
        stop_agents_under(self.root)

    def _complete(self, name: str, dist_id: str) -> bool:
        st = self.agents[name].call("GET", f"/dists/{dist_id}")
        if st["state"] == lifecycle.FAILED:
            raise P2PDistError(f"{name}: {dist_id} failed: {st['error']}")
        return bool(st["state"] == lifecycle.SEEDING)

    def _fetch(self, name: str, torrent: bytes, dist_id: str, timeout: float) -> float:
        t0 = time.monotonic()
        self.agents[name].call("POST", "/dists", agentorders.fetch_order(
            torrent, dest=str(self.root / f"dest-{name}"), allowed_dest=[str(self.root)],
            tracker=self.tracker, force=False, sites={}, site="", order_id="1"), timeout=120)
        wait_for(f"{name} to hold {dist_id}", lambda: self._complete(name, dist_id), timeout=timeout,
                 every=0.5)
        return round(time.monotonic() - t0, 1)

    def distribute(self, kind: str, source: Path, timeout: float) -> dict[str, Any]:
        """Origin -> A, then A -> B alone; the figures and checks of this content."""
        self.rss.phase = f"{kind}: making the torrent"
        t0 = time.monotonic()
        unsigned = creation.create_in_subprocess(source, self.tracker, closedswarm.ca_file(self.root))
        create_s = round(time.monotonic() - t0, 1)
        torrent = signature.sign_torrent(unsigned, self.root / "keys" / "master.pem",
                                         [str(self.root)], sorted(AGENTS))
        meta = describe(torrent)
        order = orders.fetch_order(meta, torrent, dest="/srv/dist", force=False, tracker=self.tracker,
                                   order_id="1")
        self.origin.call("POST", "/dists", agentorders.seed_order(
            torrent, source=source, targets=sorted(AGENTS), upload_limit=0), timeout=120)
        self.rss.phase = f"{kind}: A downloads, origin seeds"
        a_s = self._fetch("a", torrent, meta.dist_id, timeout)
        self.origin.call("DELETE", f"/dists/{meta.dist_id}?keep_swarm=1")
        self.rss.phase = f"{kind}: B downloads, A seeds"
        watcher = DestWatcher(self.root / "dest-b" / source.name)
        b_s = self._fetch("b", torrent, meta.dist_id, timeout)
        seen = watcher.stop()
        self.rss.phase = "idle"
        want = bigcontent.digests(source)
        identical = all(bigcontent.digests(self.root / f"dest-{n}" / source.name) == want for n in AGENTS)
        for name in AGENTS:
            self.agents[name].call("DELETE", f"/dists/{meta.dist_id}?remove_data=1", timeout=120)
        self.origin.call("DELETE", f"/dists/{meta.dist_id}")
        phases = [f"{kind}: A downloads, origin seeds", f"{kind}: B downloads, A seeds"]
        return {
            "bytes": meta.total_size, "files": len(meta.files), "pieces": meta.num_pieces,
            "piece_bytes": meta.piece_size,
            "torrent_bytes": len(torrent), "order_bytes": order_sizes(order),
            "create_torrent_s": create_s, "a_from_origin_s": a_s, "b_from_a_s": b_s,
            "total_s": round(time.monotonic() - t0, 1),
            # the kernel's high-water mark per phase: a spike between two samples counts too
            "rss_peak_mb": {n: round(self.rss.peak(n, phases) / MB, 1) for n in ("origin", *AGENTS)},
            "rss_sampled_peak_mb": {n: {k: round(self.rss.peak(n, phases, k) / MB, 1)
                                        for k in ("rss", "anon", "file")} for n in ("origin", *AGENTS)},
            "agent_rss_peak_mb": round(max(self.rss.peak(n, phases) for n in ("origin", *AGENTS)) / MB, 1),
            "identical": identical, "dest_counts_seen": seen,
            "placed_atomically": set(seen) <= {0, len(meta.files)},
        }
