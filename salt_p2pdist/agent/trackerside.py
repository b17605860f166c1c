"""The master's side of the agent: tracker, certificate desk and kept swarms.

Only the origin agent (on the master) has one. It registers each seeded
distribution as a swarm, issues certificates for closed swarms from the
swarm CA, and remembers swarms it no longer seeds (see kept.py). With a swarm
CA the tracker, ``/cert`` and ``/wan`` speak TLS only, with a server
certificate from that CA: every torrent carries the CA, so agents and
libtorrent can check that they talk to their master.
"""

from __future__ import annotations

import base64
import functools
import logging
import threading
from collections.abc import Mapping
from typing import Any

from salt_p2pdist.agent import holding, originquiet
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.kept import KeptSwarms, QuietTimes
from salt_p2pdist.agent.originquiet import QuietOrigin
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.trackerdesk import Desk, known_host
from salt_p2pdist.agent.trackerserver import TrackerServer, server_tls
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import priority
from salt_p2pdist.core.errors import NotFound
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.core.wanlinks import Wan
from salt_p2pdist.torrent import swarmca
from salt_p2pdist.tracker.priorities import dist_id_of
from salt_p2pdist.tracker.routes import ORIGIN_SITE
from salt_p2pdist.tracker.swarm import Swarm
from salt_p2pdist.tracker.tracker import Tracker

log = logging.getLogger(__name__)


