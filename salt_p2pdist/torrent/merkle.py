"""BEP 52 per-file Merkle roots computed with hashlib alone.

A v2 torrent names each file's content by its "pieces root": SHA-256 over
16 KiB blocks, the leaf count padded with zero hashes to a power of two, then
hashed pairwise up to one root. The root does not depend on piece size or file
name, so a host can tell whether a file it already has (at the destination, or
in its cache) is exactly the content a torrent describes, without libtorrent
and without touching the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from salt_p2pdist.files.prefixcopy import CopyStopped

BLOCK = 16 * 1024
_ZERO = bytes(32)
_ASK_EVERY = 64  # blocks (1 MiB) between two questions to ``go_on``


def pieces_root(path: Path, go_on: Callable[[int], bool] | None = None) -> str:
    """The hex v2 pieces root of the file at ``path`` (empty files have none: '').

    ``go_on(0)`` is asked every MiB; False stops the hashing (CopyStopped): a
    worker checking a file of several GiB must stop when told to.
    """
    leaves: list[bytes] = []
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            leaves.append(hashlib.sha256(block).digest())
            if go_on is not None and len(leaves) % _ASK_EVERY == 0 and not go_on(0):
                raise CopyStopped(str(path))
    if not leaves:
        return ""
    width = 1
    while width < len(leaves):
        width *= 2
    layer = leaves + [_ZERO] * (width - len(leaves))
    while len(layer) > 1:
        layer = [hashlib.sha256(layer[i] + layer[i + 1]).digest() for i in range(0, len(layer), 2)]
    return layer[0].hex()


def matches(path: Path, size: int, root: str, go_on: Callable[[int], bool] | None = None) -> bool:
    """True if ``path`` is a regular file holding exactly the content (size, root);
    ``go_on`` as for pieces_root."""
    try:
        if not path.is_file() or path.is_symlink() or path.stat().st_size != size:
            return False
    except OSError:
        return False
    # Empty files have no root (libtorrent reports all zeros): size alone decides.
    return size == 0 or pieces_root(path, go_on) == root
