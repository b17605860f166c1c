from __future__ import annotations

import os
from pathlib import Path

import pytest

from salt_p2pdist.core import delta
from salt_p2pdist.core.delta import Seed
from salt_p2pdist.core.errors import Conflict, InvalidRequest
from salt_p2pdist.torrent import merkle
from salt_p2pdist.torrent.metainfo import TorrentMeta
from salt_p2pdist.torrent.placement import (
    ABSENT,
    IDENTICAL,
    REPLACE,
    base_of,
    check_destination,
    dest_files,
    place,
    remove_files,
    save_path,
)
from salt_p2pdist.torrent.reuse import Tally, seed_staging


def meta(files, *, name="pkg", torrent_name=None, single_file=False, wrapped=None) -> TorrentMeta:
    return TorrentMeta(dist_id="0" * 16, info_hash="0" * 64, name=name,
                       torrent_name=torrent_name or name, files=tuple(files),
                       total_size=sum(s for _, s, _ in files), piece_size=16384, num_pieces=1,
                       single_file=single_file,
                       wrapped=single_file and name != (torrent_name or name) if wrapped is None
                       else wrapped, tracker="")


@pytest.fixture
def staged(tmp_path, write_file):
    """A verified distribution in staging: (staging dir, file entries)."""
    staging = tmp_path / "staging"
    rels = {"pkg/a.bin": 20000, "pkg/sub/b.bin": 100, "pkg/sub/deep/c.bin": 1}
    files = []
    for i, (rel, size) in enumerate(rels.items()):
        p = write_file(staging / rel, size, seed=i)
        files.append((rel, size, merkle.pieces_root(p)))
    return staging, files


def copy_to(files, src: Path, dst: Path) -> None:
    for rel, _, _ in files:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        (dst / rel).write_bytes((src / rel).read_bytes())


# -- dest_files ---------------------------------------------------------

def test_dest_files_plain():
    files = [("pkg/a", 1, "r1"), ("pkg/b/c", 2, "r2")]
    assert dest_files(meta(files)) == files


def test_dest_files_puts_a_one_file_directory_back():
    m = meta([("f.bin", 5, "r")], name="dir", torrent_name="f.bin", single_file=True)
    assert dest_files(m) == [("dir/f.bin", 5, "r")]
    assert save_path(Path("/base"), m) == Path("/base/dir")
    plain = meta([("f.bin", 5, "r")], name="f.bin", single_file=True)
    assert dest_files(plain) == [("f.bin", 5, "r")]
    assert save_path(Path("/base"), plain) == Path("/base")
    # And back: where the layout lies, from where libtorrent finds the files (a seed's record).
    assert base_of(save_path(Path("/base"), m), m) == Path("/base")
    assert base_of(save_path(Path("/base"), plain), plain) == Path("/base")


@pytest.mark.parametrize("path", ["../evil", "pkg/../../evil", "pkg/../x", "/etc/passwd", ""])
def test_dest_files_refuses_escaping_paths(path):
    with pytest.raises(InvalidRequest, match="escapes the destination"):
        dest_files(meta([("pkg/ok", 1, "r"), (path, 1, "r")]))


def test_dest_files_refuses_an_escaping_name():
    m = meta([("f", 1, "r")], name="..", torrent_name="f", single_file=True)
    with pytest.raises(InvalidRequest):
        dest_files(m)


# -- check_destination --------------------------------------------------

def test_absent(tmp_path, staged):
    _, files = staged
    assert check_destination(tmp_path / "dest", files, force=False) == ABSENT


def test_identical(tmp_path, staged):
    staging, files = staged
    dest = tmp_path / "dest"
    copy_to(files, staging, dest)
    assert check_destination(dest, files, force=False) == IDENTICAL
    assert check_destination(dest, files, force=True) == IDENTICAL


def test_partly_there_and_identical_is_absent(tmp_path, staged):
    staging, files = staged
    dest = tmp_path / "dest"
    copy_to(files[:1], staging, dest)
    assert check_destination(dest, files, force=False) == ABSENT


