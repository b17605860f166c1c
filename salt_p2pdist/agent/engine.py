"""The agent's libtorrent session: add, remove, report, resume.

One session per host. The distributions and their records belong to the
TransferBook (book.py); the engine's operations lock keeps operations that
remove and add torrents (add, remove, the move into dest) from interleaving.
The engine holds the session and that lock, and hands each operation's work to
its module: a new order (adding.py), another order for a distribution held
(reordering.py), removing one (removing.py), resume data across restarts
(resuming.py), the move into dest (finishing.py), a quiet swarm (quieting.py).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from typing import Any

from salt_p2pdist.agent import adding, memory, preparing, removing, reordering, resuming, seeding
from salt_p2pdist.agent.alerts import AlertHandler
from salt_p2pdist.agent.banning import Banning
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
from salt_p2pdist.agent.transfer import Transfer, preparing_status, quiet_status, status_of
from salt_p2pdist.agent.waiters import AlertWaiters
from salt_p2pdist.agent.wanpoll import SharePoller
from salt_p2pdist.agent.yielder import Yielder, yield_loop
from salt_p2pdist.core import lifecycle
from salt_p2pdist.core.errors import NotFound
from salt_p2pdist.torrent.metainfo import TorrentMeta, describe


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
        self.waiters = AlertWaiters()
        self.stopped = threading.Event()
        self._ops = threading.RLock()
        self._joiner = SwarmJoiner(self.certs, self.book, cfg.host_id, self.stopped)
        self._readder = Readder(book=self.book, waiters=self.waiters, session=self.session,
                                ops_lock=self._ops, staging_dir=cfg.staging_dir, start=self.start)
        self._quieter = Quieter(book=self.book, waiters=self.waiters, session=self.session,
                                ops_lock=self._ops, start=self.start)
        # Copies into staging for a new version (preparing.py); resumed after the others started.
        self.preparer = preparing.Preparer(book=self.book, ops_lock=self._ops, staging_dir=cfg.staging_dir,
                                           start=self.start, held=self._held)
        resuming.resume_all(self.book, cfg.state_dir, self.start, self.preparer.resume)
        self.banning = Banning(BanList(self.session), self.book, self._readder.forget_bans)
        handler = AlertHandler(self.book, self.waiters, on_ban=self.ban_peer,
                               on_moving=lambda t: self._worker(self._readder.finish, t),
                               on_quiet=lambda t: self._worker(self._quieter.quiet, t))
        limits = DownloadLimits()  # a fetch's download limit: hold-back and yielding, one owner
        poller = SharePoller(self.book, self.policy, cfg.host_id, cfg.state_dir, limits)
        self._alerts = start_loops(self.session, handler, self.book, self.policy, poller, self.stopped,
                                   on_sweep=self.banning.lift_expired)
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
                return reordering.reorder(self.book, self._readder, known, order)
            prep = self.book.get_preparing(meta.dist_id)
            if prep is not None:
                return reordering.reorder_preparing(self.book, prep, order)
            record, seeds = adding.new_record(order, meta, self.cfg.staging_dir, self._held())
            self.book.create(record)
            # Seeding staging from older copies runs at disk speed: answered now, copied in a worker.
            started = (self.preparer.begin(record, meta, seeds) if record.phase == lifecycle.PREPARE
                       else status_of(self.start(record, None, meta)))
        memory.release()  # the order of a big tree is megabytes, parsed more than once
        return started

    def start(self, record: OrderRecord, resume: bytes | None, meta: TorrentMeta | None = None, *,
              place_failed: bool = False) -> Transfer:
        """Add ``record``'s torrent to the session; it becomes the distribution's current transfer.

        ``place_failed``: added back from staging after a failed move into dest. Set before the
        transfer is in the book: libtorrent reports it finished again at once, and the alert
        thread must not see it unmarked and try the move again (alerts.may_move).
        """
        known = self.book.get(record.dist_id)
        if meta is None:  # re-added (moved into dest, bans lifted): described already
            meta = known.meta if known is not None else describe(base64.b64decode(record.torrent))
        atp = adding.torrent_params(record, resume, self.cfg.host_id)
        # Files sit at dest under the pushed name, not the torrent's unique name.
        atp.renamed_files = dict(meta.renames)
        transfer = Transfer(record=record, meta=meta, handle=self.session.add_torrent(atp),
                            ledger=adding.ledger_for(record, self.cfg.host_id),
                            downloaded_at_add=int(atp.total_downloaded), place_failed=place_failed)
        if record.upload_limit:  # a per-torrent limit binds LAN peers too
            transfer.handle.set_upload_limit(record.upload_limit)
        self.book.put(transfer)
        self._joiner.admit(transfer)
        return transfer

    def _held(self) -> list[seeding.Held]:
        """What this host holds, for a new fetch: transfers, fetches being prepared, quiet ones."""
        return [*self.book.all(), *self.book.preparing(), *seeding.quiet_copies(self.book.quiet_records())]

    def ban_peer(self, dist_id: str, ip: str) -> None:
        self.banning.on_ban(dist_id, ip)

    @staticmethod
    def _worker(job: Callable[[Transfer], object], transfer: Transfer) -> None:
        threading.Thread(target=job, args=(transfer,), daemon=True).start()

    def wake(self, dist_id: str) -> dict[str, Any]:
        """Share a quiet distribution again (the master woke its swarm); as it is if awake."""
        with self._ops:
            transfer = self.book.get(dist_id) or self._quieter.wake(dist_id)
            if transfer is None:
                raise NotFound(f"no distribution {dist_id} on {self.cfg.host_id}")
            return status_of(transfer)

    def quiet(self, dist_id: str) -> bool:
        """Close the torrent of a complete distribution whose swarm is quiet (the origin decides
        this for its seeds: originquiet.py); True if it is closed now."""
        transfer = self.book.get(dist_id)
        return transfer is not None and self._quieter.quiet(transfer)

    def remove(self, dist_id: str, *, remove_data: bool) -> dict[str, Any]:
        """Stop sharing; drop staged data, and the files at dest if asked."""
        with self._ops:
            return removing.remove(self.cfg, self.book, self.waiters, self.session, dist_id,
                                   remove_data=remove_data)

    def status(self, dist_id: str | None = None) -> dict[str, Any]:
        with self._ops:
            if dist_id is None:
                return {**{r.dist_id: quiet_status(r) for r in self.book.quiet_records()},
                        **{p.dist_id: preparing_status(p) for p in self.book.preparing()},
                        **{t.dist_id: status_of(t) for t in self.book.all()}}
            prep = self.book.get_preparing(dist_id)
            if prep is not None:
                return preparing_status(prep)
            transfer = self.book.get(dist_id)
            quiet = self.book.get_quiet(dist_id) if transfer is None else None
            if quiet is not None:
                return quiet_status(quiet)
            if transfer is None:
                raise NotFound(f"no distribution {dist_id} on {self.cfg.host_id}")
            return status_of(transfer)

    def close(self) -> None:
        """Stop copies into staging, pause, save resume data for every transfer, then stop."""
        self.preparer.halt_all(timeout=preparing.STOP_WAIT_S)
        self.session.pause()
        resuming.save_all(self.book, self.waiters)
        self.stopped.set()
        self._alerts.join(timeout=5)
        resuming.mark_clean_stop(self.cfg.state_dir)
