from __future__ import annotations

import sqlite3

import pytest

from salt_p2pdist.master import catalogfile
from salt_p2pdist.master.catalog import Catalog


@pytest.fixture
def cat(tmp_path):
    c = Catalog(tmp_path / "sub" / "catalog.db")
    yield c
    c.close()


def push(cat: Catalog, dist_id: str = "d1", targets=("m1", "m2"), **kw) -> str:
    args = dict(dist_id=dist_id, name="pkg", source="/srv/pkg", dest="/opt", torrent=b"\x00torrent",
                total_bytes=1000, num_pieces=4, user="root", targets=targets)
    args.update(kw)
    return cat.add_distribution(**args)


def test_add_and_read_back(cat):
    push(cat)
    d = cat.distribution("d1")
    assert d["name"] == "pkg" and d["torrent"] == b"\x00torrent" and d["cancelled"] == 0
    assert d["total_bytes"] == 1000 and d["num_pieces"] == 4 and d["created_by"] == "root"
    assert cat.distribution("nope") is None
    assert [x["id"] for x in cat.distributions()] == ["d1"]
    assert "torrent" not in cat.distributions()[0]
    assert cat.targets("d1") == ["m1", "m2"]


def test_pushing_again_unions_targets(cat):
    first = push(cat, targets=["m2", "m1"])
    second = push(cat, targets=["m3", "m1"])
    assert first != second
    assert cat.targets("d1") == ["m1", "m2", "m3"]
    # the minions ordered now carry the new order; m2 keeps the first
    assert {r["minion"]: r["current_order"] for r in cat.host_rows("d1")} == {
        "m1": second, "m2": first, "m3": second}


def test_pushing_after_a_cancel_starts_afresh(cat):
    push(cat, targets=["m2", "m1"])
    cat.record_reports([("d1", "m2", 1.0, {"state": "seeding"})])
    created = cat.distribution("d1")["created"]
    cat.cancel("d1")
    assert cat.distribution("d1")["cancelled"] == 1
    push(cat, targets=["m3", "m1"], source="/srv/other", dest="/data")
    assert cat.targets("d1") == ["m1", "m3"]
    assert cat.db.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 0
    d = cat.distribution("d1")
    assert (d["source"], d["dest"], d["cancelled"], d["created"]) == ("/srv/other", "/data", 0, created)
    assert len(cat.distributions()) == 1


def test_data_survives_reopening(tmp_path):
    c = Catalog(tmp_path / "c.db")
    push(c)
    c.record_reports([("d1", "m1", 5.0, {"state": "done"})])
    c.close()
    c = Catalog(tmp_path / "c.db")
    assert c.targets("d1") == ["m1", "m2"]
    assert {r["minion"]: r["state"] for r in c.host_rows("d1")} == {"m1": "done", "m2": None}
    c.close()


def test_record_reports_drops_unknown_distributions(cat):
    push(cat)
    n = cat.record_reports([("d1", "m1", 1.0, {"state": "downloading", "pieces": 2}),
                            ("zz", "m1", 1.0, {"state": "done"})])
    assert n == 1
    assert cat.db.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 1
    assert cat.db.execute("SELECT COUNT(*) FROM reports WHERE dist_id='zz'").fetchone()[0] == 0


def test_record_reports_keeps_the_latest(cat):
    push(cat)
    cat.record_reports([("d1", "m1", 10.0, {"state": "downloading", "pieces": 2, "down_rate": 7})])
    cat.record_reports([("d1", "m1", 9.0, {"state": "queued", "pieces": 0})])  # older: ignored
    row = {r["minion"]: r for r in cat.host_rows("d1")}["m1"]
    assert (row["ts"], row["state"], row["pieces"], row["down_rate"]) == (10.0, "downloading", 2, 7)
    cat.record_reports([("d1", "m1", 11.0, {"state": "seeding", "pieces": 4})])
    row = {r["minion"]: r for r in cat.host_rows("d1")}["m1"]
    # a newer report replaces every field, including the ones it leaves out
    assert (row["ts"], row["state"], row["pieces"], row["down_rate"]) == (11.0, "seeding", 4, None)


def test_record_reports_is_one_transaction(cat, tmp_path):
    push(cat)
    bad = {"state": "done", "pieces": object()}  # sqlite cannot bind this: the batch fails
    with pytest.raises(sqlite3.Error):
        cat.record_reports([("d1", "m1", 1.0, {"state": "downloading"}), ("d1", "m2", 1.0, bad)])
    assert cat.db.execute("SELECT COUNT(*) FROM reports").fetchone()[0] == 0
    assert not cat.db.in_transaction
    # and what it does commit is visible to another connection (another process)
    cat.record_reports([("d1", "m1", 2.0, {"state": "downloading"})])
    other = sqlite3.connect(str(tmp_path / "sub" / "catalog.db"))
    assert other.execute("SELECT minion, state FROM reports").fetchall() == [("m1", "downloading")]
    other.close()


