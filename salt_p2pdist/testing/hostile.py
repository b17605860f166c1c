"""Hostile torrents for tests: real torrents with rewritten file names, signed anyway.

A master's key can sign anything; the minion must still refuse names that
climb out of ``dest``. These helpers rewrite the raw info dictionary the way
an attacker (or a buggy tool) would and sign the result exactly like
``signature.sign_torrent`` does, minus its name check.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from salt_p2pdist.torrent import swarmca
from salt_p2pdist.torrent.signature import ADMITTED_KEY, KEY, ROOTS_KEY


def rename(torrent: bytes, name: bytes | None = None,
           tree: dict[bytes, Any] | None = None) -> bytes:
    """``torrent`` with its info ``name`` and/or ``file tree`` replaced (a new info hash)."""
    import libtorrent as lt

    decoded: Any = lt.bdecode(torrent)
    info = decoded[b"info"]
    if name is not None:
        info[b"name"] = name
    if tree is not None:
        info[b"file tree"] = tree
    for key in (KEY, ROOTS_KEY):
        decoded.pop(key, None)
    return bytes(lt.bencode(decoded))


def leaves(tree: dict[bytes, Any]) -> list[dict[bytes, Any]]:
    """The file entries (``{b"": {...}}``) of a file tree, in order."""
    out = []
    for key, sub in tree.items():
        out += [{b"": sub}] if key == b"" else leaves(sub)
    return out


def sign_unchecked(torrent: bytes, master_key: Path, allowed_dest: list[str],
                   admitted: tuple[str, ...] = ("*",)) -> bytes:
    """Sign like the master does (every minion admitted by default), without looking at the names."""
    import libtorrent as lt

    decoded: Any = lt.bdecode(torrent)
    info_hash = hashlib.sha256(bytes(lt.bencode(decoded[b"info"]))).hexdigest()
    tracker = bytes(decoded.get(b"announce", b"")).decode()
    payload = (f"p2pdist-torrent\n{info_hash}\n{tracker}\n"
               f"{json.dumps(sorted(allowed_dest))}\n{json.dumps(sorted(admitted))}").encode()
    decoded[ROOTS_KEY] = [r.encode() for r in sorted(allowed_dest)]
    decoded[ADMITTED_KEY] = [m.encode() for m in sorted(admitted)]
    decoded[KEY] = swarmca.sign(master_key, payload).encode()
    return bytes(lt.bencode(decoded))
