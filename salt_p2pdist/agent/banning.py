"""What the agent does when libtorrent bans a peer, and when a block runs out.

A banned peer's address is blocked for a while (bans.py) and named in the
distribution's status. A ban of the origin is always collateral (it serves what
it hashed itself): the download is re-added with a fresh peer list instead, so
its one sure source is reachable again. When a block ends, a download that
libtorrent banned that peer in is re-added the same way: libtorrent keeps a
banned peer entry for the torrent's life and would never call it again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from salt_p2pdist.agent.bans import BanList
from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import lifecycle


class Banning:
    def __init__(self, bans: BanList, book: TransferBook, readd: Callable[[Transfer], None]):
        self.bans, self.book = bans, book
        self._readd = readd  # worker-thread job: the download again, with a fresh peer list

    def on_ban(self, dist_id: str, ip: str) -> None:
        """libtorrent banned ``ip`` in ``dist_id`` (peer_ban_alert, from the alert thread)."""
        origins = {urlsplit(t.record.tracker).hostname or "" for t in self.book.all() if t.record.tracker}
        transfer = self.book.get(dist_id)
        if self.bans.ban(ip, dist_id, origin_hosts=origins) and transfer is not None:
            if ip not in transfer.record.banned:
                self.book.update(transfer, banned=[*transfer.record.banned, ip])  # shown in status
        elif ip in origins:
            self._readd_download(dist_id)

    def lift_expired(self) -> None:
        """Unblock the peers whose block ran out (the alert loop, every sweep)."""
        for dist_id in set(self.bans.lift_due().values()):
            self._readd_download(dist_id)

    def _readd_download(self, dist_id: str) -> None:
        transfer = self.book.get(dist_id)
        if transfer is not None and transfer.record.phase == lifecycle.STAGING:
            threading.Thread(target=self._readd, args=(transfer,), daemon=True).start()