def test_host_rows_show_pending_targets_with_null_reports(cat):
    push(cat, targets=["m3", "m1", "m2"])
    push(cat, dist_id="d2", targets=["m1"])
    cat.record_reports([("d1", "m2", 3.0, {"state": "failed", "error": "disk full"}),
                        ("d1", "stranger", 3.0, {"state": "done"}),
                        ("d2", "m1", 3.0, {"state": "done"})])
    rows = cat.host_rows("d1")
    assert [r["minion"] for r in rows] == ["m1", "m2", "m3"]  # targets only, sorted
    by = {r["minion"]: r for r in rows}
    assert by["m1"]["state"] is None and by["m1"]["ts"] is None and by["m1"]["error"] is None
    assert (by["m2"]["state"], by["m2"]["error"], by["m2"]["ts"]) == ("failed", "disk full", 3.0)
    assert cat.host_rows("unknown") == []


def test_state_counts(cat):
    o1 = push(cat, targets=["m1", "m2", "m3", "m4"])
    push(cat, dist_id="d2", targets=["m1"])
    cat.record_reports([("d1", "m1", 1.0, {"state": "done", "order_id": o1}),
                        ("d1", "m2", 1.0, {"state": "done", "order_id": o1}),
                        ("d1", "m3", 1.0, {"state": "downloading", "order_id": o1})])
    assert cat.state_counts() == {"d1": {"done": 2, "downloading": 1, "pending": 1},
                                  "d2": {"pending": 1}}
    push(cat, targets=["m2"])  # a new order: m2's report was on the old one
    assert cat.state_counts()["d1"] == {"done": 1, "downloading": 1, "pending": 2}


def test_an_answer_without_a_site_keeps_the_reported_one(cat):
    push(cat)
    cat.record_reports([("d1", "m1", 1.0, {"state": "downloading", "site": "paris"})])
    cat.record_reports([("d1", "m1", 2.0, {"state": "seeding"})])
    assert {r["minion"]: r["site"] for r in cat.host_rows("d1")}["m1"] == "paris"


def test_a_catalog_without_order_ids_gets_the_columns(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(str(path))
    old.executescript(catalogfile.SCHEMA.replace(", order_id TEXT", ""))
    old.execute("INSERT INTO targets VALUES ('d1', 'm1', 1.0)")
    old.commit()
    old.close()
    c = Catalog(path)
    for table in ("targets", "reports"):
        assert "order_id" in {r["name"] for r in c.db.execute(f"PRAGMA table_info({table})")}
    push(c, targets=["m2"])
    c.record_reports([("d1", "m1", 1.0, {"state": "done"})])  # an older minion: no order id
    assert c.state_counts()["d1"] == {"done": 1, "pending": 1}
    c.close()


def test_closing_a_catalog_does_not_checkpoint_it_away(tmp_path):
    # The returner opens and closes the catalog per batch; the process keeps one
    # idle connection so that close is not the last one (no checkpoint, no fsync).
    path = tmp_path / "c.db"
    c = Catalog(path)
    push(c)
    c.record_reports([("d1", "m1", 1.0, {"state": "downloading"})])
    c.close()
    assert (tmp_path / "c.db-wal").exists()
    other = sqlite3.connect(str(path))
    assert other.execute("SELECT minion, state FROM reports").fetchall() == [("m1", "downloading")]
    other.close()


def test_a_catalog_keyed_the_old_way_still_works(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(str(path))
    old.executescript(catalogfile.SCHEMA.replace("PRIMARY KEY (minion, dist_id)",
                                             "PRIMARY KEY (dist_id, minion)"))
    old.close()
    c = Catalog(path)
    pk = {r["name"]: r["pk"] for r in c.db.execute("PRAGMA table_info(reports)")}
    assert (pk["dist_id"], pk["minion"]) == (1, 2)  # left as it was
    push(c)
    c.record_reports([("d1", "m1", 1.0, {"state": "downloading"})])
    c.record_reports([("d1", "m1", 2.0, {"state": "done"})])
    assert {r["minion"]: r["state"] for r in c.host_rows("d1")} == {"m1": "done", "m2": None}
    c.close()


def test_a_changed_schema_is_applied_to_an_existing_catalog(tmp_path, monkeypatch):
    Catalog(tmp_path / "c.db").close()
    monkeypatch.setattr(catalogfile, "SCHEMA", catalogfile.SCHEMA + "CREATE TABLE IF NOT EXISTS extra (x);")
    c = Catalog(tmp_path / "c.db")
    assert c.db.execute("SELECT name FROM sqlite_master WHERE name='extra'").fetchone()
    c.close()


def test_allowed_minions_are_recorded_and_shown_once_they_report(cat):
    push(cat, targets=["m1"], allowed=["m3", "m4"], rule="m3,m4 (list)", torrent=b"first")
    push(cat, targets=["m1"], allowed=["m5"], rule="m5 (glob)", torrent=b"second")
    assert cat.allowed("d1") == {"m3": "m3,m4 (list)", "m4": "m3,m4 (list)", "m5": "m5 (glob)"}
    assert cat.distribution("d1")["torrent"] == b"second"  # re-signed with everyone admitted
    assert cat.targets("d1") == ["m1"]  # allowed minions get no order
    assert [r["minion"] for r in cat.host_rows("d1")] == ["m1"]
    cat.record_reports([("d1", "m3", 2.0, {"state": "done"}), ("d1", "stranger", 2.0, {"state": "done"})])
    assert [r["minion"] for r in cat.host_rows("d1")] == ["m1", "m3"]
    assert cat.state_counts() == {"d1": {"pending": 1, "done": 1}}