def test_unrelated_file_is_a_conflict_unless_forced(tmp_path, staged):
    staging, files = staged
    dest = tmp_path / "dest"
    copy_to(files, staging, dest)
    (dest / "pkg/sub/b.bin").write_bytes(b"local edit")
    with pytest.raises(Conflict, match=r"pkg/sub/b\.bin") as exc:
        check_destination(dest, files, force=False)
    assert "a.bin" not in str(exc.value)
    assert check_destination(dest, files, force=True) == REPLACE


def test_symlink_to_the_same_content_is_not_identical(tmp_path, staged):
    staging, files = staged
    dest = tmp_path / "dest"
    copy_to(files, staging, dest)
    target = dest / files[0][0]
    target.unlink()
    os.symlink(staging / files[0][0], target)
    with pytest.raises(Conflict):
        check_destination(dest, files, force=False)
    assert check_destination(dest, files, force=True) == REPLACE


def test_directory_in_the_way_is_a_conflict_even_forced(tmp_path, staged):
    _, files = staged
    dest = tmp_path / "dest"
    (dest / "pkg/a.bin").mkdir(parents=True)
    for force in (False, True):
        with pytest.raises(Conflict, match="is a directory"):
            check_destination(dest, files, force=force)


def test_file_in_the_way_of_a_directory_is_a_conflict(tmp_path, staged):
    _, files = staged
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "pkg").write_bytes(b"a file named like the pushed directory")
    for force in (False, True):
        with pytest.raises(Conflict, match="pkg is a file"):
            check_destination(dest, files, force=force)
    (dest / "pkg").unlink()
    (dest / "pkg").mkdir()
    (dest / "pkg" / "sub").write_bytes(b"x")
    with pytest.raises(Conflict, match="sub is a file"):
        check_destination(dest, files, force=True)


def test_many_conflicts_are_abbreviated(tmp_path):
    dest = tmp_path / "dest"
    files = []
    for i in range(5):
        (dest / f"f{i}").parent.mkdir(parents=True, exist_ok=True)
        (dest / f"f{i}").write_bytes(b"old")
        files.append((f"f{i}", 3, "0" * 64))
    with pytest.raises(Conflict, match=r"f2 \.\.\.") as exc:
        check_destination(dest, files, force=False)
    assert "f3" not in str(exc.value)


# -- place ----------------------------------------------------------------

def test_place_moves_everything_and_drops_staging(tmp_path, staged):
    staging, files = staged
    contents = {rel: (staging / rel).read_bytes() for rel, _, _ in files}
    dest = tmp_path / "dest"
    place(staging, dest, files, force=False)
    assert {rel: (dest / rel).read_bytes() for rel, _, _ in files} == contents
    assert not staging.exists()
    assert check_destination(dest, files, force=False) == IDENTICAL
    assert not list(dest.rglob("*p2pdist-partial*"))


def test_place_leaves_an_identical_existing_file_untouched(tmp_path, staged):
    staging, files = staged
    dest = tmp_path / "dest"
    copy_to(files[:1], staging, dest)
    existing = dest / files[0][0]
    before = existing.stat()
    place(staging, dest, files, force=False)
    after = existing.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert check_destination(dest, files, force=False) == IDENTICAL


def test_place_replaces_only_when_forced_and_refuses_before_moving(tmp_path, staged):
    staging, files = staged
    dest = tmp_path / "dest"
    (dest / "pkg").mkdir(parents=True)
    (dest / "pkg/a.bin").write_bytes(b"mine")
    with pytest.raises(Conflict):
        place(staging, dest, files, force=False)
    assert (dest / "pkg/a.bin").read_bytes() == b"mine"
    assert all((staging / rel).is_file() for rel, _, _ in files)  # nothing moved
    assert not (dest / "pkg/sub").exists()

    place(staging, dest, files, force=True)
    assert check_destination(dest, files, force=False) == IDENTICAL


def test_place_across_filesystems(tmp_path, write_file):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a staging area on another filesystem")
    staging = shm / f"p2pdist-test-{os.getpid()}-{tmp_path.name}"
    try:
        p = write_file(staging / "pkg" / "f", 5000)
        files = [("pkg/f", 5000, merkle.pieces_root(p))]
        data = p.read_bytes()
        place(staging, tmp_path / "dest", files, force=False)
        assert (tmp_path / "dest/pkg/f").read_bytes() == data
        assert not staging.exists()
        assert [x.name for x in (tmp_path / "dest/pkg").iterdir()] == ["f"]  # no partial left
    finally:
        import shutil
        shutil.rmtree(staging, ignore_errors=True)


