"""Destinations checked with the rules of the target's OS, whatever OS the master runs."""

from __future__ import annotations

import json

import pytest

from salt_p2pdist.core import destpaths
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.names import POSIX, WINDOWS

ROOTS = ["/srv/p2pdist", "C:\\p2pdist", "\\\\files\\dist"]


@pytest.mark.parametrize(("dest", "flavor", "normal"), [
    ("C:\\dist", WINDOWS, "C:\\dist"),
    ("D:/x/y", WINDOWS, "D:\\x\\y"),
    ("c:\\Program Files\\app\\", WINDOWS, "c:\\Program Files\\app"),
    ("\\\\server\\share\\x", WINDOWS, "\\\\server\\share\\x"),
    ("/srv/dist/", POSIX, "/srv/dist"),
])
def test_windows_and_posix_dests_are_accepted_with_their_own_rules(dest: str, flavor: str,
                                                                   normal: str) -> None:
    assert destpaths.parse(dest) == {flavor: normal}


@pytest.mark.parametrize(("dest", "why"), [
    ("C:dist", "absolute"),  # relative to drive C's current directory
    ("dist", "absolute"),
    ("\\dist", "absolute"),  # the current drive's root: which drive is unknown
    ("C:\\dist\\..\\Windows", "'..'"),
    ("C:\\dist\\CON", "device name"),
    ("C:\\dist\\nul.txt", "device name"),
    ("C:\\dist\\AUX", "device name"),
    ("C:\\dist\\a:b", "drive letter|forbids"),  # an NTFS stream
    ("C:\\dist\\app.", "trailing dot"),
    ("C:\\dist\\app \\x", "trailing dot or space"),
    ("C:\\dist\\a|b", "forbids"),
    ("/srv/../etc", "'..'"),
    ("/srv/a\\b", "backslash"),
    ("/srv/x\0", "NUL"),
])
def test_bad_dests_are_refused_with_the_reason(dest: str, why: str) -> None:
    with pytest.raises(InvalidRequest, match=why):
        destpaths.parse(dest)


def test_a_mapping_gives_each_os_its_dest() -> None:
    given = {"windows": "C:/dist", "posix": "/srv/dist"}
    text = destpaths.check_push_dest(given, ["/srv", "C:\\"])
    assert json.loads(text) == {"windows": "C:\\dist", "posix": "/srv/dist"}
    assert destpaths.for_host(text, WINDOWS) == "C:\\dist"
    assert destpaths.for_host(text, POSIX) == "/srv/dist"
    assert destpaths.for_host(given, WINDOWS) == "C:\\dist"  # a state may pass the mapping itself


def test_a_host_without_a_dest_for_its_os_refuses_the_order() -> None:
    with pytest.raises(InvalidRequest, match="no dest for a windows minion"):
        destpaths.for_host("/srv/dist", WINDOWS)  # not <current drive>:\srv\dist
    with pytest.raises(InvalidRequest, match="no dest for a posix minion"):
        destpaths.for_host("C:\\dist", POSIX)


@pytest.mark.parametrize("bad", [{}, {"mac": "/x"}, {"windows": "/srv/x"}, {"posix": "C:\\x"},
                                 {"windows": "C:\\a", "nt": "D:\\b"}, 3, ["/x"], "{not json"])
def test_malformed_dest_mappings_are_refused(bad: object) -> None:
    with pytest.raises(InvalidRequest):
        destpaths.parse(bad)


def test_allowed_roots_hold_for_each_os_and_ignore_case_on_windows() -> None:
    assert destpaths.check_push_dest("c:\\P2PDIST\\app", ROOTS) == "c:\\P2PDIST\\app"
    assert destpaths.check_push_dest("C:/p2pdist", ROOTS) == "C:\\p2pdist"
    assert destpaths.check_push_dest("\\\\FILES\\Dist\\app", ROOTS) == "\\\\FILES\\Dist\\app"
    assert destpaths.check_push_dest("/srv/p2pdist/app", ROOTS) == "/srv/p2pdist/app"
    for bad in ("C:\\p2pdist-old\\x", "D:\\p2pdist", "C:\\", "/srv/P2PDIST/app", "/srv"):
        with pytest.raises(InvalidRequest, match="outside the allowed roots"):
            destpaths.check_push_dest(bad, ROOTS)
    with pytest.raises(InvalidRequest, match="none for windows"):
        destpaths.check_push_dest("C:\\p2pdist", ["/srv/p2pdist"])
    with pytest.raises(InvalidRequest, match="outside the allowed roots"):  # every entry is checked
        destpaths.check_push_dest({"windows": "C:\\p2pdist", "posix": "/opt"}, ROOTS)


def test_roots_of_the_other_os_are_dropped_on_each_host() -> None:
    assert destpaths.roots_for(ROOTS, WINDOWS) == ["C:\\p2pdist", "\\\\files\\dist"]
    assert destpaths.roots_for(ROOTS, POSIX) == ["/srv/p2pdist"]


def test_windows_limits_on_the_files_under_a_windows_dest() -> None:
    from salt_p2pdist.core.names import check_length, check_paths

    dest = destpaths.for_host("C:\\p2pdist\\" + "d" * 200, WINDOWS)
    with pytest.raises(InvalidRequest, match="over this host's limit of 259"):
        check_length(dest, ["app/" + "f" * 60], WINDOWS)
    check_length(dest, ["app/" + "f" * 60], POSIX)  # the same path is fine on Linux
    with pytest.raises(InvalidRequest, match="differ only in case"):
        check_paths([("App", "a.txt"), ("app", "b.txt")], WINDOWS)
    with pytest.raises(InvalidRequest, match="backslash"):  # libtorrent's separator on Windows
        check_paths([("app\\..\\..\\evil",)], WINDOWS)


@pytest.mark.parametrize(("known", "ordered", "same"), [
    ("C:\\Dist", "c:\\dist\\", True),
    ("C:\\Dist", "C:/DIST", True),
    ("C:\\Dist\\Tools", "c:\\dist\\tools\\", True),
    ("\\\\Server\\Share\\Dist", "\\\\server\\SHARE\\dist\\", True),
    ("C:\\Dist", "D:\\Dist", False),
    ("C:\\Dist", "C:\\Dist\\sub", False),
    ("C:\\Dist", "C:\\Dist2", False),
])
def test_windows_dests_name_one_folder_whatever_the_case_and_separators(known: str, ordered: str,
                                                                        same: bool) -> None:
    assert destpaths.same_place(known, ordered, WINDOWS) is same


def test_posix_dests_compare_with_case() -> None:
    assert destpaths.same_place("/srv/dist", "/srv/dist/", POSIX)
    assert not destpaths.same_place("/srv/Dist", "/srv/dist", POSIX)
    assert not destpaths.same_place("/srv/dist", None, POSIX)
    assert destpaths.same_place(None, "", POSIX)  # a seed order has no dest on either side
