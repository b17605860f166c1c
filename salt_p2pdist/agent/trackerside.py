"""The master's side of the agent: tracker, certificate desk and kept swarms.

Only the origin agent (on the master) has one. It registers each seeded
distribution as a swarm, issues certificates for closed swarms from the
swarm CA, and remembers swarms it no longer seeds (see kept.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from salt_p2pdist import swarmca
from salt_p2pdist.agent.kept import KeptSwarms
from salt_p2pdist.agent.server import TrackerServer
from salt_p2pdist.certdesk import issue_certificate
from salt_p2pdist.secretfile import write_private
from salt_p2pdist.tracker import Tracker

if TYPE_CHECKING:
    from salt_p2pdist.agent.config import AgentConfig
    from salt_p2pdist.agent.engine import Engine
    from salt_p2pdist.agent.transfer import Transfer
    from salt_p2pdist.topology import SiteMap


def _secret(path: Path) -> bytes:
    """The tracker's token key, kept across restarts so issued tokens stay valid."""
    if not path.exists():
        write_private(path, os.urandom(32), exclusive=True)
    return path.read_bytes()


class TrackerSide:
    def __init__(self, cfg: AgentConfig, engine: Engine, sites: SiteMap):
        self.cfg, self.engine = cfg, engine
        self.ca = swarmca.SwarmCA(cfg.ca_dir) if cfg.ca_dir else None
        # Accepted minions that were not push targets may join (p2pdist.present
        # states) unless the master confines swarms to push targets.
        admit = self._known_host if cfg.admit_minions else (lambda _host: False)
        self.tracker = Tracker(interval=cfg.announce_interval, known_host=admit,
                               sites=sites, fetchers_per_site=cfg.fetchers_per_site,
                               stall_after=cfg.stall_after,
                               secret=_secret(cfg.state_dir / "tracker.secret") if self.ca else None)
        self.kept = KeptSwarms(cfg.state_dir / "kept_swarms.json")
        assert cfg.tracker_port is not None
        self.server = TrackerServer(cfg.tracker_interface, cfg.tracker_port, self.tracker,
                                    self._certify if self.ca else None)
        for t in engine.transfers.values():  # swarms survive restarts
            self.register(t)
        for kept in self.kept.load().values():
            self.tracker.register(bytes.fromhex(kept["info_hash20"]), frozenset(kept["targets"]), 0,
                                  kept.get("torrent_name", ""))

    def _known_host(self, host_id: str) -> bool:
        keys = self.cfg.known_hosts_dir
        return bool(keys and host_id and "/" not in host_id and (keys / host_id).is_file())

    def _salt_key(self, host_id: str) -> bytes | None:
        return (self.cfg.known_hosts_dir / host_id).read_bytes() if self._known_host(host_id) \
            and self.cfg.known_hosts_dir else None

    def _certify(self, body: dict[str, Any]) -> dict[str, str]:
        assert self.ca is not None
        return issue_certificate(self.tracker, self.ca, body, key_of=self._salt_key, now=time.time())

    def register(self, t: Transfer) -> None:
        """A distribution the origin seeds becomes a swarm; a closed one gets the origin's certificate."""
        if t.record.get("mode") != "seed":
            return
        if t.meta.ssl and self.ca is not None and not t.record.get("tls_cert"):
            t.record["tls_cert"] = self.ca.issue(swarmca.public_pem(self.engine.certs.key),
                                                 torrent_name=t.meta.torrent_name,
                                                 holder="origin").decode()
            self.engine.store.save(t.dist_id, t.record)
            self.engine.certs.apply(t)
        port = self.engine.ssl_port if t.meta.ssl else self.engine.listen_port
        self.tracker.register(self._hash20(t), frozenset(t.record.get("targets", [])), port,
                              t.meta.torrent_name)

    @staticmethod
    def _hash20(t: Transfer) -> bytes:
        return bytes.fromhex(t.meta.info_hash)[:20]

    def stop_serving(self, dist_id: str, t: Transfer | None, *, keep_swarm: bool) -> bool:
        """Before the origin drops ``dist_id``; True if it only was a kept swarm (now gone too)."""
        kept_hash = self.kept.drop(dist_id)
        if t is None:
            if kept_hash is not None:
                self.tracker.unregister(kept_hash)
            return kept_hash is not None
        if keep_swarm:
            targets = list(t.record.get("targets", []))
            self.tracker.register(self._hash20(t), frozenset(targets), 0, t.meta.torrent_name)
            self.kept.keep(dist_id, self._hash20(t), targets, t.meta.torrent_name)
        else:
            self.tracker.unregister(self._hash20(t))
        return False