# -- remove_files ---------------------------------------------------------

def test_remove_files_removes_emptied_dirs_but_not_dest(tmp_path, staged):
    staging, files = staged
    dest = tmp_path / "dest"
    place(staging, dest, files, force=False)
    remove_files(dest, files)
    assert dest.is_dir()
    assert list(dest.iterdir()) == []
    remove_files(dest, files)  # idempotent


def test_remove_files_keeps_what_is_not_ours(tmp_path, staged):
    staging, files = staged
    dest = tmp_path / "dest"
    place(staging, dest, files, force=False)
    (dest / "pkg/sub/notes.txt").write_text("mine")
    (dest / "other").write_text("mine too")
    remove_files(dest, files)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == [
        "other", "pkg", "pkg/sub", "pkg/sub/notes.txt"]


def test_remove_top_level_file_keeps_dest(tmp_path):
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "f").write_bytes(b"x")
    remove_files(dest, [("f", 1, "r")])
    assert dest.is_dir() and not (dest / "f").exists()


# -- seed_staging: reuse what the host already holds --------------------------

def same(files, old):
    return [Seed(rel, str(old / rel), size, delta.SAME) for rel, size, _ in files]


def test_seed_staging_copies_held_files_with_the_same_root(tmp_path, staged):
    old, files = staged  # files an earlier distribution left on the host
    new_staging = tmp_path / "new"
    total = sum(size for _, size, _ in files)
    assert seed_staging(new_staging, files, same(files, old)) == Tally(total, total)
    for rel, _, _ in files:
        assert (new_staging / rel).read_bytes() == (old / rel).read_bytes()
        assert os.stat(new_staging / rel).st_ino != os.stat(old / rel).st_ino  # a copy, not a link


def test_seed_staging_skips_a_held_file_that_changed(tmp_path, staged):
    old, files = staged
    rel, size, _root = files[0]
    (old / rel).write_bytes(b"x" * size)  # edited since: same size, other content
    assert seed_staging(tmp_path / "new", [files[0]], same(files[:1], old)) == Tally(0, 0)
    assert not (tmp_path / "new" / rel).exists()


def test_seed_staging_without_seeds_does_nothing(tmp_path, staged):
    _old, files = staged
    assert seed_staging(tmp_path / "new", files, []) == Tally(0, 0)
    assert not (tmp_path / "new").exists()


def test_an_older_version_is_copied_as_it_is_up_to_the_new_size(tmp_path, write_file):
    """Not verified here (libtorrent's check keeps the pieces that match), never longer than
    the new file, and a copy: writing into staging leaves the old file as it was."""
    old = write_file(tmp_path / "dest" / "img.bin", 300_000, seed=7)
    files = [("img.bin", 200_000, "ab" * 32)]
    seeds = [Seed("img.bin", str(old), 200_000, delta.OLDER)]
    assert seed_staging(tmp_path / "new", files, seeds) == Tally(0, 200_000)
    copy = tmp_path / "new" / "img.bin"
    assert copy.read_bytes() == old.read_bytes()[:200_000]
    copy.write_bytes(b"new")
    assert old.stat().st_size == 300_000


def test_a_vanished_older_copy_is_simply_downloaded(tmp_path):
    seeds = [Seed("img.bin", str(tmp_path / "gone.bin"), 10, delta.OLDER)]
    assert seed_staging(tmp_path / "new", [("img.bin", 10, "")], seeds) == Tally(0, 0)
    assert not (tmp_path / "new" / "img.bin").exists()


def test_files_an_older_version_placed_are_replaced_without_force(tmp_path, write_file):
    dest = tmp_path / "dest"
    write_file(dest / "pkg" / "a.bin", 100, seed=1)
    write_file(dest / "pkg" / "b.bin", 100, seed=2)
    files = [("pkg/a.bin", 100, "00" * 32), ("pkg/b.bin", 100, "11" * 32)]
    assert check_destination(dest, files, force=False,
                             replaceable=frozenset({"pkg/a.bin", "pkg/b.bin"})) == REPLACE
    with pytest.raises(Conflict, match=r"b\.bin") as refused:  # not placed by the older version
        check_destination(dest, files, force=False, replaceable=frozenset({"pkg/a.bin"}))
    assert "a.bin" not in str(refused.value)


