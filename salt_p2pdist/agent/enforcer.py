"""Applying the central share policy to the agent's libtorrent session.

The policy (pillar ``p2pdist:policy``, validated by :mod:`salt_p2pdist.core.policy`)
becomes a peer-class plan; this module turns the plan into libtorrent calls
and re-evaluates it as time windows open and close. Transfers in flight keep
running: class limits and settings change on live connections.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import libtorrent as lt

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.peerclasses import GLOBAL, PeerClassPlan, peer_class_plan
from salt_p2pdist.core.policy import Limits, Policy
from salt_p2pdist.files.atomic import write_atomic
from salt_p2pdist.tracker.wanshare import WanShare

log = logging.getLogger(__name__)


def digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()[:16]


class PolicyEnforcer:
    def __init__(self, session: Any, state_dir: Path):
        self.session = session
        self.path = state_dir / "policy.json"
        self.body: dict[str, Any] = {}
        self.policy: Policy | None = None  # None: libtorrent's defaults, untouched
        self.site_networks: list[str] = []
        self._class_ids: dict[str, int] = {GLOBAL: int(lt.session.global_peer_class_id)}
        self._ranges: tuple[Any, ...] | None = None
        self._plan: PeerClassPlan | None = None
        self.wan_share: WanShare | None = None  # this host's part of its site's WAN cap
        self._mismatch_told = False
        # No policy yet, or a broken file: defaults until the minion sends one.
        with contextlib.suppress(OSError, ValueError, InvalidRequest):
            self.set(json.loads(self.path.read_text()))

    def set(self, body: dict[str, Any]) -> str:
        """Validate and adopt a policy; an invalid one raises and changes nothing."""
        policy = Policy.from_pillar(body.get("policy"), site_wan_rate=body.get("wan_rate"),
                                    site=str(body.get("site") or ""))
        raw = body.get("site_networks") or []
        if not isinstance(raw, list):
            raise InvalidRequest(f"site_networks must be a list of networks, not {type(raw).__name__}")
        networks = [str(n) for n in raw]
        peer_class_plan(policy.effective(datetime.now()), networks)  # validates the networks
        if digest(body) != digest(self.body):
            write_atomic(self.path, json.dumps(body).encode())
            self.body, self.policy, self.site_networks = body, policy, networks
            self.tick(datetime.now())
        return digest(self.body)

    def tick(self, now: datetime) -> Limits | None:
        """Apply what is in force now (windows are in the host's local time)."""
        if self.policy is None:
            return None
        limits = self.policy.effective(now)
        if self.wan_share is not None:  # the site's cap is a total: this host gets its part
            limits = replace(limits, wan_rate=self.wan_share.part(limits.wan_rate))
        plan = peer_class_plan(limits, self.site_networks)
        if plan != self._plan:
            self._apply(plan)
            log.info("policy in force: %s", limits)
            self._plan = plan
        return limits

    def wants_wan_share(self) -> bool:
        return self.policy is not None and self.policy.effective(datetime.now()).wan_rate > 0

    def set_wan_share(self, share: WanShare) -> None:
        adopted: WanShare | None = share
        if self.policy is not None and share.site != self.policy.site:
            # The tracker places hosts by the master's p2pdist:sites, the policy by
            # pillar's: if they disagree, a "remote" peer here may be local there.
            if self.wan_share is not None or not self._mismatch_told:
                log.warning("the master's tracker puts this host in site %s, pillar in %s: make "
                            "p2pdist:sites agree; the WAN cap applies per host meanwhile",
                            share.site, self.policy.site)
            self._mismatch_told, adopted = True, None
        if adopted != self.wan_share:
            if adopted is not None:
                log.info("WAN share: %d host(s) of site %s on the WAN, this one %s", adopted.hosts,
                         adopted.site, "among them" if adopted.on_wan else "not")
            self.wan_share = adopted
            self.tick(datetime.now())

    def _apply(self, plan: PeerClassPlan) -> None:
        for name, spec in plan.classes.items():
            if name not in self._class_ids:
                self._class_ids[name] = int(self.session.create_peer_class(name))
            info = self.session.get_peer_class(self._class_ids[name])  # read-modify-write
            info.update(upload_limit=spec.upload_limit, download_limit=spec.download_limit,
                        ignore_unchoke_slots=spec.ignore_unchoke_slots)
            self.session.set_peer_class(self._class_ids[name], info)
        if plan.ranges != self._ranges:  # classes are assigned when a peer connects
            f = lt.ip_filter()
            for first, last, names in plan.ip_rules():
                f.add_rule(first, last, sum(1 << self._class_ids[n] for n in names))
            self.session.set_peer_class_filter(f)
            self._ranges = plan.ranges
            if any(h.status().num_peers for h in self.session.get_torrents()):
                # Not reconnected on purpose: after a disconnect libtorrent waits
                # min_reconnect_time (60 s) before it calls that peer again, and a
                # session pause/resume races its own stopped/started announces.
                log.warning("site networks changed: peers connected now keep their old limits "
                            "and upload rights until they reconnect")
        self.session.apply_settings(plan.settings)

    def explain(self, now: datetime) -> dict[str, Any]:
        if self.policy is None:
            return {"policy": "default: upload to every peer, no caps", "digest": ""}
        explained = self.policy.explain(now)
        total = explained["wan_rate"]["value"]  # the site's cap in force now (windows too)
        if self.wan_share is not None and total > 0:
            share = self.wan_share
            explained["wan_rate"]["this_host_now"] = share.part(total)
            explained["wan_rate"]["split"] = (
                f"a total for site {share.site}: {share.hosts} host(s) on the WAN share it"
                + ("" if share.on_wan else "; this one is not on the WAN (a trickle)")
                + ("; waiting for the others to shrink" if share.on_wan and share.fraction <= 0 else ""))
        return {"in_force": explained, "digest": digest(self.body), "site_networks": self.site_networks}
