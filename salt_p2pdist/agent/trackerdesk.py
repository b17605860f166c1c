"""The origin's desk: certificates for closed swarms (``/cert``) and big torrents (``/torrent``).

A host asks with a request signed by its Salt key; the desk checks it against the
key the master accepted for that minion (tracker/certdesk.py decides) and answers.
Every certificate issued or refused is written into the master's audit log.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.kept import KeptSwarms
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.files.audit import AuditLog
from salt_p2pdist.torrent import swarmca
from salt_p2pdist.tracker.announce import TrackerError
from salt_p2pdist.tracker.certdesk import UsedRequests, check_torrent_request, issue_certificate
from salt_p2pdist.tracker.tracker import Tracker

log = logging.getLogger(__name__)


def known_host(cfg: AgentConfig, host_id: str) -> bool:
    """A minion whose Salt key the master accepted."""
    keys = cfg.known_hosts_dir
    return bool(keys and host_id and "/" not in host_id and (keys / host_id).is_file())


class Desk:
    def __init__(self, cfg: AgentConfig, ca: swarmca.SwarmCA | None, tracker: Tracker, lock: threading.Lock,
                 kept: KeptSwarms, seed_record: Callable[[str], OrderRecord | None]):
        self.cfg, self.ca, self.tracker, self.lock = cfg, ca, tracker, lock
        self.kept, self.seed_record = kept, seed_record  # the origin's record of a dist it seeds
        self.used_requests = UsedRequests()

    def _salt_key(self, host_id: str) -> bytes | None:
        return (self.cfg.known_hosts_dir / host_id).read_bytes() if known_host(self.cfg, host_id) \
            and self.cfg.known_hosts_dir else None

    def certify(self, body: dict[str, Any]) -> dict[str, str]:
        """Issue or refuse, and either way write it into the master's audit log."""
        assert self.ca is not None
        who = str(body.get("minion", "?"))[:256] if isinstance(body, dict) else "?"
        dist_id = str(body.get("info_hash", ""))[:16] if isinstance(body, dict) else ""
        try:
            answer = issue_certificate(self.tracker, self.ca, body, key_of=self._salt_key, now=time.time(),
                                       used=self.used_requests)
        except TrackerError as exc:
            self.audit(who, f"refused: {exc}", dist_id)
            raise
        self.audit(who, "issued", dist_id)
        return answer

    def serve_torrent(self, body: dict[str, Any]) -> dict[str, str]:
        """A torrent too big for its Salt order, to a host that may join its swarm (certdesk.py)."""
        with self.lock:
            info_hash20 = check_torrent_request(self.tracker, body, key_of=self._salt_key, now=time.time())
        dist_id = info_hash20.hex()[:16]  # the info hash's first 16 digits
        seed = self.seed_record(dist_id)  # seeded, or quiet
        if seed is not None:
            return {"torrent": seed.torrent}  # already base64
        kept = self.kept.torrent(dist_id)
        if kept is None:
            raise TrackerError("the origin no longer holds this distribution's torrent")
        return {"torrent": base64.b64encode(kept).decode()}

    def audit(self, minion: str, result: str, dist_id: str) -> None:
        if self.cfg.audit_log is None:
            return
        try:
            AuditLog(self.cfg.audit_log).record("certificate", minion, result=result, id=dist_id)
        except OSError as exc:  # the answer must still go out
            log.error("cannot write the audit log %s: %s", self.cfg.audit_log, exc)