class TrackerSide:
    def __init__(self, cfg: AgentConfig, engine: Engine, sites: SiteMap, wan: Wan | None = None):
        self.cfg, self.engine = cfg, engine
        self.ca = swarmca.SwarmCA(cfg.ca_dir) if cfg.ca_dir else None
        # Swarms admit the hosts each push admitted (admission.py); with
        # p2pdist:targets_only false, every accepted minion.
        admit = functools.partial(known_host, cfg) if cfg.admit_minions else (lambda _host: False)
        self.tracker = Tracker(interval=cfg.announce_interval, known_host=admit,
                               sites=sites, fetchers_per_site=cfg.fetchers_per_site,
                               stall_after=cfg.stall_after, require_cert=self.ca is not None,
                               wan=wan, announce_budget=cfg.announce_budget)
        self.kept = KeptSwarms(cfg.state_dir / "kept_swarms.json")
        self.quiet = QuietTimes(cfg.state_dir / "quiet_swarms.json")
        lock = threading.Lock()  # the tracker's table: the server's requests and the loops below
        self.desk = Desk(cfg, self.ca, self.tracker, lock, self.kept, self._seed_record)
        assert cfg.tracker_port is not None
        tls = server_tls(cfg, self.ca, cfg.state_dir / "tls.key") if self.ca else None
        self.server = TrackerServer(cfg.tracker_interface, cfg.tracker_port, self.tracker,
                                    self.desk.certify if self.ca else None, tls, self.desk.serve_torrent,
                                    lock=lock)
        for t in engine.book.all():  # swarms survive restarts
            self.register(t)
        for record in originquiet.quiet_seeds(engine.book):  # so do quiet ones, the origin closed
            meta = originquiet.meta_of(record)
            self.tracker.register(bytes.fromhex(meta.info_hash)[:20], frozenset(record.targets), 0,
                                  meta.torrent_name, record.level())
        for kept in self.kept.load().values():
            self.tracker.register(bytes.fromhex(kept["info_hash20"]), frozenset(kept["targets"]), 0,
                                  kept.get("torrent_name", ""))
        for dist_id, quiet_at in self.quiet.load().items():
            swarm = self._swarm(dist_id)
            if swarm is not None:
                swarm.quiet_at = quiet_at
        threading.Thread(target=holding.serve_by_priority, name="priorities", daemon=True,
                         args=(self.tracker, self.server.lock, engine.book, engine.stopped)).start()
        # The origin's seeds close with their quiet swarms and open when they wake.
        self.origin = QuietOrigin(engine, self.tracker, self.server.lock, self.register)
        threading.Thread(target=originquiet.settle_loop, name="quiet-origin", daemon=True,
                         args=(self.origin, engine.stopped)).start()

    def register(self, t: Transfer, relays: Mapping[str, str] | None = None) -> None:
        """A distribution the origin seeds becomes a swarm; a closed one gets the origin's certificate.
        ``relays`` come with a push only (a hint for its start: not kept across restarts)."""
        if t.record.mode != "seed":
            return
        self.kept.drop(t.dist_id)  # seeded again after stop_seeding: no longer only kept
        if t.meta.ssl and self.ca is not None and not t.record.tls_cert:
            cert = self.ca.issue(swarmca.public_pem(self.engine.certs.key), torrent_name=t.meta.torrent_name,
                                 holder="origin").decode()
            self.desk.audit("origin", "issued", t.dist_id)
            self.engine.book.update(t, tls_cert=cert)
            self.engine.certs.apply(t)
        port = self.engine.ssl_port if t.meta.ssl else self.engine.listen_port
        self.tracker.register(self._hash20(t), frozenset(t.record.targets), port,
                              t.meta.torrent_name, t.record.level(), relays=relays)

    @staticmethod
    def _hash20(t: Transfer) -> bytes:
        return bytes.fromhex(t.meta.info_hash)[:20]

    def _seed_record(self, dist_id: str) -> OrderRecord | None:
        """The origin's record of ``dist_id`` if it seeds it, its torrent open or quiet."""
        t = self.engine.book.get(dist_id)
        record = t.record if t is not None else self.engine.book.get_quiet(dist_id)
        return record if record is not None and record.mode == "seed" else None

    def stop_serving(self, dist_id: str, *, keep_swarm: bool) -> bool:
        """Before the origin drops ``dist_id``; True if the origin no longer seeds it.

        With ``keep_swarm`` (stop_seeding) the swarm stays, also when asked
        again; without it (cancel) a kept swarm is forgotten as well. A seed
        closed with its quiet swarm is dropped like an open one.
        """
        seed = self._seed_record(dist_id)
        if seed is None:
            if keep_swarm:
                return dist_id in self.kept.load()
            kept_hash = self.kept.drop(dist_id)
            self.quiet.set(dist_id, None)
            if kept_hash is not None:
                self.tracker.unregister(kept_hash)
            return kept_hash is not None
        t = self.engine.book.get(dist_id)
        meta = t.meta if t is not None else originquiet.meta_of(seed)
        info_hash20 = bytes.fromhex(meta.info_hash)[:20]
        if keep_swarm:
            targets = list(seed.targets)
            self.tracker.register(info_hash20, frozenset(targets), 0, meta.torrent_name)
            self.kept.keep(dist_id, info_hash20, targets, meta.torrent_name, base64.b64decode(seed.torrent))
        else:
            self.kept.drop(dist_id)
            self.quiet.set(dist_id, None)
            self.tracker.unregister(info_hash20)
        return False

    # -- the swarm's life, as the master sets it (master/quieting.py) ------------
    def _hash_of(self, dist_id: str) -> bytes | None:
        t = self.engine.book.get(dist_id)
        if t is not None and t.record.mode == "seed":
            return self._hash20(t)
        if self._seed_record(dist_id) is not None:  # quiet: its swarm is registered all the same
            return next((k for k in self.tracker.swarms if dist_id_of(k) == dist_id), None)
        kept = self.kept.load().get(dist_id)
        return bytes.fromhex(str(kept["info_hash20"])) if kept else None

    def _swarm(self, dist_id: str) -> Swarm | None:
        info_hash = self._hash_of(dist_id)
        return self.tracker.swarms.get(info_hash) if info_hash is not None else None

    def set_swarm(self, dist_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``quiet_at`` (a time, or null: awake), ``priority`` (the level, also kept in the origin's
        record) and, for a swarm the origin no longer seeds,
        ``targets`` (a push's new targets join it without the origin seeding again)."""
        swarm = self._swarm(dist_id)
        if swarm is None:
            raise NotFound(f"no swarm {dist_id} on this tracker")
        if "priority" in body:
            swarm.priority = priority.parse(body["priority"])
            self.engine.book.set_priority(dist_id, swarm.priority)  # survives a restart if seeded
        if "targets" in body and self._seed_record(dist_id) is None:
            kept = self.kept.load()[dist_id]
            targets = sorted({str(h) for h in body["targets"] or []})
            swarm.allowed = frozenset(targets)
            self.kept.keep(dist_id, bytes.fromhex(kept["info_hash20"]), targets, kept.get("torrent_name", ""))
        if "quiet_at" in body:
            quiet_at = None if body["quiet_at"] is None else float(body["quiet_at"])
            swarm.quiet_at = quiet_at
            self.quiet.set(dist_id, quiet_at)
            self.origin.settle(only=dist_id)  # woken: the origin serves before the holders are told
        return self.swarm_view(dist_id)

    def swarm_view(self, dist_id: str) -> dict[str, Any]:
        """The tracker's table for one swarm: who announces now, how many announces so far."""
        swarm = self._swarm(dist_id)
        if swarm is None:
            raise NotFound(f"no swarm {dist_id} on this tracker")
        return {"dist_id": dist_id, "peers": len(swarm.peers), "announces": swarm.announces,
                "quiet_at": swarm.quiet_at, "origin_seeds": bool(swarm.origin_port),
                "origin": originquiet.part_of(self.engine.book, dist_id),
                "priority": swarm.priority, "held_back": self._held_view(dist_id)}

    def _held_view(self, dist_id: str) -> dict[str, str]:
        """Where ``dist_id`` yields the WAN now: site (or "origin") -> the higher one it yields to."""
        with self.server.lock:
            self.tracker.held_sites()
            held = self.tracker.held.sites_of(dist_id)
        t = self.engine.book.get(dist_id)
        if t is not None and t.held_by:
            held[ORIGIN_SITE] = t.held_by
        return held
