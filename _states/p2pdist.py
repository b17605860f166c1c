"""States: declare that a distribution's content is (or is not) on a minion.

.. code-block:: yaml

    app-2.3:
      p2pdist.present:
        - torrent: salt://p2pdist/3f9a0c1d2e4b5a69/app-2.3.tar.torrent  # printed by the push
        - dest: /opt/dist        # on Windows minions: C:\\dist; or {windows: ..., posix: ...}

    old-app:
      p2pdist.absent:
        - torrent: salt://p2pdist/0b1c2d3e4f5a6b7c/app-2.2.tar.torrent
        - dest: /opt/dist

The content is moved peer to peer exactly as with ``salt-run p2pdist.push``;
the state only fetches what the master already distributes (R1), on minions
the push admitted: its targets and those its ``allow=`` expression matched.
"""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

__virtualname__ = "p2pdist"

try:
    from salt_p2pdist.core import admission, destpaths, lifecycle, names
    from salt_p2pdist.core.config import MinionSettings
    from salt_p2pdist.core.errors import Forbidden, P2PDistError
    from salt_p2pdist.torrent import placement
    from salt_p2pdist.torrent.metainfo import describe
    from salt_p2pdist.torrent.signature import admitted, check_torrent

    HAS_LIBS = True
except ImportError:  # pragma: no cover
    HAS_LIBS = False


def __virtual__():  # type: ignore[no-untyped-def]
    if not HAS_LIBS:
        return False, "p2pdist: install the salt-p2pdist package on this minion"
    return __virtualname__


def _load(torrent: str) -> bytes:
    cached = __salt__["cp.cache_file"](torrent)
    if not cached:
        raise P2PDistError(f"cannot fetch {torrent} from the master; has it been pushed "
                           "(salt-run p2pdist.push) and is its directory in file_roots?")
    return Path(cached).read_bytes()


def _local_dest(dest: Any) -> Path:
    """This minion's dest: a Windows path on Windows, or its entry of a dest per OS."""
    return Path(MinionSettings.from_opts(__opts__).resolve_dest(
        destpaths.for_host(dest, names.local_flavor())))


def _ret(name: str, result: bool | None, comment: str, changes: dict[str, Any] | None = None
         ) -> dict[str, Any]:
    return {"name": name, "result": result, "comment": comment, "changes": changes or {}}


def present(name: str, torrent: str, dest: str, force: bool = False, timeout: int = 3600
            ) -> dict[str, Any]:
    """
    Ensure the content described by ``torrent`` is complete and verified at
    ``dest``/<name of the content>, fetched peer to peer if needed.
    """
    try:
        data = _load(torrent)
        meta = describe(data)
        # Before anything else (also with test=True): only the master's
        # torrents, and only if the master admitted this minion.
        check_torrent(data, Path(__opts__["pki_dir"]) / "minion_master.pub")
        try:
            admission.check(__opts__["id"], admitted(data), meta.dist_id)
        except Forbidden as exc:
            __salt__["p2pdist.refused"](meta.dist_id, "p2pdist.present", str(exc))
            raise
        files = placement.dest_files(meta)
        local_dest = _local_dest(dest)
        verdict = placement.check_destination(local_dest, files, force=force)
    except P2PDistError as exc:
        return _ret(name, False, str(exc))
    held = __salt__["p2pdist.status"]()
    if verdict == placement.IDENTICAL and meta.dist_id in held:
        return _ret(name, True, f"{meta.name} is at {dest}, verified, and shared")
    if __opts__.get("test"):
        what = "share the verified copy at" if verdict == placement.IDENTICAL else "fetch into"
        return _ret(name, None, f"would {what} {dest} ({meta.total_size} bytes, {meta.dist_id})",
                    {"fetch": meta.dist_id})
    ret = __salt__["p2pdist.fetch"](torrent=base64.b64encode(data).decode(), dest=dest,
                                    force=force)
    if not ret.get("result"):
        return _ret(name, False, f"fetch refused: {ret.get('error')}")
    state = _wait(meta.dist_id, timeout)
    if not lifecycle.is_complete(state.get("state", "")):
        return _ret(name, False, f"{meta.dist_id} ended {state.get('state')}: {state.get('error')}")
    action = "verified existing copy" if verdict == placement.IDENTICAL else "fetched"
    return _ret(name, True, f"{action} {meta.dist_id} into {dest}",
                {"dist_id": meta.dist_id, "dest": dest, "bytes": meta.total_size})


def _wait(dist_id: str, timeout: int) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        st = __salt__["p2pdist.status"](dist_id)
        if st.get("state") in lifecycle.TERMINAL_STATES or time.monotonic() > deadline:
            return dict(st)
        time.sleep(1)


def absent(name: str, torrent: str, dest: str) -> dict[str, Any]:
    """Ensure the content of ``torrent`` is not at ``dest`` and no longer shared."""
    try:
        meta = describe(_load(torrent))
        files = placement.dest_files(meta)
        local_dest = _local_dest(dest)
    except P2PDistError as exc:
        return _ret(name, False, str(exc))
    held = meta.dist_id in __salt__["p2pdist.status"]()
    there = [rel for rel, _s, _r in files if (local_dest / rel).exists()]
    if not held and not there:
        return _ret(name, True, f"{meta.dist_id} is not on this minion")
    if __opts__.get("test"):
        return _ret(name, None, f"would remove {len(there)} file(s) of {meta.dist_id} from {dest}",
                    {"removed": there})
    if held:
        __salt__["p2pdist.remove"](meta.dist_id, purge=True)
    else:
        placement.remove_files(local_dest, [f for f in files if f[0] in there])
    return _ret(name, True, f"removed {meta.dist_id} from {dest}", {"removed": there})
