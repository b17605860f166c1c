"""Which file already on a host seeds which file of a new distribution.

A new version of a file or tree mostly repeats the old one. Before its
torrent is added, the agent copies an older file into staging for each new
file it can guess the old version of; libtorrent's check pass then keeps
every piece that hashes right and downloads only the others. A wrong guess
costs a local copy, never correctness: every piece is verified.

Pure choice, no file I/O: the agent lists what it holds (agent/seeding.py).
Per new file, the first that applies:

1. a held file with the same pieces root (the same content, maybe another
   name): copied whole and counted as ``reused``;
2. the file at the same path under dest (the old version in place);
3. a file at the same path (name included) in another distribution this host
   holds placed, e.g. the previous version sent to another dest.

Candidates by path must be close in size (``close_in_size``): an unrelated
file that happens to share a name would only cost a copy, a much smaller or
larger one is not worth copying. Only the first ``min(old, new)`` bytes are
copied, so staging never holds more than the new file's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SAME: Final = "same"  # identical content (same pieces root)
OLDER: Final = "older"  # likely an older version: libtorrent keeps the pieces that match

# An old version between half and twice the new size is worth a copy.
MIN_RATIO: Final = 0.5
MAX_RATIO: Final = 2.0

NewFile = tuple[str, int, str]  # (path relative to dest, size, pieces root)
OldFile = tuple[str, int]  # (where it is, as the agent names it; its size)


@dataclass(frozen=True)
class Seed:
    """Copy ``length`` bytes of ``source`` to staging as the new file ``rel``."""

    rel: str
    source: str
    length: int
    kind: str  # SAME or OLDER


def close_in_size(old: int, new: int) -> bool:
    """True if a file of ``old`` bytes is plausibly an earlier version of one of ``new`` bytes."""
    return old > 0 and new > 0 and MIN_RATIO * new <= old <= MAX_RATIO * new


def choose_seeds(files: list[NewFile], same_root: dict[str, str],
                 at_dest: dict[str, OldFile], held_by_path: dict[str, OldFile]) -> list[Seed]:
    """One Seed per new file that has a useful old copy, in ``files`` order.

    ``same_root``: pieces root -> a held file with that content (already
    verified by the caller or to be verified before copying). ``at_dest``:
    path relative to dest -> the regular file there. ``held_by_path``: path
    relative to dest -> a file at that relative path of another held distribution.
    Empty files need no seed.
    """
    seeds = []
    for rel, size, root in files:
        if size == 0:
            continue
        if root and root in same_root:
            seeds.append(Seed(rel, same_root[root], size, SAME))
            continue
        for candidate in (at_dest.get(rel), held_by_path.get(rel)):
            if candidate is not None and close_in_size(candidate[1], size):
                seeds.append(Seed(rel, candidate[0], min(candidate[1], size), OLDER))
                break
    return seeds
