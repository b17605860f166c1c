"""One distribution inside the agent, and how it reads as a status report."""

from __future__ import annotations

import base64
import functools
import time
from dataclasses import dataclass
from typing import Any

import libtorrent as lt

from salt_p2pdist.agent.ledger import PeerLedger
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.core import lifecycle
from salt_p2pdist.torrent import placement
from salt_p2pdist.torrent.metainfo import TorrentMeta, describe

_LT_STATES = lt.torrent_status.states
_CHECKING = {_LT_STATES.checking_files, _LT_STATES.checking_resume_data}


@dataclass
class Transfer:
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

    @property
    def dist_id(self) -> str:
        return self.meta.dist_id

    @functools.cached_property
    def files(self) -> list[placement.FileEntry]:
        """Made once: for a tree of 20,000 files each list is megabytes while it is made."""
        return placement.dest_files(self.meta)


def recheck(handle: Any, wait_s: float = 10.0) -> None:
    """Check a torrent just added against its files. libtorrent ignores ``force_recheck`` while
    the torrent still reads its resume data (its first moment after the add), so that is waited
    out first: a copy changed while quiet, or staged pieces written after the last save of
    its resume data, would otherwise be trusted as they were."""
    deadline = time.monotonic() + wait_s
    while handle.status().state == _LT_STATES.checking_resume_data and time.monotonic() < deadline:
        time.sleep(0.02)
    handle.force_recheck()


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
        "banned": list(t.record.banned),  # peers blocked for corrupt data
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
