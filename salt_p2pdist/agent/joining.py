"""Joining a torrent's swarm: at once, or for a closed swarm once certified.

A closed swarm's torrent is added without a tracker: libtorrent announces
the moment a torrent is added, an announce without the certificate is
refused by the tracker, and libtorrent then waits minutes before it asks
again. So the tracker is given only once the certificate is set (from the
record, or asked of the master in a thread of its own).
"""

from __future__ import annotations

import threading

import libtorrent as lt

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.certify import Certifier, announce_url
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import lifecycle


class SwarmJoiner:
    def __init__(self, certs: Certifier, book: TransferBook, host_id: str, stopped: threading.Event):
        self.certs, self.book, self.host_id, self.stopped = certs, book, host_id, stopped

    def admit(self, transfer: Transfer) -> None:
        """A torrent just added: set its certificate, and join (or get certified first)."""
        if transfer.record.phase == lifecycle.SEED:
            self.certs.apply(transfer)
        elif transfer.meta.ssl and self.certs.apply(transfer):
            self._join(transfer)
        elif transfer.meta.ssl:
            threading.Thread(target=self.certs.obtain, daemon=True, name=f"cert-{transfer.dist_id}",
                             args=(transfer, self._certified, self.book.set_error,
                                   self.book.is_current, self.stopped)).start()

    def _certified(self, transfer: Transfer, cert: str) -> None:
        """The master issued our certificate: keep it, use it, and join the swarm."""
        self.book.update(transfer, tls_cert=cert)
        self.book.set_error(transfer, "")
        self.certs.apply(transfer)
        self._join(transfer)

    def _join(self, transfer: Transfer) -> None:
        """libtorrent runs handle calls in the order they are made, so the first
        announce already shows the certificate."""
        transfer.handle.replace_trackers([lt.announce_entry(announce_url(transfer.record.tracker,
                                                                         self.host_id))])
        transfer.handle.force_reannounce()
