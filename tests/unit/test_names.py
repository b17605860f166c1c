"""Names a torrent may bring onto a host: refused before anything is written."""

from __future__ import annotations

import os
from pathlib import PurePosixPath, PureWindowsPath

import libtorrent as lt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from salt_p2pdist.core import names
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.names import POSIX, WINDOWS, check_length, check_paths, element_problem
from salt_p2pdist.testing.hostile import leaves, rename, sign_unchecked
from salt_p2pdist.torrent import creation, metainfo
from salt_p2pdist.torrent.signature import check_torrent

EVERYWHERE = ["", ".", "..", "a/b", "a\\b", "/etc", "C:", "c:x", "x\0y", "a" * 256]
WINDOWS_ONLY = ["CON", "nul", "Com1", "LPT9.txt", "con .log", "aux", "COM\u00b9", "ab:c", 'a"b',
                "a<b", "a|b", "a?b", "a*b", "tab\there", "dot.", "space "]
FINE = ["x", "pkg.bin", "..x", ".hidden", "a b", "CONSOLE", "com10", "été", "-"]


@pytest.mark.parametrize("element", EVERYWHERE)
@pytest.mark.parametrize("flavor", [POSIX, WINDOWS])
def test_refused_everywhere(element, flavor):
    assert element_problem(element, flavor)
    with pytest.raises(InvalidRequest, match="refused: torrent path"):
        check_paths([["top", element]], flavor)


@pytest.mark.parametrize("element", WINDOWS_ONLY)
def test_refused_on_windows_only(element):
    assert element_problem(element, WINDOWS)
    assert not element_problem(element, POSIX)


@pytest.mark.parametrize("element", FINE)
@pytest.mark.parametrize(("flavor", "pure", "dest"), [(POSIX, PurePosixPath, "/srv/p2pdist"),
                                                      (WINDOWS, PureWindowsPath, "C:/p2pdist")])
def test_accepted_names_stay_one_element_under_dest(element, flavor, pure, dest):
    assert not element_problem(element, flavor)
    joined = pure(dest, "top", element)
    assert joined.parts == (*pure(dest).parts, "top", element)
    assert pure(dest) in joined.parents
    if flavor == WINDOWS:
        assert not PureWindowsPath(element).is_reserved()


def test_refused_names_are_ones_the_os_would_reinterpret():
    assert PureWindowsPath("C:/d", "..", "x").parts[-2] == ".."  # climbs once resolved
    assert PurePosixPath("/d", "/etc").parts == ("/", "etc")  # absolute replaces dest
    assert PureWindowsPath("C:/d", "D:x").drive == "D:"
    assert all(PureWindowsPath(d).is_reserved() for d in ["CON", "nul", "LPT9.txt"])


def test_case_only_clash_is_refused_on_windows():
    paths = [["pkg", "Readme"], ["pkg", "README"]]
    check_paths(paths, POSIX)
    with pytest.raises(InvalidRequest, match="differ only in case"):
        check_paths(paths, WINDOWS)
    with pytest.raises(InvalidRequest, match="differ only in case"):
        check_paths([["pkg", "Dir", "a"], ["pkg", "dir", "b"]], WINDOWS)
    check_paths([["pkg", "dir", "a"], ["pkg", "dir", "b"]], WINDOWS)


def test_over_long_paths_are_refused():
    check_length("/srv/p2pdist", ["pkg/" + "a" * 200], WINDOWS)
    with pytest.raises(InvalidRequest, match="over this host's limit of 259"):
        check_length("C:\\p2pdist", ["pkg/" + "a" * 200 + "/" + "b" * 60], WINDOWS)
    check_length("/srv", ["pkg/" + "/".join(["a" * 200] * 19)], POSIX)
    with pytest.raises(InvalidRequest, match="limit of 4095"):
        check_length("/srv", ["pkg/" + "/".join(["a" * 200] * 21)], POSIX)
    with pytest.raises(InvalidRequest, match="longer than 255 bytes"):
        check_paths([["pkg", "é" * 128]], POSIX)


# -- whole torrents: the raw file tree, before libtorrent rewrites it -----------

@pytest.fixture
def good_torrent(tmp_path):
    src = tmp_path / "evil"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "x").write_bytes(os.urandom(70_000))
    (src / "y").write_bytes(os.urandom(1_000))
    return creation.create(src, "http://192.0.2.1:6970/announce")


def _tree(torrent):
    return lt.bdecode(torrent)[b"info"][b"file tree"]


HOSTILE = {
    "traversal": lambda x, y: {b"..": {b"..": {b"..": {b"x": x}}}, b"y": y},
    "absolute": lambda x, y: {b"/tmp": {b"x": x}, b"y": y},
    "dotdot element": lambda x, y: {b"sub": {b"..": {b"x": x}}, b"y": y},
    "backslash": lambda x, y: {b"..\\..\\x": x, b"y": y},
    "drive": lambda x, y: {b"C:": {b"x": x}, b"y": y},
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_file_trees_are_refused_before_libtorrent_renames_them(good_torrent, kind):
    x, y = leaves(_tree(good_torrent))
    evil = rename(good_torrent, tree=HOSTILE[kind](x, y))
    lt.load_torrent_buffer(evil)  # libtorrent itself takes it (and would rename the paths)
    with pytest.raises(InvalidRequest, match="refused: torrent path"):
        metainfo.describe(evil)


@pytest.mark.parametrize("name", [b"..", b"/abs", b"../../../x", b"C:\\x", b"a\\b", b"."])
def test_hostile_top_names_are_refused(good_torrent, name):
    with pytest.raises(InvalidRequest, match="refused: torrent path"):
        metainfo.describe(rename(good_torrent, name=name))


def test_windows_names_are_refused_with_windows_rules_only(good_torrent):
    x, y = leaves(_tree(good_torrent))
    evil = rename(good_torrent, tree={b"CON": {b"x": x}, b"Y": y, b"why?": {b"z": x}})
    metainfo.describe(evil, POSIX)
    with pytest.raises(InvalidRequest, match="Windows"):
        metainfo.describe(evil, WINDOWS)
    assert names.local_flavor() == (WINDOWS if os.name == "nt" else POSIX)


def test_a_master_signed_traversal_torrent_is_refused(good_torrent, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "master.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()))
    (tmp_path / "master.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    x, y = leaves(_tree(good_torrent))
    evil = sign_unchecked(rename(good_torrent, tree={b"..": {b"..": {b"x": x}}, b"y": y}),
                          tmp_path / "master.pem", ["/srv/p2pdist"])
    with pytest.raises(InvalidRequest, match=r"refused: torrent path '[^'/]+/\.\./\.\./x'"):
        check_torrent(evil, tmp_path / "master.pub")
    fine = sign_unchecked(good_torrent, tmp_path / "master.pem", ["/srv/p2pdist"])
    assert check_torrent(fine, tmp_path / "master.pub")[0].name == "evil"


def test_a_pushed_name_no_host_can_hold_is_refused_before_hashing(tmp_path):
    # libtorrent makes "ev\\il.bin" a path; the torrent's unique name could not be bound to it.
    (tmp_path / "ev\\il.bin").write_bytes(os.urandom(50_000))
    with pytest.raises(InvalidRequest, match=r"refused: torrent path 'ev\\\\il\.bin'"):
        creation.create(tmp_path / "ev\\il.bin", "http://192.0.2.1:6970/announce")
