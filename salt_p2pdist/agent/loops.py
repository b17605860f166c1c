"""The agent's background loops: libtorrent alerts, peer sampling, and the WAN share."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from salt_p2pdist.agent import memory
from salt_p2pdist.agent.alerts import AlertHandler
from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.enforcer import PolicyEnforcer
from salt_p2pdist.agent.lightresume import light_resume
from salt_p2pdist.agent.wanpoll import SharePoller, wan_share_loop
from salt_p2pdist.core import lifecycle

log = logging.getLogger(__name__)
RESUME_EVERY_S = 30.0
SWEEP_EVERY_S = 2.0
# While data flows, buffers are freed in one thread after being filled in another:
# given back every second, free heap memory does not pile up (memory.py).
RELEASE_EVERY_S = 1.0
PEER_SAMPLE_EVERY_S = 1.0


def start_loops(session: Any, handler: AlertHandler, book: TransferBook, policy: PolicyEnforcer,
                poller: SharePoller, stop: threading.Event,
                on_sweep: Callable[[], None] = lambda: None) -> threading.Thread:
    """Start the three loops (they end once ``stop`` is set); the alert loop's thread.
    ``on_sweep`` runs in the alert loop every SWEEP_EVERY_S (expired peer blocks are lifted)."""
    alerts = threading.Thread(target=alert_loop, name="alerts", daemon=True,
                              args=(session, handler, book, policy, stop, on_sweep))
    alerts.start()
    threading.Thread(target=sample_peers, name="peers", daemon=True, args=(book, stop)).start()
    threading.Thread(target=wan_share_loop, name="wan-share", daemon=True, args=(poller, stop)).start()
    return alerts


def alert_loop(session: Any, handler: AlertHandler, book: TransferBook, policy: PolicyEnforcer,
               stop: threading.Event, on_sweep: Callable[[], None] = lambda: None) -> None:
    """Alerts to actions; every SWEEP_EVERY_S, missed finishes; every RESUME_EVERY_S, policy
    windows and resume data; every RELEASE_EVERY_S, free heap memory back to the system."""
    last_save = last_sweep = last_release = 0.0
    while not stop.is_set():
        session.wait_for_alert(500)
        for alert in session.pop_alerts():
            try:
                handler.handle(alert)
            except Exception:  # one bad alert must not stop the session's bookkeeping
                log.exception("handling %s failed", type(alert).__name__)
        if time.monotonic() - last_sweep > SWEEP_EVERY_S:
            last_sweep = time.monotonic()
            try:
                handler.sweep_finished()
            except Exception:  # a handle removed meanwhile: the next sweep sees the new one
                log.exception("looking for missed finishes failed")
            try:
                on_sweep()
            except Exception:  # tried again at the next sweep
                log.exception("lifting expired peer blocks failed")
        if time.monotonic() - last_save > RESUME_EVERY_S:
            last_save = time.monotonic()
            policy.tick(datetime.now())  # time windows open and close
            save_downloads(book)
        if time.monotonic() - last_release > RELEASE_EVERY_S:
            last_release = time.monotonic()
            memory.release()


def save_downloads(book: TransferBook) -> None:
    """The pieces each download holds, for its counters after a crash (which re-checks them).

    Downloads only: a seed's pieces do not change (its counters are saved when the agent
    stops). Made by the agent (lightresume.py): libtorrent's own resume data of a 4 GiB
    file carries 8 MiB of block hashes and cost ~30 MB for a moment at every save.
    """
    for t in book.all():
        if t.record.phase != lifecycle.STAGING:
            continue
        try:
            if t.handle.need_save_resume_data():
                book.save_resume(t.dist_id, light_resume(t))
        except RuntimeError:  # removed meanwhile (moved into dest): its new handle is saved then
            log.debug("%s: not saved, its torrent was removed meanwhile", t.dist_id)


def sample_peers(book: TransferBook, stop: threading.Event) -> None:
    """Bytes by source (own site, elsewhere, origin) for each fetch, once a second."""
    # get_peer_info() blocks on libtorrent's network thread (the bindings
    # cannot convert peer_info_alert's list), so it runs in a thread of
    # its own where a slow answer delays nothing else.
    while not stop.wait(PEER_SAMPLE_EVERY_S):
        for t in book.all():
            try:
                if t.ledger is not None and t.record.phase != lifecycle.MOVING \
                        and not t.handle.status().is_seeding:
                    t.ledger.sample(t.handle.get_peer_info())
            except Exception:
                # A handle removed meanwhile (a finished download re-added as a seed) is no error.
                if t.handle.is_valid():
                    log.exception("sampling peers of %s failed", t.dist_id)
