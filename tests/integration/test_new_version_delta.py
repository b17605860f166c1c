"""A new version of a file or tree moves only what changed (real master, minions, libtorrent).

v1 is pushed to two minions; v2 (the same name, some regions or files
changed in place) is pushed to the same dest. Each minion starts v2's staging
from its v1 copy, libtorrent's check keeps the pieces that match, and only the
others are downloaded. Piece size: the push's automatic one, 64 KiB here (the
smallest: these payloads give at most 512 pieces at 64 KiB).
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import bigcontent
from salt_p2pdist.testing.deployment import Deployment, sha256, write_random
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.torrent.creation import piece_size_for

PIECE = 64 << 10
TARGETS = ("m1", "m2")


def set_policy(deployment: Deployment, minion: str, policy: dict[str, Any] | None) -> None:
    """Pillar ``p2pdist:policy`` for ``minion``; None clears it. The agent applies it at once."""
    root = Path(deployment.master_opts["pillar_roots"]["base"][0])
    top = {"base": {minion: ["p2pdist_policy"]}} if policy is not None else {"base": {}}
    (root / "top.sls").write_text(json.dumps(top))
    (root / "p2pdist_policy.sls").write_text(json.dumps({"p2pdist": {"policy": policy or {}}}))
    deployment.salt(minion, "saltutil.refresh_pillar", kwargs={"wait": True})
    deployment.salt_run("p2pdist.policy", minion)


@pytest.fixture
def m1_policy(deployment: Deployment) -> Iterator[None]:
    yield
    set_policy(deployment, "m1", None)  # other tests share these minions


def push(deployment: Deployment, path: Path, dest: str, *, wait: bool) -> dict[str, Any]:
    ret = deployment.salt_run("p2pdist.push", str(path), timeout=300, kwargs={
        "tgt": ",".join(TARGETS), "tgt_type": "list", "dest": dest, "wait": wait})
    assert sorted(ret["accepted"]) == sorted(TARGETS), ret
    return dict(ret)


def held(deployment: Deployment, minion: str) -> dict[str, Any]:
    return dict(deployment.salt(minion, "p2pdist.status", kwargs={"verbose": True})[minion])


def change_in_place(path: Path, regions: list[tuple[int, int]], seed: int) -> None:
    rng = random.Random(seed)
    with path.open("r+b") as fh:
        for offset, length in regions:
            fh.seek(offset)
            fh.write(rng.randbytes(length))


def pieces_touched(regions: list[tuple[int, int]]) -> int:
    return len({i for off, n in regions for i in range(off // PIECE, (off + n - 1) // PIECE + 1)})


def test_a_new_image_version_moves_only_its_changed_pieces(deployment: Deployment, srv: Path,
                                                           m1_policy: None) -> None:
    size = 8 << 20
    v1 = write_random(srv / "v1" / "disk.img", size, seed=71)
    v2 = srv / "v2" / "disk.img"
    v2.parent.mkdir()
    shutil.copyfile(v1, v2)
    # Three regions, 2 % of the image in all, at offsets no piece boundary matches.
    regions = [(1_000_003, 56_000), (4_500_017, 56_000), (7_300_001, 55_800)]
    change_in_place(v2, regions, seed=72)
    first = push(deployment, v1, "/opt/delta-img", wait=True)
    assert first["result"] is True, first
    # m1 downloads at 25 kB/s: v2's 6 pieces (384 KiB) take ~15 s, long enough to look at
    # dest even on a loaded host, where each salt call takes seconds (at 100 kB/s, once,
    # v2 was in place before the test read dest).
    set_policy(deployment, "m1", {"download_rate": 25_000})
    second = push(deployment, v2, "/opt/delta-img", wait=False)

    # m1 fetches v2 slowly: while it does, dest still holds v1, whole.
    placed = deployment.copy_at("m1", "/opt/delta-img", "disk.img")
    mid = wait_for("m1 downloading v2", lambda: (s := held(deployment, "m1").get(second["id"]))
                   and s["state"] == "downloading" and s, timeout=60)
    digest = sha256(placed)
    after = held(deployment, "m1").get(second["id"], {})
    assert digest == sha256(v1), (mid, after)  # (after: still downloading when dest was read?)
    assert mid["seeded"] == size and mid["reused"] == 0, mid  # started from v1's copy, not verified whole
    assert 0 < mid["bytes_done"] < size, mid

    done = deployment.salt_run("p2pdist.status", second["id"], kwargs={"watch": True, "timeout": 120})
    assert done["distribution"]["state"] == "complete", done["distribution"]
    allowance = pieces_touched(regions) * PIECE  # whole pieces move: 6 here (2 per region), 384 KiB
    for minion in TARGETS:
        assert sha256(deployment.copy_at(minion, "/opt/delta-img", "disk.img")) == sha256(v2)
        now = held(deployment, minion)
        downloaded = now[second["id"]]["downloaded"]
        print(f"{minion}: downloaded {downloaded} bytes of {size} for v2 "
              f"({downloaded / size:.2%}; changed {sum(n for _, n in regions) / size:.2%})")
        assert 0 < downloaded <= min(allowance, 0.05 * size), now[second["id"]]
        # v1 is gone from the agent (its file now holds v2), and the master hears so.
        assert first["id"] not in now and first["id"] in now[second["id"]]["replaced"], now
    answers: list[Any] = []

    def v1_removed_on_both() -> bool:
        # An answer without "minions" (seen once in a full CI run, not explained; kept in
        # the message) is read again, not taken for the master's last word.
        answers.append(deployment.salt_run("p2pdist.status", first["id"]))
        minions = answers[-1].get("minions") if isinstance(answers[-1], dict) else None
        return minions is not None and all(h["state"] == "removed" for h in minions.values())

    try:
        wait_for("the master sees v1 removed on both", v1_removed_on_both, timeout=30)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the master's answers: {answers[-3:]}") from exc


def test_a_new_tree_version_moves_only_its_changed_files(deployment: Deployment, srv: Path) -> None:
    tree = srv / "v1" / "site"
    for i in range(200):
        write_random(tree / f"d{i % 10}" / f"f{i:03d}.dat", 20_000 + i, seed=1000 + i)
    first = push(deployment, tree, "/opt/delta-tree", wait=True)
    assert first["result"] is True, first
    newer = srv / "v2" / "site"
    shutil.copytree(tree, newer)
    changed = ["d3/f013.dat", "d5/f105.dat", "d9/f199.dat"]
    for n, rel in enumerate(changed):
        change_in_place(newer / rel, [(5_000, 3_000)], seed=2000 + n)
    second = push(deployment, newer, "/opt/delta-tree", wait=True)
    assert second["result"] is True, second
    tree_size = sum(p.stat().st_size for p in newer.rglob("*") if p.is_file())
    for minion in TARGETS:
        at = deployment.copy_at(minion, "/opt/delta-tree", "site")
        assert {str(p.relative_to(at)): sha256(p) for p in at.rglob("*") if p.is_file()} == \
            {str(p.relative_to(newer)): sha256(p) for p in newer.rglob("*") if p.is_file()}
        status = held(deployment, minion)[second["id"]]
        print(f"{minion}: downloaded {status['downloaded']} bytes of {tree_size} for the tree's v2")
        # Each file is its own piece here (v2 torrents pad files to piece boundaries).
        assert 0 < status["downloaded"] <= len(changed) * PIECE, status
        assert status["reused"] == tree_size - sum((newer / rel).stat().st_size for rel in changed), status


def changed_pieces_bytes(size: int, regions: list[tuple[int, int]], piece: int) -> int:
    """The payload of the pieces of one file that ``regions`` touch. In a v2 torrent every file
    starts on a piece boundary and a piece holds one file's bytes only, so a file's last piece
    is as long as what is left of the file (a file smaller than a piece is one piece)."""
    touched = {i for off, n in regions for i in range(off // piece, (off + n - 1) // piece + 1)}
    return sum(min(piece, size - i * piece) for i in touched)


def test_a_tree_of_5000_files_with_20_changed_moves_only_those_files_pieces(deployment: Deployment,
                                                                               srv: Path) -> None:
    """The issue's target: a new version of a 5,000-file tree, 20 files changed in place."""
    tree = bigcontent.make_tree(srv / "v1" / "site", 5_000)  # 256 B to 16 KiB each, ~41 MB
    first = push(deployment, tree, "/opt/delta-5k", wait=True)
    assert first["result"] is True, first
    newer = srv / "v2" / "site"
    shutil.copytree(tree, newer)
    rels = sorted(str(p.relative_to(newer)) for p in newer.rglob("*") if p.is_file())
    changed = random.Random(5).sample(rels, 20)
    regions = {}
    for n, rel in enumerate(changed):  # 100 bytes (or what the file holds) a third of the way in
        size = (newer / rel).stat().st_size
        regions[rel] = [(size // 3, min(100, size - size // 3))]
        change_in_place(newer / rel, regions[rel], seed=3000 + n)
    second = push(deployment, newer, "/opt/delta-5k", wait=True)
    assert second["result"] is True, second

    tree_size = bigcontent.size_of(newer)
    piece = piece_size_for(tree_size)  # the push's piece size (torrent/creation.py)
    bound = sum(changed_pieces_bytes((newer / rel).stat().st_size, regions[rel], piece) for rel in changed)
    # libtorrent's end game may ask a second peer for a block already on its way: at most one
    # 16 KiB block per changed file counted twice. (Unchanged files are not downloaded at all:
    # ``reused`` below shows each was copied whole from v1, so the check found every piece.)
    limit = bound + len(changed) * (16 << 10)
    want = bigcontent.digests(newer)
    for minion in TARGETS:
        assert bigcontent.digests(deployment.copy_at(minion, "/opt/delta-5k", "site")) == want
        status = held(deployment, minion)[second["id"]]
        print(f"{minion}: downloaded {status['downloaded']} bytes for v2 of a {tree_size}-byte tree of "
              f"{len(rels)} files; bound {bound} (the pieces of the {len(changed)} changed files, "
              f"{piece // 1024} KiB pieces; limit with duplicate blocks {limit}); "
              f"seeded {status['seeded']}, reused {status['reused']}")
        assert 0 < status["downloaded"] <= limit, status
        # The 4,980 unchanged files came from v1's copies on this host, whole.
        assert status["reused"] == tree_size - sum((newer / rel).stat().st_size for rel in changed), status
