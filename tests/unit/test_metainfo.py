from __future__ import annotations

import libtorrent as lt
import pytest

from salt_p2pdist.core.errors import InvalidRequest, TransferError
from salt_p2pdist.torrent import creation, merkle, metainfo, placement
from salt_p2pdist.torrent.creation import MAX_PIECE, MIN_PIECE, TARGET_PIECES, piece_size_for

TRACKER = "http://192.0.2.1:6970/announce"
KiB, MiB = 1024, 1024 * 1024


# -- piece size ---------------------------------------------------------

@pytest.mark.parametrize(("total", "expected"), [
    (0, MIN_PIECE),
    (1, MIN_PIECE),
    (TARGET_PIECES * MIN_PIECE, MIN_PIECE),
    (TARGET_PIECES * MIN_PIECE + 1, 2 * MIN_PIECE),
    (TARGET_PIECES * 64 * KiB, 64 * KiB),
    (TARGET_PIECES * 64 * KiB + 1, 128 * KiB),
    (TARGET_PIECES * MAX_PIECE, MAX_PIECE),
    (TARGET_PIECES * MAX_PIECE + 1, MAX_PIECE),  # clamped
    (10**13, MAX_PIECE),
])
def test_piece_size_for(total, expected):
    assert piece_size_for(total) == expected


def test_piece_size_is_a_power_of_two_and_monotonic():
    last = 0
    for total in [0, *(2**k + d for k in range(10, 45) for d in (-1, 0, 1))]:
        size = piece_size_for(total)
        assert size & (size - 1) == 0 and MIN_PIECE <= size <= MAX_PIECE
        assert size >= last
        last = size


# -- describe -----------------------------------------------------------

@pytest.mark.parametrize("junk", [b"", b"not a torrent", b"d4:spam4:eggse", b"i42e",
                                  lt.bencode({b"info": {b"name": b"x"}})])
def test_describe_refuses_non_torrents(junk):
    with pytest.raises(InvalidRequest, match="not a valid torrent"):
        metainfo.describe(junk)


def test_describe_refuses_v1_only_torrents(tmp_path, write_file):
    src = write_file(tmp_path / "f.bin", 40000)
    files = lt.list_files(str(src), flags=lt.create_torrent.no_attributes)
    ct = lt.create_torrent(files, MIN_PIECE, lt.create_torrent.v1_only)
    lt.set_piece_hashes(ct, str(tmp_path))
    with pytest.raises(InvalidRequest, match="not a v2"):
        metainfo.describe(lt.bencode(ct.generate()))


# -- create -------------------------------------------------------------

