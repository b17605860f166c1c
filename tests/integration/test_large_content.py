"""Large content with real agents and libtorrent on loopback, in a closed swarm: a 512 MiB file
and a tree of 5,000 files, origin -> A, then A alone -> B.

Each copy is byte-identical to the source; every agent's RSS stays within
120 MB while it downloads or seeds (sampled every 0.2 s); the tree appears at
B's dest all at once (a watcher counting its files sees 0, then 5,000); a
push of it names its torrent in the order instead of carrying it. The full
size (4 GiB, 20,000 files) is ``make bench-large``.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import bigcontent
from lab.largerun import RSS_TARGET, LargeRun
from salt_p2pdist.master.orders import INLINE_TORRENT_MAX

MB = 1_000_000
FILE_BYTES, TREE_FILES = 512 << 20, 5_000


@pytest.fixture(scope="module")
def run() -> Iterator[LargeRun]:
    root = Path(tempfile.mkdtemp(prefix="p2pt-large-"))
    try:
        with LargeRun(root) as lab:
            yield lab
    finally:
        shutil.rmtree(root, ignore_errors=True)


def distribute(lab: LargeRun, kind: str, make: Any) -> dict[str, Any]:
    source = make(lab.root / "src" / kind)
    try:
        return lab.distribute(kind, source, timeout=120)
    finally:
        shutil.rmtree(lab.root / "src", ignore_errors=True)


def test_a_big_file_arrives_identical_within_the_memory_bound(run: LargeRun) -> None:
    r = distribute(run, "file", lambda p: bigcontent.make_file(p / "image.bin", FILE_BYTES))
    assert r["identical"] and r["bytes"] == FILE_BYTES
    assert r["agent_rss_peak_mb"] <= RSS_TARGET / MB, r["rss_peak_mb"]
    assert r["placed_atomically"], r["dest_counts_seen"]


def test_a_big_tree_appears_whole_and_identical_within_the_memory_bound(run: LargeRun) -> None:
    r = distribute(run, "tree", lambda p: bigcontent.make_tree(p / "tree", TREE_FILES))
    assert r["identical"] and r["files"] == TREE_FILES
    assert r["agent_rss_peak_mb"] <= RSS_TARGET / MB, r["rss_peak_mb"]
    assert r["dest_counts_seen"] == [0, TREE_FILES]  # never part of it
    # Too big for a Salt order: the order names it (info hash, digest, CA) in about 1 KB.
    assert r["torrent_bytes"] > INLINE_TORRENT_MAX
    assert r["order_bytes"]["msgpack"] < 2048, r["order_bytes"]
