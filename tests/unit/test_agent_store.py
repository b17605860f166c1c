from __future__ import annotations

import json

from salt_p2pdist.agent.store import OrderStore
from salt_p2pdist.files.atomic import write_atomic


def test_write_atomic_writes_and_leaves_no_tmp(tmp_path):
    path = tmp_path / "a" / "b" / "file.json"
    write_atomic(path, b"first")
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second"
    assert [p.name for p in path.parent.iterdir()] == ["file.json"]


def test_write_atomic_replaces_a_stale_tmp(tmp_path):
    path = tmp_path / "order.json"
    (tmp_path / "order.json.tmp").write_bytes(b"left over from a crash")
    write_atomic(path, b"{}")
    assert path.read_bytes() == b"{}"
    assert not (tmp_path / "order.json.tmp").exists()


def test_save_and_load_all(tmp_path):
    store = OrderStore(tmp_path / "dists")
    assert store.load_all() == []
    store.save("bbb", {"dist_id": "bbb", "phase": "staging"})
    store.save("aaa", {"dist_id": "aaa", "phase": "placed"})
    store.save_resume("aaa", b"resume-bytes")
    assert store.load_all() == [({"dist_id": "aaa", "phase": "placed"}, b"resume-bytes"),
                                ({"dist_id": "bbb", "phase": "staging"}, None)]
    assert not list((tmp_path / "dists").rglob("*.tmp"))


def test_load_all_skips_a_torn_order(tmp_path):
    store = OrderStore(tmp_path)
    store.save("good", {"dist_id": "good"})
    (tmp_path / "torn").mkdir()
    (tmp_path / "torn" / "order.json").write_text(json.dumps({"dist_id": "torn"})[:7])
    (tmp_path / "torn" / "resume.dat").write_bytes(b"r")
    (tmp_path / "binary").mkdir()
    (tmp_path / "binary" / "order.json").write_bytes(b"\xff\xfe\x00")
    assert store.load_all() == [({"dist_id": "good"}, None)]


def test_save_resume_needs_an_order(tmp_path):
    store = OrderStore(tmp_path)
    store.save_resume("ghost", b"r")  # forgotten meanwhile: nothing is resurrected
    assert not (tmp_path / "ghost").exists()


def test_forget(tmp_path):
    store = OrderStore(tmp_path)
    store.save("d", {"dist_id": "d"})
    store.save_resume("d", b"r")
    store.forget("d")
    store.forget("d")  # idempotent
    assert store.load_all() == []
    assert not (tmp_path / "d").exists()