def test_single_file(tmp_path, write_file):
    src = write_file(tmp_path / "app.tar", 100 * KiB + 7)
    data = creation.create(src, TRACKER)
    meta = metainfo.describe(data)
    assert meta.name == "app.tar"
    assert meta.torrent_name.startswith("p2pdist-") and len(meta.torrent_name) > 40
    assert meta.single_file
    assert meta.files == (("app.tar", src.stat().st_size, merkle.pieces_root(src)),)
    assert meta.total_size == 100 * KiB + 7
    assert meta.piece_size == piece_size_for(meta.total_size)
    assert meta.num_pieces == -(-meta.total_size // meta.piece_size)
    assert meta.tracker == TRACKER
    assert len(meta.info_hash) == 64 and meta.dist_id == meta.info_hash[:16]
    ti = lt.torrent_info(lt.bdecode(data))
    assert ti.priv()
    assert not ti.info_hashes().has_v1()
    assert placement.dest_files(meta) == [("app.tar", meta.total_size, merkle.pieces_root(src))]
    assert placement.save_path(tmp_path / "base", meta) == tmp_path / "base"


def test_directory(tmp_path, write_file):
    src = tmp_path / "bundle"
    write_file(src / "a.bin", 20000, seed=1)
    write_file(src / "sub" / "b.bin", 5, seed=2)
    write_file(src / "sub" / "deeper" / "c.bin", 70000, seed=3)
    meta = metainfo.describe(creation.create(src, ""))
    assert meta.name == "bundle" and meta.torrent_name.startswith("p2pdist-")
    assert not meta.single_file
    assert meta.tracker == ""
    assert sorted(meta.files) == sorted(
        (f"bundle/{p.relative_to(src).as_posix()}", p.stat().st_size, merkle.pieces_root(p))
        for p in src.rglob("*") if p.is_file())
    assert meta.total_size == 20000 + 5 + 70000
    assert {rel for rel, _, _ in placement.dest_files(meta)} == {
        "bundle/a.bin", "bundle/sub/b.bin", "bundle/sub/deeper/c.bin"}


def test_same_content_same_dist_id(tmp_path, write_file):
    a = write_file(tmp_path / "x" / "f", 5000)
    b = write_file(tmp_path / "y" / "f", 5000)
    c = write_file(tmp_path / "z" / "f", 5000, seed=9)
    ids = [metainfo.describe(creation.create(p, TRACKER)).dist_id for p in (a, b, c)]
    assert ids[0] == ids[1] != ids[2]


@pytest.mark.parametrize("size", [100, 16 * KiB, 40000])  # with and without a tail pad file
def test_directory_with_one_file_keeps_its_name(tmp_path, write_file, size):
    src = tmp_path / "release"
    f = write_file(src / "app.bin", size)
    meta = metainfo.describe(creation.create(src, TRACKER))
    assert meta.name == "release"
    assert not meta.single_file and not meta.wrapped  # the directory level is in the torrent
    assert placement.dest_files(meta) == [("release/app.bin", size, merkle.pieces_root(f))]
    assert placement.save_path(tmp_path / "dest", meta) == tmp_path / "dest"
    # the master seeds a pushed directory from its parent: libtorrent's file is renamed there
    ((index, path),) = meta.renames
    assert lt.torrent_info(lt.bdecode(creation.create(src, TRACKER))).layout().file_path(index) \
        == f"{meta.torrent_name}/release/app.bin"
    assert placement.save_path(src.parent, meta) / path == f


def test_directory_with_one_file_in_a_subdirectory(tmp_path, write_file):
    src = tmp_path / "release"
    write_file(src / "bin" / "app", 100)
    meta = metainfo.describe(creation.create(src, ""))
    assert [rel for rel, _, _ in placement.dest_files(meta)] == ["release/bin/app"]


def test_directory_with_one_file_of_the_same_name(tmp_path, write_file):
    write_file(tmp_path / "app" / "app", 100)
    meta = metainfo.describe(creation.create(tmp_path / "app", ""))
    assert [rel for rel, _, _ in placement.dest_files(meta)] == ["app/app"]


def test_directory_with_an_empty_file(tmp_path, write_file):
    src = tmp_path / "d"
    write_file(src / "data", 3000)
    (src / "empty").touch()
    meta = metainfo.describe(creation.create(src, ""))
    assert ("d/empty", 0) in [(p, s) for p, s, _ in meta.files]
    # the content already at dest is recognised, the empty file included
    assert placement.check_destination(tmp_path, placement.dest_files(meta),
                                       force=False) == placement.IDENTICAL


def test_create_refuses_empty_content(tmp_path):
    (tmp_path / "empty").touch()
    with pytest.raises(InvalidRequest, match="no data"):
        creation.create(tmp_path / "empty", TRACKER)
    (tmp_path / "emptydir" / "sub").mkdir(parents=True)
    (tmp_path / "emptydir" / "sub" / "zero").touch()
    with pytest.raises(InvalidRequest, match="no data"):
        creation.create(tmp_path / "emptydir", TRACKER)


@pytest.mark.parametrize(("comment", "expected"), [
    ("p2pdist-name:release", "release"),
    ("p2pdist-name:", "tname"),
    ("p2pdist-name:..", "tname"),
    ("p2pdist-name:.", "tname"),
    ("p2pdist-name:a/b", "tname"),
    ("p2pdist-name:a\\b", "tname"),
    ("some other comment", "tname"),
    ("", "tname"),
])
def test_content_name_from_comment(comment, expected):
    assert metainfo._content_name(comment, "tname") == expected


def test_describe_ignores_a_hostile_name_tag(tmp_path, write_file):
    src = write_file(tmp_path / "d" / "f", 100)
    d = lt.bdecode(creation.create(src.parent, ""))
    d[b"comment"] = b"p2pdist-name:../../etc"
    meta = metainfo.describe(lt.bencode(d))
    # The comment (outside the info hash) is not read: the name is in the info dict.
    assert meta.name == "d"
    assert placement.dest_files(meta) == [("d/f", 100, merkle.pieces_root(src))]


# -- in a worker process ---------------------------------------------------

def test_create_in_subprocess_matches_create(tmp_path, write_file):
    src = tmp_path / "pkg"
    write_file(src / "a", 30000, seed=1)
    write_file(src / "b", 10, seed=2)
    via_worker = metainfo.describe(creation.create_in_subprocess(src, TRACKER, timeout=60))
    assert via_worker == metainfo.describe(creation.create(src, TRACKER))
    assert via_worker.tracker == TRACKER


def test_create_in_subprocess_reports_the_workers_error(tmp_path):
    (tmp_path / "empty").touch()
    with pytest.raises(TransferError, match="no data to distribute"):
        creation.create_in_subprocess(tmp_path / "empty", TRACKER, timeout=60)
    with pytest.raises(TransferError, match="creating the torrent"):
        creation.create_in_subprocess(tmp_path / "missing", TRACKER, timeout=60)


# -- one torrent name per content -----------------------------------------

def test_torrent_name_is_unique_per_content_and_deterministic(tmp_path, write_file):
    """Certificates name the torrent: two contents pushed under one name must differ."""
    a = write_file(tmp_path / "a" / "payload.bin", 50000, seed=1)
    b = write_file(tmp_path / "b" / "payload.bin", 50000, seed=2)
    again = write_file(tmp_path / "c" / "payload.bin", 50000, seed=1)
    ma, mb, mc = (metainfo.describe(creation.create(p, TRACKER)) for p in (a, b, again))
    assert ma.name == mb.name == "payload.bin"
    assert ma.torrent_name != mb.torrent_name and ma.dist_id != mb.dist_id
    assert (mc.torrent_name, mc.dist_id) == (ma.torrent_name, ma.dist_id)
    assert placement.dest_files(ma) == placement.dest_files(mc) == [
        ("payload.bin", 50000, merkle.pieces_root(a))]


def test_a_bound_name_that_is_a_path_is_refused(tmp_path, write_file):
    src = write_file(tmp_path / "f.bin", 5000)
    torrent = lt.bdecode(creation.create(src, TRACKER))
    torrent[b"info"][metainfo.NAME_KEY] = b"../x"
    with pytest.raises(InvalidRequest, match="not a plain name"):
        metainfo.describe(lt.bencode(torrent))
