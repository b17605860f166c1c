"""The agent process: engine, API routes, and (on the master) the tracker."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from salt_p2pdist import lifecycle
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.kept import KeptSwarms
from salt_p2pdist.agent.server import ApiServer, TrackerServer
from salt_p2pdist.agent.store import write_atomic
from salt_p2pdist.errors import NotFound
from salt_p2pdist.topology import SiteMap
from salt_p2pdist.tracker import Tracker


def load_topology(state_dir: Path) -> SiteMap:
    try:
        raw = json.loads((state_dir / "topology.json").read_text())
    except (OSError, ValueError):
        return SiteMap()
    return SiteMap.from_config(raw.get("sites"), raw.get("overrides"))


def save_topology(state_dir: Path, body: dict[str, Any]) -> SiteMap:
    """Validate first (a bad map never replaces a good one), then persist."""
    sites = SiteMap.from_config(body.get("sites"), body.get("overrides"))
    write_atomic(state_dir / "topology.json", json.dumps(body).encode())
    return sites


class Agent:
    def __init__(self, cfg: AgentConfig, *, token: str):
        self.cfg = cfg
        self.token = token
        self.engine = Engine(cfg)
        self.tracker: Tracker | None = None
        self.kept = KeptSwarms(cfg.state_dir / "kept_swarms.json")
        self._servers: list[Any] = []
        if cfg.tracker_port is not None:
            self.tracker = Tracker(interval=cfg.announce_interval, known_host=self._known_host,
                                   sites=load_topology(cfg.state_dir),
                                   fetchers_per_site=cfg.fetchers_per_site,
                                   stall_after=cfg.stall_after)
            tserver = TrackerServer(cfg.tracker_interface, cfg.tracker_port, self.tracker)
            self._servers.append(tserver)
            for dist_id, t in self.engine.transfers.items():  # swarms survive restarts
                self._register(dist_id, t.record)
            for kept in self.kept.load().values():
                self.tracker.register(bytes.fromhex(str(kept["info_hash20"])),
                                      frozenset(kept["targets"]), 0)
        self.api = ApiServer(cfg.api_port, token, self.route)
        self._servers.append(self.api)
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    def _known_host(self, host_id: str) -> bool:
        keys = self.cfg.known_hosts_dir
        return bool(keys and host_id and "/" not in host_id and (keys / host_id).is_file())

    @property
    def api_port(self) -> int:
        return int(self.api.server_address[1])

    @property
    def tracker_port(self) -> int | None:
        return int(self._servers[0].server_address[1]) if self.tracker else None

    def _register(self, dist_id: str, record: dict[str, Any]) -> None:
        if self.tracker is not None and record.get("mode") == "seed":
            info_hash20 = bytes.fromhex(self.engine.transfers[dist_id].meta.info_hash)[:20]
            self.tracker.register(info_hash20, frozenset(record.get("targets", [])),
                                  self.engine.listen_port)

    def route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Any:
        parts = [p for p in path.split("/") if p][1:]  # drop the "v1" prefix
        if parts == ["health"]:
            return {"ok": True, "host_id": self.cfg.host_id, "bt_port": self.engine.listen_port}
        if parts == ["topology"] and method == "POST" and self.tracker is not None:
            self.tracker.sites = save_topology(self.cfg.state_dir, body)
            return {"sites": sorted(self.tracker.sites.sites), "overrides": self.tracker.sites.overrides}
        if parts == ["fetchers"] and self.tracker is not None:
            return {t.dist_id: self.tracker.fetchers(bytes.fromhex(t.meta.info_hash)[:20])
                    for t in self.engine.transfers.values()}
        if parts == ["policy"]:
            if method == "POST":
                self.engine.policy.set(body)
            return self.engine.policy.explain(datetime.now())
        if parts == ["dists"] and method == "GET":
            return self.engine.status()
        if parts == ["dists"] and method == "POST":
            status = self.engine.add(body)
            self._register(status["dist_id"], self.engine.transfers[status["dist_id"]].record)
            return status
        if len(parts) == 2 and parts[0] == "dists":
            if method == "GET":
                return self.engine.status(parts[1])
            if method == "DELETE":
                return self._remove(parts[1], remove_data=query.get("remove_data") == "1",
                                    keep_swarm=query.get("keep_swarm") == "1")
        raise NotFound(f"no API route {method} {path}")

    def _remove(self, dist_id: str, *, remove_data: bool, keep_swarm: bool) -> Any:
        """Stop seeding; with keep_swarm the tracker goes on serving the minions' swarm."""
        t = self.engine.transfers.get(dist_id)
        kept_hash = self.kept.drop(dist_id)
        if self.tracker is not None and kept_hash is not None and t is None:
            self.tracker.unregister(kept_hash)  # cancel of a swarm the origin no longer seeds
            return {"dist_id": dist_id, "state": lifecycle.CANCELLED, "removed_data": False}
        if self.tracker is not None and t is not None:
            info_hash20 = bytes.fromhex(t.meta.info_hash)[:20]
            if keep_swarm:
                targets = list(t.record.get("targets", []))
                self.tracker.register(info_hash20, frozenset(targets), 0)
                self.kept.keep(dist_id, info_hash20, targets)
            else:
                self.tracker.unregister(info_hash20)
        return self.engine.remove(dist_id, remove_data=remove_data)

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
        self.engine.close()
