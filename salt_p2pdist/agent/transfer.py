"""One distribution inside the agent, and how it reads as a status report."""

from __future__ import annotations

import base64
import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import libtorrent as lt

from salt_p2pdist.agent.ledger import PeerLedger
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.core import delta, lifecycle
from salt_p2pdist.torrent import placement
from salt_p2pdist.torrent.metainfo import TorrentMeta, describe

_LT_STATES = lt.torrent_status.states
_CHECKING = {_LT_STATES.checking_files, _LT_STATES.checking_resume_data}


class Described:
    """What a transfer and a fetch being prepared read of their torrent's metadata."""

    meta: TorrentMeta

    @property
    def dist_id(self) -> str:
        return self.meta.dist_id

    @functools.cached_property
    def files(self) -> list[placement.FileEntry]:
        """Made once: for a tree of 20,000 files each list is megabytes while it is made."""
        return placement.dest_files(self.meta)


@dataclass
class Transfer(Described):
    """A distribution with its torrent in the session; changed only by the TransferBook."""

    record: OrderRecord  # kept on disk; shared with the transfer that replaces this one
    meta: TorrentMeta
    handle: Any  # lt.torrent_handle
    ledger: PeerLedger | None = None  # bytes by source; fetches only
    error: str = ""  # why it failed (shown in status); not kept on disk
    # The move into dest failed: not moved again on its own (that would repeat the
    # failure in a loop) until ordered again or the agent restarts (finishing.py).
    place_failed: bool = False
    # The all-time download count this handle started from (its resume data's).
    downloaded_at_add: int = 0
    # Held back on the WAN by priority: the higher distribution it yields to (holding.py).
    held_by: str = ""


def recheck(handle: Any, wait_s: float = 10.0) -> None:
    """Check a torrent just added against its files. libtorrent ignores ``force_recheck`` while
    the torrent still reads its resume data (its first moment after the add), so that is waited
    out first: a copy changed while quiet, or staged pieces written after the last save of
    its resume data, would otherwise be trusted as they were."""
    deadline = time.monotonic() + wait_s
    while handle.status().state == _LT_STATES.checking_resume_data and time.monotonic() < deadline:
        time.sleep(0.02)
    handle.force_recheck()


@dataclass
class Preparation(Described):
    """A fetch whose staging is being seeded from older copies in a worker thread (agent/preparing.py):
    its record is on disk (phase preparing), its torrent not added yet."""

    record: OrderRecord  # changed only by the TransferBook
    meta: TorrentMeta
    seeds: list[delta.Seed]
    copied: int = 0  # bytes copied so far, shown in status (written by the worker alone)
    stop: threading.Event = field(default_factory=threading.Event)  # removed, or the agent stops
    left: threading.Event = field(default_factory=threading.Event)  # the worker writes no more

    def go_on(self, copied: int) -> bool:
        """The copy's question after each chunk (files/prefixcopy.py): count it, and stop if told."""
        self.copied += copied
        return not self.stop.is_set()

    def halt(self, timeout: float) -> bool:
        """Stop the copy; True once the worker writes no more (within a chunk, normally)."""
        self.stop.set()
        return self.left.wait(timeout)


def state_of(t: Transfer, st: Any) -> str:
    return lifecycle.reported_state(t.record.phase, failed=bool(t.error or st.errc.value()),
                                    checking=st.state in _CHECKING,
                                    complete=bool(st.is_finished or st.is_seeding),
                                    paused=bool(st.flags & lt.torrent_flags.paused))


def downloaded(t: Transfer, st: Any) -> int:
    """Payload bytes downloaded, all time. libtorrent adds the last second's bytes to its
    all-time count only at its next tick: a download of a few pieces that finishes and is
    moved into dest within the second would otherwise read (and keep) 0."""
    return max(int(st.all_time_download), t.downloaded_at_add + int(st.total_payload_download))


