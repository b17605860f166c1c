from salt_p2pdist.core.present import (
    NO_DISTRIBUTIONS,
    compact_transfer,
    detail_lines,
    for_humans,
    for_json,
    is_structured,
    list_entry,
    list_for_humans,
)

SUMMARY = {"id": "ab12", "name": "app.tar", "state": "finished-with-errors", "created": 0.0,
           "created_by": "root", "source": "/srv/app.tar", "dest": "/opt/dist", "bytes": 3 << 20,
           "targets": 4, "done": 3, "failed": 1, "pending": 0, "stale": 0, "throughput": 0,
           "eta_s": None, "master_share": None, "served_by_master": None}


def test_dates_are_iso_and_humans_see_no_none():
    assert for_json({"created": 0.0, "x": None}) == {"created": "1970-01-01T00:00:00+00:00", "x": None}
    assert for_humans({"summary": {"created": 0, "master_share": None, "refused": {}}}) == {
        "summary": {"created": "1970-01-01T00:00:00+00:00"}}


def test_outputters():
    assert not is_structured(None) and not is_structured("nested")
    assert is_structured("json") and is_structured("yaml")


def test_list_entry_has_a_state_and_an_iso_date():
    e = list_entry(SUMMARY)
    assert e["state"] == "finished-with-errors" and e["created"] == "1970-01-01T00:00:00+00:00"
    line = list_for_humans([e])["ab12"]
    assert "finished-with-errors" in line and "3/4 done, 1 failed" in line and "3.0 MiB" in line
    assert "1970-01-01T00:00:00+00:00 by root" in line


def test_an_empty_list_says_so():
    assert list_for_humans([]) == NO_DISTRIBUTIONS and "no distributions on this master" in NO_DISTRIBUTIONS


def test_detail_names_the_failed_minion_and_shows_no_none_or_epoch():
    view = {"distribution": SUMMARY, "minions": {
        "m1": {"state": "seeding", "bytes_done": 3 << 20, "site": None, "age_s": 2.0},
        "m4": {"state": "failed", "bytes_done": 0, "error": "a file is in the way", "age_s": 65.0}}}
    text = "\n".join(detail_lines(view))
    assert "m4: failed (last report 1 min 05 s ago): a file is in the way" in text
    assert "pushed 1970-01-01T00:00:00+00:00 by root" in text
    assert "None" not in text and "0.0" not in text


def test_compact_transfer():
    s = {"name": "a", "state": "downloading", "dest": "/opt", "bytes_done": 1, "bytes_total": 4,
         "peers": 3, "ledger": {"x": 1}, "error": ""}
    assert compact_transfer(s) == {"name": "a", "state": "downloading", "dest": "/opt", "percent": 25.0}
    assert compact_transfer({**s, "error": "disk full"})["error"] == "disk full"


def test_detail_says_when_the_masters_seeder_serves_nothing():
    lines = {o: "\n".join(detail_lines({"distribution": {**SUMMARY, "origin": o}, "minions": {}}))
             for o in ("seeding", "quiet", "stopped")}
    assert "master's seeder" not in lines["seeding"]
    assert "the master's seeder: quiet with the swarm, its torrent closed" in lines["quiet"]
    assert "the master's seeder: stopped (stop_seeding)" in lines["stopped"]
