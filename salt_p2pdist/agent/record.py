"""What the agent keeps about one distribution: its order record, typed.

The record is stored as ``dists/<id>/order.json`` (store.py) under the field
names agents have always written, so an upgraded agent resumes the state
directory of an older one. Only the state owner (book.py) changes a record.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from salt_p2pdist.core import lifecycle
from salt_p2pdist.core import priority as priority_rule


@dataclass
class OrderRecord:
    dist_id: str
    mode: str  # "fetch" or "seed"
    torrent: str  # the torrent file, base64
    phase: str  # lifecycle.AGENT_PHASES
    save_path: str  # where libtorrent finds the files (staging, dest or the source's folder)
    name: str = ""
    tracker: str = ""  # announce URL
    force: bool = False  # overwrite differing files at dest
    targets: list[str] = field(default_factory=list)
    upload_limit: int = 0  # bytes/s for this torrent, 0 for none
    sites: dict[str, Any] = field(default_factory=dict)  # the master's site map, as ordered
    site: str = ""  # this host's site, if the order names it
    order_id: str = ""  # the master's latest order; reports name it
    dest: str = ""  # fetches: where the files go
    reused: int = 0  # bytes taken from copies this host already held
    seeded: int = 0  # bytes copied into staging from held copies, identical or older versions
    supersedes: list[str] = field(default_factory=list)  # older versions at dest, retired once placed
    replaced: dict[str, str] = field(default_factory=dict)  # those retired: id -> their last order id
    tls_cert: str = ""  # this host's certificate for a closed swarm
    failed_bytes: int = 0  # data that failed its hash under earlier torrent handles
    ledger: dict[str, int] = field(default_factory=dict)  # bytes by source, kept across re-adds
    site_seen: str = ""  # the site connections showed this host in
    banned: list[str] = field(default_factory=list)  # peers libtorrent banned here (each blocked a while)
    # Quiet distributions: [path, size, mtime_ns] of each file at dest when it went quiet,
    # so waking checks the files only when they changed (quieting.py).
    dest_stamp: list[list[Any]] = field(default_factory=list)
    uploaded: int = 0  # all-time bytes served when it went quiet: a quiet one still reports them
    # urgent, normal or background (core/priority.py): as the master last ordered or told it.
    # Read it through level(); what holds a torrent back is the tracker's word (agent/priorities.py).
    priority: str = priority_rule.DEFAULT

    def level(self) -> str:
        """This distribution's priority level; an unknown stored value reads as normal."""
        return priority_rule.level_of(self.priority)

    @classmethod
    def from_json(cls, raw: Any) -> OrderRecord:
        """A record as read from order.json, of this or an older agent; ValueError if unusable."""
        if not isinstance(raw, dict):
            raise ValueError("an order record must be a JSON object")
        known = {f.name: f for f in dataclasses.fields(cls)}
        missing = [f.name for f in known.values()
                   if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                   and raw.get(f.name) in (None, "")]
        if missing:
            raise ValueError(f"order record {raw.get('dist_id', '?')} lacks {', '.join(missing)}")
        if raw["phase"] not in lifecycle.STORED_PHASES:  # "moving" is never stored
            raise ValueError(f"order record {raw['dist_id']} has an unknown phase {raw['phase']!r}")
        # Retired fields (and any this agent does not know) are left behind.
        record = cls(**{k: v for k, v in raw.items() if k in known and v is not None})
        record.force, record.upload_limit = bool(record.force), int(record.upload_limit or 0)
        record.reused, record.failed_bytes = int(record.reused or 0), int(record.failed_bytes or 0)
        record.seeded, record.uploaded = int(record.seeded or 0), int(record.uploaded or 0)
        return record

    def to_json(self) -> dict[str, Any]:
        """What order.json holds. A move cut short by a crash resumes from staging
        (the staged data is then checked again)."""
        raw = dataclasses.asdict(self)
        if self.phase == lifecycle.MOVING:
            raw["phase"] = lifecycle.STAGING
        if not self.dest_stamp:  # only quiet distributions have one
            del raw["dest_stamp"]
        return raw
