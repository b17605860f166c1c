"""The agent's libtorrent session: add, finish, remove, report, resume.

One session per host. State changes happen on the alert thread or under the
engine lock; moving finished data into place runs in a worker thread so the
alert loop keeps flowing.
"""

from __future__ import annotations

import base64
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import libtorrent as lt

from salt_p2pdist.agent import placing
from salt_p2pdist.agent.bans import BanList
from salt_p2pdist.agent.certify import Certifier, announce_url
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.enforcer import PolicyEnforcer
from salt_p2pdist.agent.finishing import forget_bans
from salt_p2pdist.agent.ledger import PeerLedger
from salt_p2pdist.agent.loops import alert_loop, sample_peers
from salt_p2pdist.agent.orderbody import check_order
from salt_p2pdist.agent.settings import make_session
from salt_p2pdist.agent.store import OrderStore
from salt_p2pdist.agent.transfer import Transfer, status_of
from salt_p2pdist.agent.wanpoll import wan_share_loop
from salt_p2pdist.core import lifecycle, names
from salt_p2pdist.core.errors import InvalidRequest, NotFound, P2PDistError
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.torrent import placement
from salt_p2pdist.torrent.metainfo import describe

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, cfg: AgentConfig):
        self.cfg = cfg
        self.store = OrderStore(cfg.dists_dir)
        # The second socket ("s") is TLS: closed swarms (SSL torrents) talk only there.
        ssl_port = cfg.bt_port + 1 if cfg.bt_port else 0
        self.session = make_session(f"{cfg.bt_interface}:{cfg.bt_port},{cfg.bt_interface}:{ssl_port}s",
                                    cfg.outgoing_interface)
        self.certs = Certifier(cfg.state_dir, cfg.host_id, cfg.salt_key)
        self.transfers: dict[str, Transfer] = {}
        # Before any torrent: peer classes are assigned when a peer connects.
        self.policy = PolicyEnforcer(self.session, cfg.state_dir)
        self.bans = BanList(self.session)
        self.lock = threading.RLock()
        self._stop = threading.Event()
        self._waiters: dict[tuple[str, str], tuple[threading.Event, list[Any]]] = {}
        # After a crash, resume data can be older than the pieces already
        # written (saved every 30 s): trusting it would fetch those pieces
        # again. Downloads are then re-checked against the files instead.
        clean = self._clean_stop_marker.exists()
        self._clean_stop_marker.unlink(missing_ok=True)
        for record, resume in self.store.load_all():
            try:
                transfer = self.start(record, resume)
                if resume and not clean and record["phase"] == "staging":
                    log.info("%s: re-checking staged pieces (the last stop was not clean)",
                             record["dist_id"])
                    transfer.handle.force_recheck()
            except (P2PDistError, RuntimeError) as exc:
                log.error("cannot resume %s: %s", record.get("dist_id"), exc)
        self._alerts = threading.Thread(target=alert_loop, args=(self,), name="alerts", daemon=True)
        self._alerts.start()
        threading.Thread(target=sample_peers, args=(self,), name="peers", daemon=True).start()
        threading.Thread(target=wan_share_loop, args=(self,), name="wan-share", daemon=True).start()

    @property
    def listen_port(self) -> int:
        return int(self.session.listen_port())

    @property
    def ssl_port(self) -> int:
        return int(self.session.ssl_listen_port())

    # -- orders -----------------------------------------------------------
    def add(self, order: dict[str, Any]) -> dict[str, Any]:
        """Accept an order (idempotent for the same distribution and dest)."""
        order = check_order(order)
        torrent = base64.b64decode(order["torrent"])
        meta = describe(torrent)
        with self.lock:
            known = self.transfers.get(meta.dist_id)
            if known is not None:
                return self._readd(known, order)
            record = {"mode": order["mode"], "name": meta.name}
            record.update(dist_id=meta.dist_id, torrent=order["torrent"],
                          tracker=order.get("tracker") or meta.tracker,
                          force=bool(order.get("force")), targets=order.get("targets", []),
                          upload_limit=int(order.get("upload_limit") or 0),
                          sites=order.get("sites") or {}, site=order.get("site", ""),
                          order_id=str(order.get("order_id") or ""))
            if order["mode"] == "seed":
                source = Path(order["source"])
                record.update(phase="seed", save_path=str(placement.save_path(source.parent, meta)))
            else:
                dest = Path(order["dest"])
                files = placement.dest_files(meta)
                names.check_length(str(dest), [rel for rel, _, _ in files], names.local_flavor())
                # Staging too: on Windows it is the longer path (MAX_PATH 260) far more often.
                names.check_length(str(self.cfg.staging_dir / meta.dist_id),
                                   [rel for rel, _, _ in files], names.local_flavor())
                if order.get("allowed_dest") is not None:
                    placement.check_within(dest, [Path(r) for r in order["allowed_dest"]], files)
                verdict = placement.check_destination(dest, files, force=record["force"])
                base = dest if verdict == placement.IDENTICAL else self.cfg.staging_dir / meta.dist_id
                if verdict != placement.IDENTICAL:
                    record["reused"] = placement.seed_staging(base, files, self._held_files())
                record.update(dest=str(dest), phase="placed" if verdict == placement.IDENTICAL
                              else "staging", save_path=str(placement.save_path(base, meta)))
            self.store.save(meta.dist_id, record)
            return status_of(self.start(record, None))

    def _readd(self, known: Transfer, order: dict[str, Any]) -> dict[str, Any]:
        if order["mode"] == "fetch" and known.record.get("dest") != order.get("dest"):
            raise InvalidRequest(f"distribution {known.dist_id} is already on this host at "
                                 f"{known.record.get('dest')}; remove it before sending it elsewhere")
        if "targets" in order:
            known.record["targets"] = order["targets"]
        if order.get("order_id"):  # the master's latest order; reports name it (status rule)
            known.record["order_id"] = str(order["order_id"])
        if "targets" in order or order.get("order_id"):
            self.store.save(known.dist_id, known.record)
        if known.error:  # a failed transfer is ordered again: retry it
            known.error = ""
            known.handle.clear_error()
            known.handle.resume()
            placing.retry(self, known)  # a failed move into dest, too
        return status_of(known)

    def start(self, record: dict[str, Any], resume: bytes | None) -> Transfer:
        if resume:
            atp = lt.read_resume_data(resume)
        else:
            atp = lt.load_torrent_buffer(base64.b64decode(record["torrent"]))
        atp.save_path = record["save_path"]
        # Not auto-managed: libtorrent's queue would stop seeding past 5 torrents.
        atp.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
        if record["phase"] == "seed":
            atp.trackers = []
            if not resume:
                atp.flags |= lt.torrent_flags.seed_mode  # just hashed by the master
        else:
            # A closed swarm gets its tracker only after its certificate is set
            # (_join): libtorrent announces the moment a torrent is added, and
            # an announce without the certificate is refused by the tracker,
            # after which libtorrent waits minutes before it asks again.
            closed = bool(atp.ti and atp.ti.ssl_cert())
            atp.trackers = [] if closed else [announce_url(record, self.cfg.host_id)]
        meta = describe(base64.b64decode(record["torrent"]))
        # Files sit at dest under the pushed name, not the torrent's unique name.
        atp.renamed_files = dict(meta.renames)
        transfer = Transfer(record=record, meta=meta,
                            handle=self.session.add_torrent(atp), ledger=self._ledger(record))
        if record.get("upload_limit"):  # a per-torrent limit binds LAN peers too
            transfer.handle.set_upload_limit(int(record["upload_limit"]))
        self.transfers[transfer.dist_id] = transfer
        if record["phase"] == "seed":
            self.certs.apply(transfer)
        elif transfer.meta.ssl and self.certs.apply(transfer):
            self._join(transfer)
        elif transfer.meta.ssl:
            threading.Thread(target=self.certs.obtain, daemon=True, name=f"cert-{transfer.dist_id}",
                             args=(transfer, self._certified,
                                   lambda t: self.transfers.get(t.dist_id) is t, self._stop)).start()
        return transfer

    def _certified(self, transfer: Transfer) -> None:
        """The master issued our certificate: use it, keep it, and join the swarm."""
        with self.lock:
            self.store.save(transfer.dist_id, transfer.record)
        self.certs.apply(transfer)
        self._join(transfer)

    def _join(self, transfer: Transfer) -> None:
        """Give a closed swarm's torrent its tracker, once its certificate is set.

        libtorrent runs handle calls in the order they are made, so the
        first announce already shows the certificate.
        """
        transfer.handle.replace_trackers([lt.announce_entry(announce_url(transfer.record,
                                                                         self.cfg.host_id))])
        transfer.handle.force_reannounce()

    def ban_peer(self, dist_id: str, ip: str) -> None:
        origins = {urlsplit(t.record["tracker"]).hostname or "" for t in list(self.transfers.values())
                   if t.record.get("tracker")}
        transfer = self.transfers.get(dist_id)
        if self.bans.ban(ip, dist_id, origin_hosts=origins) and transfer is not None:
            transfer.record.setdefault("banned", []).append(ip)  # shown in status
        elif ip in origins and transfer is not None and transfer.record["phase"] == "staging":
            threading.Thread(target=forget_bans, args=(self, transfer), daemon=True).start()

    def _held_files(self) -> dict[str, Path]:
        """Pieces root -> a complete file this host holds from another distribution."""
        held: dict[str, Path] = {}
        for t in self.transfers.values():
            if t.record["phase"] == "placed":
                for rel, _size, root in t.files:
                    held.setdefault(root, Path(t.record["dest"]) / rel)
        return held

    def _ledger(self, record: dict[str, Any]) -> PeerLedger | None:
        if record["mode"] != "fetch":
            return None
        sites = SiteMap.from_config(record.get("sites"), {self.cfg.host_id: record["site"]}
                                    if record.get("site") else None)
        ledger = PeerLedger(sites, self.cfg.host_id, urlsplit(record["tracker"]).hostname or "",
                            own_site=record.get("site_seen", ""))
        ledger.totals.update(record.get("ledger") or {})  # kept across the move into dest
        return ledger

    def remove(self, dist_id: str, *, remove_data: bool) -> dict[str, Any]:
        """Stop sharing; drop staged data, and the files at dest if asked."""
        with self.lock:
            transfer = self.transfers.pop(dist_id, None)
            if transfer is None:
                raise NotFound(f"no distribution {dist_id} on {self.cfg.host_id}")
            self._wait(dist_id, "removed", lambda: self.session.remove_torrent(transfer.handle))
            record = transfer.record
            if record["phase"] == "staging":  # the staging dir is ours alone
                shutil.rmtree(self.cfg.staging_dir / dist_id, ignore_errors=True)
            elif record["phase"] == "placed" and remove_data:
                placement.remove_files(Path(record["dest"]), transfer.files)
            self.store.forget(dist_id)
            return {"dist_id": dist_id, "state": lifecycle.CANCELLED,
                    "removed_data": remove_data or record["phase"] == "staging",
                    "order_id": record.get("order_id", ""), "as_of": time.time()}

    def status(self, dist_id: str | None = None) -> dict[str, Any]:
        with self.lock:
            if dist_id is None:
                return {d: status_of(t) for d, t in self.transfers.items()}
            if dist_id not in self.transfers:
                raise NotFound(f"no distribution {dist_id} on {self.cfg.host_id}")
            return status_of(self.transfers[dist_id])

    def _wait(self, dist_id: str, kind: str, action: Any, timeout: float = 60) -> Any:
        event, box = threading.Event(), list[Any]()
        self._waiters[(dist_id, kind)] = (event, box)
        action()
        if not event.wait(timeout):
            raise P2PDistError(f"libtorrent did not confirm {kind} of {dist_id}")
        return box[0] if box else None

    def _notify(self, dist_id: str, kind: str, value: Any = None) -> None:
        waiter = self._waiters.pop((dist_id, kind), None)
        if waiter:
            waiter[1].append(value)
            waiter[0].set()

    @property
    def _clean_stop_marker(self) -> Path:
        return self.cfg.state_dir / "clean_stop"

    def close(self) -> None:
        """Pause, save resume data for every transfer, then stop."""
        self.session.pause()
        with self.lock:
            transfers = list(self.transfers.values())
        for t in transfers:
            try:
                self._wait(t.dist_id, "resume", lambda t=t: t.handle.save_resume_data(
                    lt.torrent_handle.flush_disk_cache | lt.torrent_handle.save_info_dict), timeout=10)
            except P2PDistError as exc:
                log.warning("%s", exc)
        self._stop.set()
        self._alerts.join(timeout=5)
        self._clean_stop_marker.touch()  # the resume data just saved can be trusted
