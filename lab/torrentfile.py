"""The info hash of a .torrent file, for the stock tracker's whitelist.

A minimal bencode walker: it only finds where the ``info`` value starts and
ends, because the info hash is the SHA-1 of exactly those bytes.
"""

from __future__ import annotations

import hashlib
from urllib.parse import quote_from_bytes


def _skip(data: bytes, i: int) -> int:
    """Index just past the bencoded value that starts at ``i``."""
    kind = data[i:i + 1]
    if kind == b"i":
        return data.index(b"e", i) + 1
    if kind in (b"l", b"d"):
        i += 1
        while data[i:i + 1] != b"e":
            i = _skip(data, i)
        return i + 1
    colon = data.index(b":", i)
    return colon + 1 + int(data[i:colon])


def info_hash(torrent: bytes) -> bytes:
    """SHA-1 of the bencoded ``info`` dict of a v1 torrent."""
    if torrent[:1] != b"d":
        raise ValueError("not a torrent: top level is not a dictionary")
    i = 1
    while torrent[i:i + 1] != b"e":
        key_end = _skip(torrent, i)
        key = torrent[torrent.index(b":", i) + 1:key_end]
        value_end = _skip(torrent, key_end)
        if key == b"info":
            return hashlib.sha1(torrent[key_end:value_end]).digest()
        i = value_end
    raise ValueError("not a torrent: no info dictionary")


def url_quote(raw: bytes) -> str:
    """Percent-encode raw bytes for a tracker URL (announce/scrape)."""
    return quote_from_bytes(raw, safe="")