def test_files_an_older_version_placed_are_not_hashed_to_judge_dest(tmp_path, write_file, monkeypatch):
    """A multi-GiB old image would hold up the agent's answer to the order at disk speed; a new
    version replaces it whatever it holds (libtorrent checks the copy staging starts from)."""
    from salt_p2pdist.torrent import placement

    old = write_file(tmp_path / "dest" / "pkg" / "a.bin", 100, seed=1)
    hashed = []
    real = placement.matches
    monkeypatch.setattr(placement, "matches", lambda p, *a: hashed.append(p) or real(p, *a))
    files = [("pkg/a.bin", 100, merkle.pieces_root(old))]  # even the very same content
    assert check_destination(tmp_path / "dest", files, force=False,
                             replaceable=frozenset({"pkg/a.bin"})) == REPLACE
    assert hashed == []
    assert check_destination(tmp_path / "dest", files, force=False) == IDENTICAL and hashed == [old]


def test_allowed_roots_and_symlinks_that_escape_them(tmp_path: Path) -> None:
    from salt_p2pdist.torrent.placement import check_within

    root = tmp_path / "srv"
    (root / "apps").mkdir(parents=True)
    outside = tmp_path / "etc"
    outside.mkdir()
    files = [("kit/a.bin", 1, "r")]
    check_within(root / "apps", [root], files)  # fine, even before it exists below
    check_within(root / "new" / "dir", [root], files)
    with pytest.raises(InvalidRequest, match="outside the allowed roots"):
        check_within(outside, [root], files)
    (root / "escape").symlink_to(outside)
    with pytest.raises(InvalidRequest, match="a symlink"):
        check_within(root / "escape" / "x", [root], files)
    (root / "apps" / "kit").symlink_to(outside)  # a directory of the content leads out
    with pytest.raises(InvalidRequest, match="leads out of"):
        check_within(root / "apps", [root], files)
    assert list(outside.iterdir()) == []  # nothing written anywhere


def test_dest_outside_the_allowed_roots_is_refused_by_the_runner_check() -> None:
    from salt_p2pdist.master.orders import check_dest

    assert check_dest("/srv/p2pdist/app", ["/srv/p2pdist"]) == "/srv/p2pdist/app"
    assert check_dest("/srv/p2pdist", ["/srv/p2pdist"]) == "/srv/p2pdist"
    for bad in ("/srv/p2pdist-old/x", "/etc", "/"):
        with pytest.raises(InvalidRequest, match="outside the allowed roots"):
            check_dest(bad, ["/srv/p2pdist"])


def test_a_new_tree_appears_at_dest_by_one_rename(tmp_path, staged):
    """The staged directory itself becomes dest's (same inode): no moment shows part of the tree."""
    staging, files = staged
    staged_dir = (staging / "pkg").stat()
    dest = tmp_path / "a" / "dest"  # made on the way
    place(staging, dest, files, force=False)
    placed = (dest / "pkg").stat()
    assert (placed.st_dev, placed.st_ino) == (staged_dir.st_dev, staged_dir.st_ino)
    assert check_destination(dest, files, force=False) == IDENTICAL
    assert not staging.exists()


def test_a_tree_across_filesystems_appears_complete(tmp_path, write_file):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a staging area on another filesystem")
    staging = shm / f"p2pdist-test-{os.getpid()}-{tmp_path.name}"
    try:
        files = []
        for i, rel in enumerate(["pkg/a", "pkg/sub/b", "pkg/sub/c"]):
            p = write_file(staging / rel, 3000 + i, seed=i)
            files.append((rel, 3000 + i, merkle.pieces_root(p)))
        place(staging, tmp_path / "dest", files, force=False)
        assert check_destination(tmp_path / "dest", files, force=False) == IDENTICAL
        assert sorted(x.name for x in (tmp_path / "dest").iterdir()) == ["pkg"]  # no partial copy left
        assert not staging.exists()
    finally:
        import shutil
        shutil.rmtree(staging, ignore_errors=True)
