from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from salt_p2pdist.core.agentorders import seed_order
from salt_p2pdist.core.errors import Conflict, InvalidRequest, NotFound
from salt_p2pdist.master.orders import check_dest, check_same_dest, check_source, fetch_order
from salt_p2pdist.torrent.metainfo import TorrentMeta


@pytest.mark.parametrize("dest", [None, ""])
def test_check_dest_required(dest):
    with pytest.raises(InvalidRequest, match="dest is required"):
        check_dest(dest)


@pytest.mark.parametrize("dest", ["opt/dist", "./opt", "~/dist", "dist"])
def test_check_dest_must_be_absolute(dest):
    with pytest.raises(InvalidRequest, match="absolute"):
        check_dest(dest)


@pytest.mark.parametrize("dest", ["/opt/../etc", "/..", "/opt/dist/.."])
def test_check_dest_refuses_dotdot(dest):
    with pytest.raises(InvalidRequest, match=r"'\.\.'"):
        check_dest(dest)


def test_check_dest_normalises():
    assert check_dest("/opt/dist/") == "/opt/dist"
    assert check_dest("/opt//./dist") == "/opt/dist"
    assert check_dest("/") == "/"


def test_check_source(tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"x")
    assert check_source(str(f)) == f
    assert check_source(str(tmp_path)) == tmp_path


@pytest.mark.parametrize("path", ["", "relative/file", "./f"])
def test_check_source_must_be_absolute(path):
    with pytest.raises(InvalidRequest, match="absolute"):
        check_source(path)


def test_check_source_missing(tmp_path):
    with pytest.raises(NotFound, match="does not exist"):
        check_source(str(tmp_path / "missing"))
    os.symlink(tmp_path / "missing", tmp_path / "dangling")
    with pytest.raises(NotFound):
        check_source(str(tmp_path / "dangling"))


def test_check_source_special_file(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InvalidRequest, match="neither a regular file nor a directory"):
        check_source(str(tmp_path / "fifo"))


META = TorrentMeta(dist_id="abcd" * 4, info_hash="abcd" * 16, name="pkg", torrent_name="pkg",
                   files=(("pkg", 1, "r"),), total_size=1, piece_size=16384, num_pieces=1,
                   single_file=True, wrapped=False, tracker="http://t/announce")


def test_fetch_order():
    o = fetch_order(META, b"\x00\xfftorrent", dest="/opt", force=True, tracker="http://x/announce")
    assert o == {"dist_id": META.dist_id, "torrent": base64.b64encode(b"\x00\xfftorrent").decode(),
                 "dest": "/opt", "force": True, "tracker": "http://x/announce", "sites": {},
                 "report_every": 0}
    assert base64.b64decode(o["torrent"]) == b"\x00\xfftorrent"


def test_seed_order():
    o = seed_order(b"t", source=Path("/srv/pkg"), targets=["m1", "m2"], upload_limit=5)
    assert o == {"mode": "seed", "torrent": base64.b64encode(b"t").decode(), "source": "/srv/pkg",
                 "targets": ["m1", "m2"], "upload_limit": 5}


def test_answers_to_an_order_are_sorted_into_accepted_refused_and_silent() -> None:
    from salt_p2pdist.master.orders import classify_answers

    returns = {"m1": {"result": True, "site": "paris"}, "m2": {"result": False, "error": "in the way"},
               "m3": "Minion did not return. [No response]", "m4": "'p2pdist.fetch' is not available."}
    accepted, refused, grains, silent = classify_answers(["m1", "m2", "m3", "m4", "m5"], returns)
    assert accepted == ["m1"] and grains == {"m1": "paris"}
    assert refused == {"m2": "in the way", "m4": "'p2pdist.fetch' is not available."}
    assert silent == {"m3", "m5"}


def test_the_same_content_goes_to_one_dest_at_a_time():
    existing = {"id": "d1", "dest": "/opt/a", "cancelled": 0}
    check_same_dest(None, "/opt/b")
    check_same_dest(existing, "/opt/a")
    check_same_dest(dict(existing, cancelled=1), "/opt/b")  # after a cancel it may move
    with pytest.raises(Conflict, match=r"dest /opt/a; push it with dest=/opt/a, or cancel it first"):
        check_same_dest(existing, "/opt/b")


def test_fetch_order_names_its_order_id_when_it_has_one():
    o = fetch_order(META, b"t", dest="/opt", force=False, tracker="", order_id="o1")
    assert o["order_id"] == "o1"
