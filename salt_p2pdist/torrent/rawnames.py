"""A torrent's file names exactly as its bytes spell them (no libtorrent).

libtorrent quietly turns ``..`` into ``_`` and drops leading slashes, which
would hide an attack: names are read from the bencoded bytes themselves and
checked (:mod:`salt_p2pdist.core.names`) before libtorrent sees them.
"""

from __future__ import annotations

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.torrent.bencode import BencodeError, bdecode


def raw_paths(torrent: bytes) -> list[list[str]]:
    """Every file path as the torrent spells it: its name, then each path below it.

    Read from the bencoded bytes themselves: libtorrent quietly turns ``..``
    into ``_`` and drops leading slashes, which would hide an attack.
    """
    try:
        top = bdecode(torrent)
    except BencodeError as exc:
        raise InvalidRequest(f"not a valid torrent: {exc}") from exc
    info = top.get(b"info") if isinstance(top, dict) else None
    if not isinstance(info, dict) or not isinstance(info.get(b"name"), bytes):
        raise InvalidRequest("not a valid torrent: no info dictionary with a name")
    root = _text(info[b"name"])
    paths = [[root]]
    tree = info.get(b"file tree")
    if isinstance(tree, dict):
        paths += [[root, *p] for p in _tree_paths(tree, [], 0)]
    for entry in info.get(b"files") or []:  # v1 or hybrid layout
        path = entry.get(b"path") if isinstance(entry, dict) else None
        if not isinstance(path, list) or not all(isinstance(e, bytes) for e in path):
            raise InvalidRequest("not a valid torrent: a file entry without a path list")
        paths.append([root, *map(_text, path)])
    return paths


def _tree_paths(tree: dict[bytes, object], above: list[str], depth: int) -> list[list[str]]:
    out = []
    for key, sub in tree.items():
        if key == b"":  # the file's own entry (length, pieces root)
            out.append(above)
            continue
        if not isinstance(sub, dict) or depth > 32:
            raise InvalidRequest("not a valid torrent: malformed file tree")
        out += _tree_paths(sub, [*above, _text(key)], depth + 1)
    return [p for p in out if p]


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(f"refused: torrent path element {raw[:40]!r} is not UTF-8") from exc
