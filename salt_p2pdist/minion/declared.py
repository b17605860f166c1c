"""The states ``p2pdist.present`` / ``p2pdist.absent``: content declared on (or off) this minion.

The state only fetches what the master already distributes (R1), on minions
the push admitted; it goes through the execution module (:class:`StateSalt`),
exactly as an order from ``salt-run p2pdist.push`` does.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from salt_p2pdist.core import admission, destpaths, lifecycle, names
from salt_p2pdist.core.errors import Conflict, Forbidden, P2PDistError
from salt_p2pdist.minion.host import Minion
from salt_p2pdist.torrent import placement
from salt_p2pdist.torrent.metainfo import describe
from salt_p2pdist.torrent.signature import admitted, check_torrent


class StateSalt(Protocol):
    """The Salt functions the states call: the file client and p2pdist's execution module."""

    def cache_file(self, url: str) -> str: ...

    def held(self, dist_id: str = "") -> dict[str, Any]: ...

    def fetch(self, torrent: bytes, dest: str, force: bool) -> dict[str, Any]: ...

    def remove(self, dist_id: str) -> None: ...

    def refused(self, dist_id: str, route: str, reason: str) -> None: ...


class StateCalls:
    """:class:`StateSalt` through the loader's ``__salt__``."""

    def __init__(self, salt: Mapping[str, Callable[..., Any]]):
        self.salt = salt

    def cache_file(self, url: str) -> str:
        return str(self.salt["cp.cache_file"](url) or "")

    def held(self, dist_id: str = "") -> dict[str, Any]:
        return dict(self.salt["p2pdist.status"](dist_id) if dist_id else self.salt["p2pdist.status"]())

    def fetch(self, torrent: bytes, dest: str, force: bool) -> dict[str, Any]:
        return dict(self.salt["p2pdist.fetch"](torrent=base64.b64encode(torrent).decode(), dest=dest,
                                               force=force))

    def remove(self, dist_id: str) -> None:
        self.salt["p2pdist.remove"](dist_id, purge=True)

    def refused(self, dist_id: str, route: str, reason: str) -> None:
        self.salt["p2pdist.refused"](dist_id, route, reason)


def _ret(name: str, result: bool | None, comment: str, changes: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    return {"name": name, "result": result, "comment": comment, "changes": changes or {}}


def _load(salt: StateSalt, torrent: str) -> bytes:
    cached = salt.cache_file(torrent)
    if not cached:
        raise P2PDistError(f"cannot fetch {torrent} from the master; has it been pushed "
                           "(salt-run p2pdist.push) and is its directory in file_roots?")
    return Path(cached).read_bytes()


def present(minion: Minion, salt: StateSalt, name: str, torrent: str, dest: str, force: bool,
            timeout: int) -> dict[str, Any]:
    try:
        data = _load(salt, torrent)
        meta = describe(data)
        # Before anything else (also with test=True): only the master's
        # torrents, and only if the master admitted this minion.
        check_torrent(data, minion.master_key())
        try:
            admission.check(minion.id, admitted(data), meta.dist_id)
        except Forbidden as exc:
            salt.refused(meta.dist_id, "p2pdist.present", str(exc))
            raise
        local_dest = Path(minion.settings().resolve_dest(destpaths.for_host(dest, names.local_flavor())))
        verdict = _destination(salt, meta.name, local_dest, placement.dest_files(meta), force)
    except P2PDistError as exc:
        return _ret(name, False, str(exc))
    if verdict == placement.IDENTICAL and meta.dist_id in salt.held():
        return _ret(name, True, f"{meta.name} is at {dest}, verified, and shared")
    if minion.opts.get("test"):
        what = "share the verified copy at" if verdict == placement.IDENTICAL else "fetch into"
        return _ret(name, None, f"would {what} {dest} ({meta.total_size} bytes, {meta.dist_id})",
                    {"fetch": meta.dist_id})
    ret = salt.fetch(data, dest, force)
    if not ret.get("result"):
        return _ret(name, False, f"fetch refused: {ret.get('error')}")
    state = _wait(salt, meta.dist_id, timeout)
    if not lifecycle.is_complete(state.get("state", "")):
        return _ret(name, False, f"{meta.dist_id} ended {state.get('state')}: {state.get('error')}")
    action = "verified existing copy" if verdict == placement.IDENTICAL else "fetched"
    return _ret(name, True, f"{action} {meta.dist_id} into {dest}",
                {"dist_id": meta.dist_id, "dest": dest, "bytes": meta.total_size})


def _destination(salt: StateSalt, name: str, dest: Path, files: list[placement.FileEntry],
                 force: bool) -> str:
    """The verdict on dest; files an older version held here placed are no conflict: the
    agent, which knows that version's files, replaces them (or refuses, naming the others)."""
    try:
        return placement.check_destination(dest, files, force=force)
    except Conflict:
        if not any(h.get("name") == name and h.get("dest") and Path(h["dest"]) == dest
                   and lifecycle.is_complete(h.get("state", "")) for h in salt.held().values()):
            raise
        return placement.REPLACE


def _wait(salt: StateSalt, dist_id: str, timeout: int) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        st = salt.held(dist_id)
        if st.get("state") in lifecycle.TERMINAL_STATES or time.monotonic() > deadline:
            return st
        time.sleep(1)


def absent(minion: Minion, salt: StateSalt, name: str, torrent: str, dest: str) -> dict[str, Any]:
    try:
        meta = describe(_load(salt, torrent))
        files = placement.dest_files(meta)
        local_dest = Path(minion.settings().resolve_dest(destpaths.for_host(dest, names.local_flavor())))
    except P2PDistError as exc:
        return _ret(name, False, str(exc))
    held = meta.dist_id in salt.held()
    there = [rel for rel, _s, _r in files if (local_dest / rel).exists()]
    if not held and not there:
        return _ret(name, True, f"{meta.dist_id} is not on this minion")
    if minion.opts.get("test"):
        return _ret(name, None, f"would remove {len(there)} file(s) of {meta.dist_id} from {dest}",
                    {"removed": there})
    if held:
        salt.remove(meta.dist_id)
    else:
        placement.remove_files(local_dest, [f for f in files if f[0] in there])
    return _ret(name, True, f"removed {meta.dist_id} from {dest}", {"removed": there})
