"""The agent's libtorrent session: add, remove, report, resume.

One session per host. The distributions and their records belong to the
TransferBook (book.py); the engine's operations lock keeps operations that
remove and add torrents (add, remove, the move into dest) from interleaving.
"""

from __future__ import annotations

import base64
import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import libtorrent as lt

from salt_p2pdist.agent import adding, memory, seeding
from salt_p2pdist.agent.alerts import AlertHandler
from salt_p2pdist.agent.bans import BanList
from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.certify import Certifier
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.downlimit import DownloadLimits
from salt_p2pdist.agent.enforcer import PolicyEnforcer
from salt_p2pdist.agent.finishing import Readder
from salt_p2pdist.agent.joining import SwarmJoiner
from salt_p2pdist.agent.loops import start_loops
from salt_p2pdist.agent.orderbody import check_order
from salt_p2pdist.agent.quieting import Quieter
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.settings import make_session
from salt_p2pdist.agent.store import OrderStore
from salt_p2pdist.agent.transfer import Transfer, quiet_status, status_of
from salt_p2pdist.agent.waiters import AlertWaiters
from salt_p2pdist.agent.wanpoll import SharePoller
from salt_p2pdist.agent.yielder import Yielder, yield_loop
from salt_p2pdist.core import destpaths, lifecycle, names
from salt_p2pdist.core.errors import InvalidRequest, NotFound, P2PDistError
from salt_p2pdist.torrent import placement
from salt_p2pdist.torrent.metainfo import TorrentMeta, describe

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, cfg: AgentConfig):
        self.cfg = cfg
        self.book = TransferBook(OrderStore(cfg.dists_dir))
        # The second socket ("s") is TLS: closed swarms (SSL torrents) talk only there.
        ssl_port = cfg.bt_port + 1 if cfg.bt_port else 0
        self.session = make_session(f"{cfg.bt_interface}:{cfg.bt_port},{cfg.bt_interface}:{ssl_port}s",
                                    cfg.outgoing_interface)
        self.certs = Certifier(cfg.state_dir, cfg.host_id, cfg.salt_key)
        # Before any torrent: peer classes are assigned when a peer connects.
        self.policy = PolicyEnforcer(self.session, cfg.state_dir)
        self.bans = BanList(self.session)
        self.waiters = AlertWaiters()
        self.stopped = threading.Event()
        self._ops = threading.RLock()
        self._joiner = SwarmJoiner(self.certs, self.book, cfg.host_id, self.stopped)
        self._readder = Readder(book=self.book, waiters=self.waiters, session=self.session,
                                ops_lock=self._ops, staging_dir=cfg.staging_dir, start=self.start)
        self._quieter = Quieter(book=self.book, waiters=self.waiters, session=self.session,
                                ops_lock=self._ops, start=self.start, resume_data=self._readder.resume_data)
        # After a crash, resume data can be older than the pieces already
        # written (saved every 30 s): trusting it would fetch those pieces
        # again. Downloads are then re-checked against the files instead.
        clean = self._clean_stop_marker.exists()
        self._clean_stop_marker.unlink(missing_ok=True)
        for record, resume in self.book.load():
            if record.phase == lifecycle.DORMANT:  # its swarm is quiet: no torrent until woken
                self.book.keep_quiet(record)
                continue
            try:
                transfer = self.start(record, resume)
                if resume and not clean and record.phase == lifecycle.STAGING:
                    log.info("%s: re-checking staged pieces (the last stop was not clean)", record.dist_id)
                    transfer.handle.force_recheck()
            except (P2PDistError, RuntimeError) as exc:
                log.error("cannot resume %s: %s", record.dist_id, exc)
        handler = AlertHandler(self.book, self.waiters, on_ban=self.ban_peer,
                               on_moving=lambda t: self._worker(self._readder.finish, t),
                               on_quiet=lambda t: self._worker(self._quieter.quiet, t))
        limits = DownloadLimits()  # a fetch's download limit: hold-back and yielding, one owner
        poller = SharePoller(self.book, self.policy, cfg.host_id, cfg.state_dir, limits)
        self._alerts = start_loops(self.session, handler, self.book, self.policy, poller, self.stopped)
        self.yielder = Yielder(self.book, limits)  # background downloads give the WAN link way
        threading.Thread(target=yield_loop, name="yield", daemon=True,
                         args=(self.yielder, self.stopped)).start()

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
        meta = describe(base64.b64decode(order["torrent"]))
        with self._ops:
            known = self.book.get(meta.dist_id) or self._quieter.wake(meta.dist_id)  # an order wakes it
            if known is not None:
                return self._readd(known, order)
            record = adding.new_record(order, meta, self.cfg.staging_dir,
                                       [*self.book.all(), *seeding.quiet_copies(self.book.quiet_records())])
            self.book.create(record)
            started = status_of(self.start(record, None, meta))
        memory.release()  # the order of a big tree is megabytes, parsed more than once
        return started

    def _readd(self, known: Transfer, order: dict[str, Any]) -> dict[str, Any]:
        # The same place by the host's own rules: on Windows C:\Dist and c:/dist/ are one folder.
        same = destpaths.same_place(known.record.dest, order.get("dest"), names.local_flavor())
        if order["mode"] == "fetch" and not same:
            raise InvalidRequest(f"distribution {known.dist_id} is already on this host at "
                                 f"{known.record.dest or None}; remove it before sending it elsewhere")
        changes: dict[str, Any] = {}
        if "targets" in order:
            changes["targets"] = order["targets"] or []
        if order.get("order_id"):  # the master's latest order; reports name it (status rule)
            changes["order_id"] = str(order["order_id"])
        if order.get("priority"):  # a re-push may change the level
            changes["priority"] = str(order["priority"])
        if changes:
            self.book.update(known, **changes)
        if known.error:  # a failed transfer is ordered again: retry it
            failed_move = known.place_failed
            self.book.set_error(known, "", place_failed=failed_move)
            known.handle.clear_error()
            known.handle.resume()
            if failed_move:  # a failed move into dest, too
                self._readder.retry_place(known)
        return status_of(known)

    def start(self, record: OrderRecord, resume: bytes | None, meta: TorrentMeta | None = None) -> Transfer:
        """Add ``record``'s torrent to the session; it becomes the distribution's current transfer."""
        known = self.book.get(record.dist_id)
        if meta is None:  # re-added (moved into dest, bans lifted): described already
            meta = known.meta if known is not None else describe(base64.b64decode(record.torrent))
        atp = adding.torrent_params(record, resume, self.cfg.host_id)
        # Files sit at dest under the pushed name, not the torrent's unique name.
        atp.renamed_files = dict(meta.renames)
        transfer = Transfer(record=record, meta=meta, handle=self.session.add_torrent(atp),
                            ledger=adding.ledger_for(record, self.cfg.host_id),
                            downloaded_at_add=int(atp.total_downloaded))
        if record.upload_limit:  # a per-torrent limit binds LAN peers too
            transfer.handle.set_upload_limit(record.upload_limit)
        self.book.put(transfer)
        self._joiner.admit(transfer)
        return transfer

    def ban_peer(self, dist_id: str, ip: str) -> None:
        transfers = self.book.all()
        origins = {urlsplit(t.record.tracker).hostname or "" for t in transfers if t.record.tracker}
        transfer = self.book.get(dist_id)
        if self.bans.ban(ip, dist_id, origin_hosts=origins) and transfer is not None:
            self.book.update(transfer, banned=[*transfer.record.banned, ip])  # shown in status
        elif ip in origins and transfer is not None and transfer.record.phase == lifecycle.STAGING:
            self._worker(self._readder.forget_bans, transfer)

    @staticmethod
    def _worker(job: Callable[[Transfer], None], transfer: Transfer) -> None:
        threading.Thread(target=job, args=(transfer,), daemon=True).start()

    def wake(self, dist_id: str) -> dict[str, Any]:
        """Share a quiet distribution again (the master woke its swarm); as it is if awake."""
        with self._ops:
            transfer = self.book.get(dist_id) or self._quieter.wake(dist_id)
            if transfer is None:
                raise NotFound(f"no distribution {dist_id} on {self.cfg.host_id}")
            return status_of(transfer)

    def remove(self, dist_id: str, *, remove_data: bool) -> dict[str, Any]:
        """Stop sharing; drop staged data, and the files at dest if asked."""
        with self._ops:
            quiet = self.book.pop_quiet(dist_id)
            if quiet is not None:  # no torrent to remove
                if remove_data:
                    placement.remove_files(Path(quiet.dest), placement.dest_files(
                        describe(base64.b64decode(quiet.torrent))))
                self.book.forget(dist_id)
                return {"dist_id": dist_id, "state": lifecycle.CANCELLED, "removed_data": remove_data,
                        "order_id": quiet.order_id, "as_of": time.time()}
            transfer = self.book.pop(dist_id)
            if transfer is None:
                raise NotFound(f"no distribution {dist_id} on {self.cfg.host_id}")
            self.waiters.wait(dist_id, "removed", lambda: self.session.remove_torrent(transfer.handle))
            record = transfer.record
            staged = record.phase in (lifecycle.STAGING, lifecycle.MOVING)
            if staged:  # the staging dir is ours alone
                shutil.rmtree(self.cfg.staging_dir / dist_id, ignore_errors=True)
            elif record.phase == lifecycle.PLACED and remove_data:
                placement.remove_files(Path(record.dest), transfer.files)
            self.book.forget(dist_id)
            return {"dist_id": dist_id, "state": lifecycle.CANCELLED, "removed_data": remove_data or staged,
                    "order_id": record.order_id, "as_of": time.time()}

    def status(self, dist_id: str | None = None) -> dict[str, Any]:
        with self._ops:
            if dist_id is None:
                return {**{r.dist_id: quiet_status(r) for r in self.book.quiet_records()},
                        **{t.dist_id: status_of(t) for t in self.book.all()}}
            transfer = self.book.get(dist_id)
            quiet = self.book.get_quiet(dist_id) if transfer is None else None
            if quiet is not None:
                return quiet_status(quiet)
            if transfer is None:
                raise NotFound(f"no distribution {dist_id} on {self.cfg.host_id}")
            return status_of(transfer)

    @property
    def _clean_stop_marker(self) -> Path:
        return self.cfg.state_dir / "clean_stop"

    def close(self) -> None:
        """Pause, save resume data for every transfer, then stop."""
        self.session.pause()
        for t in self.book.all():
            # A handle removed meanwhile (a finished download being re-added as a
            # seed) raises RuntimeError; the stop must go on and leave its marker.
            try:
                self.waiters.wait(t.dist_id, "resume", _saving_resume_data(t), timeout=10)
            except (P2PDistError, RuntimeError) as exc:
                log.warning("%s: resume data not saved: %s", t.dist_id, exc)
        self.stopped.set()
        self._alerts.join(timeout=5)
        self._clean_stop_marker.touch()  # the resume data just saved can be trusted


def _saving_resume_data(transfer: Transfer) -> Callable[[], None]:
    return lambda: transfer.handle.save_resume_data(lt.torrent_handle.flush_disk_cache)