def status_of(t: Transfer) -> dict[str, Any]:
    """A compact, JSON-ready report of one transfer."""
    st = t.handle.status()
    error = t.error or (st.errc.message() if st.errc.value() else "")
    done = min(st.total_wanted_done, t.meta.total_size)
    rate = st.download_payload_rate
    left = t.meta.total_size - done
    return {
        "dist_id": t.dist_id,
        "name": t.meta.name,
        "mode": t.record.mode,
        "state": state_of(t, st),
        "pieces": st.num_pieces,
        "num_pieces": t.meta.num_pieces,
        "bytes_done": done,
        "bytes_total": t.meta.total_size,
        "down_rate": rate,
        "up_rate": st.upload_payload_rate,
        "peers": st.num_peers,
        "downloaded": downloaded(t, st),
        "uploaded": st.all_time_upload,
        # Data that failed its hash (from bad peers); kept across the move into dest.
        "failed_bytes": st.total_failed_bytes + t.record.failed_bytes,
        "eta_s": round(left / rate) if rate > 0 and left > 0 else (0 if left == 0 else None),
        "dest": t.record.dest or t.record.save_path,
        "error": error,
        "banned": list(t.record.banned),  # peers libtorrent banned here (blocked for a while)
        "reused": t.record.reused,  # bytes taken from copies already here
        "seeded": t.record.seeded,  # bytes staging started from (reused + older versions)
        "replaced": dict(t.record.replaced),  # older versions this one replaced at dest
        "order_id": t.record.order_id,  # the master's order this answers
        "priority": t.record.level(),
        **({"held_back_by": t.held_by} if t.held_by else {}),  # yields the WAN link to that one
        # When this was read (the agent's clock, under the engine lock): the
        # master keeps the newest of a host's reports and answers by it.
        "as_of": time.time(),
        **(t.ledger.totals if t.ledger else {}),
        **({"site": t.ledger.own_site} if t.ledger and t.ledger.own_site else {}),
    }


def download_summary(t: Transfer) -> str:
    """One line for the agent's log when a download completes: what it cost the network.

    ``redundant`` is data received twice (libtorrent's end game asks several peers for
    the last blocks): on a WAN fetcher, bytes its site's link carried for nothing.
    """
    st = t.handle.status()
    sources = " ".join(f"{k}={v}" for k, v in t.ledger.totals.items()) if t.ledger else ""
    return (f"received {st.total_payload_download} bytes for {t.meta.total_size} (redundant "
            f"{st.total_redundant_bytes}, failed {st.total_failed_bytes}) {sources}").rstrip()


def quiet_status(record: OrderRecord) -> dict[str, Any]:
    """The report of a quiet distribution: complete at dest, no torrent (so no rates or peers)."""
    meta = describe(base64.b64decode(record.torrent))
    return {
        "dist_id": record.dist_id, "name": meta.name, "mode": record.mode, "state": lifecycle.QUIET,
        "pieces": meta.num_pieces, "num_pieces": meta.num_pieces, "bytes_done": meta.total_size,
        "bytes_total": meta.total_size, "down_rate": 0, "up_rate": 0, "peers": 0, "uploaded": record.uploaded,
        "failed_bytes": record.failed_bytes, "eta_s": 0, "dest": record.dest or record.save_path,
        "error": "", "banned": list(record.banned), "reused": record.reused, "order_id": record.order_id,
        "as_of": time.time(), **record.ledger, **({"site": record.site_seen} if record.site_seen else {}),
    }


def preparing_status(p: Preparation) -> dict[str, Any]:
    """The report of a fetch being prepared: nothing verified or downloaded yet, the copy's progress
    (``seeded`` bytes copied of ``to_seed``)."""
    return {
        "dist_id": p.dist_id, "name": p.meta.name, "mode": p.record.mode, "state": lifecycle.PREPARING,
        "pieces": 0, "num_pieces": p.meta.num_pieces, "bytes_done": 0, "bytes_total": p.meta.total_size,
        "down_rate": 0, "up_rate": 0, "peers": 0, "downloaded": 0, "uploaded": 0, "failed_bytes": 0,
        "eta_s": None, "dest": p.record.dest, "error": "", "banned": [], "reused": 0,
        "seeded": p.copied, "to_seed": sum(s.length for s in p.seeds), "replaced": {},
        "order_id": p.record.order_id, "priority": p.record.level(), "as_of": time.time(),
    }
