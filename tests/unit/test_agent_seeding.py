"""What a new fetch starts from on this host, and which held versions it replaces (agent/seeding.py)."""

from __future__ import annotations

from pathlib import Path

from salt_p2pdist.agent import seeding
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import delta, lifecycle
from salt_p2pdist.torrent.metainfo import TorrentMeta


def held(dist_id: str, dest: Path, files: list[tuple[str, int, str]], *, name: str = "site",
         phase: str = lifecycle.PLACED) -> Transfer:
    meta = TorrentMeta(dist_id=dist_id, info_hash="0" * 64, name=name, torrent_name=name,
                       files=tuple(files), total_size=sum(s for _, s, _ in files), piece_size=65536,
                       num_pieces=len(files), single_file=False, wrapped=True, tracker="")
    record = OrderRecord(dist_id=dist_id, mode="fetch", torrent="", phase=phase, save_path="",
                         name=name, dest=str(dest))
    return Transfer(record=record, meta=meta, handle=None)


def place(dest: Path, rel: str, size: int) -> None:
    (dest / rel).parent.mkdir(parents=True, exist_ok=True)
    (dest / rel).write_bytes(b"x" * size)


def test_the_version_placed_at_the_same_dest_is_the_older_one_and_its_files_are_replaceable(
        tmp_path: Path) -> None:
    dest, other = tmp_path / "dest", tmp_path / "other"
    v1 = held("1" * 16, dest, [("a.bin", 10, "r1"), ("b.bin", 10, "r2"), ("gone.bin", 10, "r3")])
    elsewhere = held("2" * 16, other, [("a.bin", 10, "r1")])
    unrelated = held("3" * 16, dest, [("x.bin", 10, "rx")], name="x")
    staging = held("4" * 16, dest, [("a.bin", 10, "r9")], phase=lifecycle.STAGING)
    new = [("site/a.bin", 10, "r1"), ("site/b.bin", 12, "r4"), ("site/c.bin", 5, "r5")]
    transfers = [v1, elsewhere, unrelated, staging]
    assert seeding.older_versions(dest, new, transfers) == [v1]
    assert seeding.replaceable(dest, new, transfers) == frozenset({"site/a.bin", "site/b.bin"})
    assert seeding.older_versions(tmp_path / "third", new, transfers) == []
    # A version still downloading to the same paths was ordered before: older too, once placed.
    assert seeding.older_versions(dest, new, transfers, placed_only=False) == [v1, staging]


def test_seeds_come_from_dest_then_from_another_held_copy(tmp_path: Path) -> None:
    dest, other = tmp_path / "dest", tmp_path / "other"
    place(dest, "site/b.bin", 10)
    place(other, "site/c.bin", 6)
    place(other, "site/a.bin", 10)
    elsewhere = held("2" * 16, other, [("a.bin", 10, "r1"), ("c.bin", 6, "r-old")])
    new = [("site/a.bin", 10, "r1"), ("site/b.bin", 12, "r4"), ("site/c.bin", 5, "r5"),
           ("site/d.bin", 5, "r6")]
    seeds = {s.rel: s for s in seeding.choose(dest, new, [elsewhere])}
    assert seeds == {
        "site/a.bin": delta.Seed("site/a.bin", str(other / "site/a.bin"), 10, delta.SAME),
        "site/b.bin": delta.Seed("site/b.bin", str(dest / "site/b.bin"), 10, delta.OLDER),
        "site/c.bin": delta.Seed("site/c.bin", str(other / "site/c.bin"), 5, delta.OLDER)}


def test_a_symlink_or_a_directory_at_dest_seeds_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    place(tmp_path, "target.bin", 10)
    (dest / "site").mkdir(parents=True)
    (dest / "site" / "a.bin").symlink_to(tmp_path / "target.bin")
    (dest / "site" / "b.bin").mkdir()
    assert seeding.choose(dest, [("site/a.bin", 10, "r"), ("site/b.bin", 10, "r")], []) == []


def test_a_quiet_older_version_at_dest_is_replaceable_like_a_seeding_one(tmp_path: Path) -> None:
    """A version whose swarm went quiet holds no torrent, only its record: it is still the
    older version at dest, so a new one replaces its files without force and seeds from them."""
    import base64

    from salt_p2pdist.torrent import creation

    src = tmp_path / "src" / "app"
    place(src, "a.bin", 20)
    torrent = creation.create(src, "http://127.0.0.1:9/announce")
    dest = tmp_path / "dest"
    place(dest / "app", "a.bin", 20)
    quiet = OrderRecord(dist_id="5" * 16, mode="fetch", torrent=base64.b64encode(torrent).decode(),
                        phase=lifecycle.QUIET, save_path="", name="app", dest=str(dest))
    (copy,) = seeding.quiet_copies([quiet])
    new = [("app/a.bin", 24, "r-new")]
    assert copy.files[0][0] == "app/a.bin" and copy.dist_id == quiet.dist_id
    assert seeding.older_versions(dest, new, [copy]) == [copy]
    assert seeding.replaceable(dest, new, [copy]) == frozenset({"app/a.bin"})
    assert [s.rel for s in seeding.choose(dest, new, [copy])] == ["app/a.bin"]
