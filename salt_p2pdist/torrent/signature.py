"""The master's signature on every torrent it issues.

The master signs the v2 info hash and the tracker URL with its Salt key
(``master.pem``); minions check it with the key they already trust
(``minion_master.pub``) before fetching anything. A torrent from elsewhere, or
one whose metadata was edited (the info hash changes), is refused. The
signature sits outside the info dict, so it does not change the info hash.
It also covers the destination roots (``p2pdist:allowed_dest``) the master
allowed at push time, which the minion enforces on its own file system, and
the minions admitted to the distribution (admission.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.torrent import swarmca
from salt_p2pdist.torrent.metainfo import TorrentMeta, describe

KEY = b"p2pdist-signature"
ROOTS_KEY = b"p2pdist-allowed-dest"
ADMITTED_KEY = b"p2pdist-admitted"


def _payload(meta: TorrentMeta, allowed_dest: list[str], admitted: list[str]) -> bytes:
    roots = json.dumps(sorted(allowed_dest))
    return (f"p2pdist-torrent\n{meta.info_hash}\n{meta.tracker}\n{roots}\n"
            f"{json.dumps(sorted(admitted))}").encode()


def sign_torrent(torrent: bytes, master_key: Path, allowed_dest: list[str],
                 admitted: list[str]) -> bytes:
    """Add the master's signature, the destination roots and the admitted minions."""
    import libtorrent as lt

    decoded: Any = lt.bdecode(torrent)
    decoded[ROOTS_KEY] = [r.encode() for r in sorted(allowed_dest)]
    decoded[ADMITTED_KEY] = [m.encode() for m in sorted(admitted)]
    decoded[KEY] = swarmca.sign(master_key, _payload(describe(torrent), allowed_dest, admitted)).encode()
    return bytes(lt.bencode(decoded))


def admitted(torrent: bytes) -> list[str]:
    """The admitted minions a torrent names (check its signature first: check_torrent)."""
    import libtorrent as lt

    decoded: Any = lt.bdecode(torrent)
    decoded = decoded if isinstance(decoded, dict) else {}
    return [bytes(m).decode() for m in decoded.get(ADMITTED_KEY) or []]


def check_torrent(torrent: bytes, master_pub: Path) -> tuple[TorrentMeta, list[str]]:
    """The torrent's description and allowed roots if this minion's master signed it."""
    import libtorrent as lt

    meta = describe(torrent)
    decoded: Any = lt.bdecode(torrent)
    decoded = decoded if isinstance(decoded, dict) else {}
    signature = decoded.get(KEY)
    if not signature:
        raise InvalidRequest(f"torrent {meta.dist_id} is not signed by a p2pdist master: refused. "
                             "Distribute with salt-run p2pdist.push on this minion's master.")
    raw_roots = decoded.get(ROOTS_KEY) or []
    # Fields outside the info dict: anyone could have put anything there.
    malformed = InvalidRequest(f"torrent {meta.dist_id} has a malformed p2pdist signature or "
                               "allowed roots: refused, nothing written.")
    if not (isinstance(signature, bytes) and isinstance(raw_roots, list)
            and all(isinstance(r, bytes) for r in raw_roots)):
        raise malformed
    try:
        roots, text = [r.decode() for r in raw_roots], signature.decode()
    except UnicodeDecodeError as exc:
        raise malformed from exc
    if not swarmca.verify(master_pub.read_bytes(), _payload(meta, roots, admitted(torrent)), text):
        raise InvalidRequest(f"torrent {meta.dist_id} was not issued by this minion's master, or its "
                             "metadata was changed after signing: refused, nothing written.")
    return meta, roots
