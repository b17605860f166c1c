"""The agent process: engine, API routes, and (on the master) the tracker."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.server import ApiServer
from salt_p2pdist.agent.trackerside import TrackerSide
from salt_p2pdist.core import lifecycle, priority
from salt_p2pdist.core.errors import NotFound
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.core.wanlinks import Wan, wan_from_config
from salt_p2pdist.files.atomic import write_atomic
from salt_p2pdist.tracker.routes import WanRoutes


def topology_of(body: dict[str, Any]) -> tuple[SiteMap, Wan]:
    """The site map and the WAN (shape, HQ link, sites' rates) the master sent; validated."""
    return (SiteMap.from_config(body.get("sites"), body.get("overrides")),
            wan_from_config(body.get("sites"), body.get("hq"), body.get("wan")))


def load_topology(state_dir: Path) -> tuple[SiteMap, Wan]:
    try:
        raw = json.loads((state_dir / "topology.json").read_text())
    except (OSError, ValueError):
        return SiteMap(), Wan()
    return topology_of(raw)


def save_topology(state_dir: Path, body: dict[str, Any]) -> tuple[SiteMap, Wan]:
    """Validate first (a bad map never replaces a good one), then persist."""
    topology = topology_of(body)
    write_atomic(state_dir / "topology.json", json.dumps(body).encode())
    return topology


class Agent:
    def __init__(self, cfg: AgentConfig, *, token: str, on_shutdown: Callable[[], None] | None = None):
        self.cfg = cfg
        self.token = token
        self.on_shutdown = on_shutdown  # POST /v1/shutdown: stop as on SIGTERM (stopping.py)
        self.engine = Engine(cfg)
        self.side: TrackerSide | None = None
        self._servers: list[Any] = []
        if cfg.tracker_port is not None:
            self.side = TrackerSide(cfg, self.engine, *load_topology(cfg.state_dir))
            self._servers.append(self.side.server)
        self.api = ApiServer(cfg.api_port, token, self.route)
        self._servers.append(self.api)
        for server in self._servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()

    @property
    def api_port(self) -> int:
        return int(self.api.server_address[1])

    @property
    def tracker_port(self) -> int | None:
        return int(self.side.server.server_address[1]) if self.side else None

    def route(self, method: str, path: str, query: dict[str, str], body: dict[str, Any]) -> Any:
        parts = [p for p in path.split("/") if p][1:]  # drop the "v1" prefix
        if parts == ["health"]:
            return {"ok": True, "host_id": self.cfg.host_id, "bt_port": self.engine.listen_port,
                    "ssl_port": self.engine.ssl_port}
        if parts == ["torrents"]:  # what the session holds open (quiet distributions hold none)
            held = sorted(str(h.info_hashes().v2)[:16] for h in self.engine.session.get_torrents())
            # Fetches whose staging is being seeded from older copies: their torrent comes next.
            return {"open": len(held), "dist_ids": held,
                    "preparing": sorted(p.dist_id for p in self.engine.book.preparing())}
        if parts == ["shutdown"] and method == "POST" and self.on_shutdown is not None:
            self.on_shutdown()  # the main thread saves resume data and exits; this answer goes first
            return {"stopping": True, "pid": os.getpid()}
        if parts == ["topology"] and method == "POST" and self.side is not None:
            tracker = self.side.tracker
            tracker.sites, wan = save_topology(self.cfg.state_dir, body)
            tracker.routes = WanRoutes(wan)
            return {"sites": sorted(tracker.sites.sites), "overrides": tracker.sites.overrides}
        if parts == ["fetchers"] and self.side is not None:
            return {t.dist_id: self.side.tracker.fetchers(bytes.fromhex(t.meta.info_hash)[:20])
                    for t in self.engine.book.all()}
        if parts == ["policy"]:
            if method == "POST":
                self.engine.policy.set(body)
            return self.engine.policy.explain(datetime.now())
        if len(parts) == 2 and parts[0] == "swarms" and self.side is not None:
            if method == "POST":
                return self.side.set_swarm(parts[1], body)
            return self.side.swarm_view(parts[1])
        if parts == ["dists"] and method == "GET":
            return self.engine.status()
        if parts == ["dists"] and method == "POST":
            with self._origin_settled():
                status = self.engine.add(body)
                transfer = self.engine.book.get(status["dist_id"])
                if self.side is not None and transfer is not None:
                    self.side.register(transfer, relays=body.get("relays"))
            return status
        if len(parts) == 3 and parts[0] == "dists" and parts[2] == "wake" and method == "POST":
            return self.engine.wake(parts[1])
        if len(parts) == 3 and parts[0] == "dists" and parts[2] == "priority" and method == "POST":
            return self._set_priority(parts[1], body)
        if len(parts) == 2 and parts[0] == "dists":
            if method == "GET":
                return self.engine.status(parts[1])
            if method == "DELETE":
                return self._remove(parts[1], remove_data=query.get("remove_data") == "1",
                                    keep_swarm=query.get("keep_swarm") == "1")
        raise NotFound(f"no API route {method} {path}")

    def _origin_settled(self) -> AbstractContextManager[Any]:
        """Held while the origin adds or drops a seed: its quiet seeds are not closed or opened
        meanwhile (originquiet.py), so neither undoes the other's word to the tracker."""
        return self.side.origin.settling if self.side is not None else contextlib.nullcontext()

    def _remove(self, dist_id: str, *, remove_data: bool, keep_swarm: bool) -> Any:
        """Stop seeding; with keep_swarm the tracker goes on serving the minions' swarm."""
        with self._origin_settled():
            if self.side is not None and self.side.stop_serving(dist_id, keep_swarm=keep_swarm):
                return {"dist_id": dist_id, "state": lifecycle.CANCELLED, "removed_data": False}
            return self.engine.remove(dist_id, remove_data=remove_data)

    def _set_priority(self, dist_id: str, body: dict[str, Any]) -> Any:
        """The master changed ``dist_id``'s level (salt-run p2pdist.priority): kept in its record."""
        level = priority.parse(body.get("priority"))
        record = self.engine.book.set_priority(dist_id, level)
        if record is None:
            raise NotFound(f"no distribution {dist_id} on {self.cfg.host_id}")
        return {"dist_id": dist_id, "priority": record.level()}

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
        self.engine.close()
