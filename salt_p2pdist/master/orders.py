"""Checking a push before anything happens, and the order sent to each host."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

from salt_p2pdist.core import destpaths, names
from salt_p2pdist.core.errors import Conflict, InvalidRequest, NotFound
from salt_p2pdist.torrent.metainfo import TorrentMeta, swarm_ca

# A Salt job goes out whole to every minion the publisher reaches, and the job cache
# keeps it: a torrent above this size (a tree of ~150 files, a file of ~1 GiB and more:
# 32 bytes a piece, 512 pieces or more) is named by info hash and digest instead, and
# the minion fetches it from the master's tracker over TLS (minion/torrentref.py).
INLINE_TORRENT_MAX = 16 << 10


def check_dest(dest: Any, allowed: list[str] | None = None) -> str:
    """A normalised destination (or one per OS) under allowed roots, or InvalidRequest.

    Windows dests are checked with Windows rules, POSIX dests with POSIX
    rules, whatever the master runs (core/destpaths.py).
    """
    return destpaths.check_push_dest(dest, allowed)


def check_source(path: str) -> Path:
    """The pushed file or directory on the master, or a clear error."""
    if not path or not Path(path).is_absolute():
        raise InvalidRequest(f"the path to push must be absolute, got {path!r}")
    source = Path(path)
    if not source.exists():
        raise NotFound(f"{path} does not exist on the master")
    if not (source.is_file() or source.is_dir()):
        raise InvalidRequest(f"{path} is neither a regular file nor a directory")
    # Before anything is hashed: a name no host can hold would only be refused later.
    inside = ([p.relative_to(source.parent).parts for p in source.rglob("*")]
              if source.is_dir() else [])
    names.check_paths([(source.name,), *inside], names.POSIX)
    return source


def classify_answers(targets: list[str], returns: dict[str, Any]
                     ) -> tuple[list[str], dict[str, str], dict[str, str], set[str]]:
    """Minions' answers to an order: accepted, refused (with why), site grains, silent."""
    accepted: list[str] = []
    refused: dict[str, str] = {}
    grains: dict[str, str] = {}
    silent = set(targets) - set(returns)
    for minion, ret in returns.items():
        if isinstance(ret, dict) and ret.get("result"):
            accepted.append(minion)
            grains[minion] = str(ret.get("site") or "")
        elif isinstance(ret, dict):
            refused[minion] = str(ret.get("error"))
        elif not ret or str(ret).startswith("Minion did not return"):
            silent.add(minion)  # offline: it gets the order again when it starts
        else:  # e.g. "'p2pdist.fetch' is not available." (p2pdist not installed there)
            refused[minion] = str(ret)
    return accepted, refused, grains, silent


def fetch_order(meta: TorrentMeta, torrent: bytes, *, dest: str, force: bool,
                tracker: str, sites: dict[str, Any] | None = None, order_id: str = "",
                priority: str = "", report_every: int = 0) -> dict[str, Any]:
    """What a minion's ``p2pdist.fetch`` receives (over Salt's encrypted channel).

    The signed torrent itself, or for one above INLINE_TORRENT_MAX a
    reference: its info hash, the SHA-256 of its bytes (the minion fetches it
    and checks both, then the master's signature in it, as for an inline one),
    and the swarm CA to check the tracker's certificate with. ``priority``: the
    distribution's level (core/priority.py), kept in the agent's record. ``report_every``:
    the heartbeat of the minion's reports (0: its own ``report_interval``).
    """
    if len(torrent) <= INLINE_TORRENT_MAX:
        carried: dict[str, Any] = {"torrent": base64.b64encode(torrent).decode()}
    else:
        carried = {"torrent_ref": {"info_hash": meta.info_hash, "sha256": hashlib.sha256(torrent).hexdigest(),
                                   "bytes": len(torrent), "ca": swarm_ca(torrent)}}
    return {"dist_id": meta.dist_id, **carried,
            "dest": dest, "force": force, "tracker": tracker, "sites": sites or {},
            **({"order_id": order_id} if order_id else {}),
            **({"priority": priority} if priority else {}), "report_every": report_every}


def check_same_dest(existing: dict[str, Any] | None, dest: str) -> None:
    """The same content goes to one dest at a time: refuse another while it is distributed.

    Checked before anything is recorded or ordered, so a refused push
    changes nothing. After a cancel the content may go elsewhere.
    """
    if existing is None or existing.get("cancelled") or existing["dest"] == dest:
        return
    raise Conflict(f"this content is already distribution {existing['id']} with dest "
                   f"{existing['dest']}; push it with dest={existing['dest']}, or cancel it first "
                   f"(salt-run p2pdist.cancel {existing['id']}, purge=True to delete the copies) "
                   f"to send it to {dest}")

