from __future__ import annotations

from salt_p2pdist.core.reports import rows_from_answers, rows_from_events

PREFIX = "p2pdist/report/"


def ev(tag, minion, dists, ts=12.5, sender=None):
    # As the master bus delivers a minion's fire_master event: wrapped, with
    # the authenticated sender id in the envelope.
    payload = {"minion": minion, "ts": ts, "dists": dists}
    return {"tag": tag, "data": {"id": sender or minion, "tag": tag, "data": payload,
                                 "cmd": "_minion_event"}}


def test_rows_from_a_good_event():
    fields = {"state": "downloading", "pieces": 3}
    rows = rows_from_events([ev(PREFIX + "m1", "m1", {"d1": fields, "d2": {"state": "done"}})], PREFIX)
    assert rows == [("d1", "m1", 12.5, fields), ("d2", "m1", 12.5, {"state": "done"})]


def test_tag_and_minion_must_agree():
    assert rows_from_events([ev(PREFIX + "m1", "m2", {"d1": {}})], PREFIX) == []
    assert rows_from_events([ev(PREFIX, "", {"d1": {}})], PREFIX) == []


def test_wrong_prefix_is_dropped():
    events = [ev("salt/job/123/ret/m1", "m1", {"d1": {}}),
              ev("p2pdist/reportm1", "m1", {"d1": {}}),
              {"data": {"minion": "m1", "dists": {"d1": {}}}}]
    assert rows_from_events(events, PREFIX) == []


def test_malformed_events_are_skipped_not_fatal():
    good = ev(PREFIX + "m1", "m1", {"d1": {"state": "done"}})
    events = [
        {"tag": PREFIX + "m1", "data": None},
        {"tag": PREFIX + "m1", "data": ["not", "a", "dict"]},
        {"tag": PREFIX + "m1", "data": "text"},
        ev(PREFIX + "m1", "m1", ["not a dict"]),
        ev(PREFIX + "m1", "m1", {"d9": "not a dict", "d8": None}),
        ev(PREFIX + "m1", "m1", {"d1": {}}, ts="yesterday"),
        ev(PREFIX + "m1", "m1", {"d1": {}}, ts={"x": 1}),
        good,
    ]
    assert rows_from_events(events, PREFIX) == [("d1", "m1", 12.5, {"state": "done"})]


def test_missing_ts_is_zero_and_ids_are_strings():
    rows = rows_from_events([ev(PREFIX + "m1", "m1", {123: {"state": "queued"}}, ts=None)], PREFIX)
    assert rows == [("123", "m1", 0.0, {"state": "queued"})]


def test_a_minion_cannot_report_for_another():
    # m2 sends a report that claims to be m1's, in tag and payload: the
    # authenticated sender id in the envelope gives it away.
    forged = ev(PREFIX + "m1", "m1", {"d1": {"state": "seeding"}}, sender="m2")
    assert rows_from_events([forged], PREFIX) == []


def test_policy_changes_are_named_by_the_trusted_sender() -> None:
    from salt_p2pdist.core.reports import policy_changes_from_events

    def event(tag: str, sender: str, data: object) -> dict:
        return {"tag": tag, "data": {"id": sender, "data": data, "cmd": "_minion_event"}}

    events = [event("p2pdist/policy/m2", "m2", {"result": "applied", "policy": {"upload": False},
                                                "site": "paris"}),
              event("p2pdist/policy/m1", "m2", {"result": "applied"}),  # m2 posing as m1
              event("p2pdist/report/m2", "m2", {"result": "applied"}),  # not a policy event
              event("p2pdist/policy/m3", "m3", "garbage")]
    assert policy_changes_from_events(events) == [
        {"minion": "m2", "result": "applied", "policy": {"upload": False}, "site": "paris"}]


def test_answers_to_an_order_become_rows_stamped_with_the_minions_time():
    returns = {
        "m1": {"result": True, "state": "downloading", "bytes_done": 5, "site": "grain", "ts": 7.5,
               "order_id": "stale"},
        "m2": {"result": False, "error": "refusing to overwrite", "ts": 8.0},
        "m3": "'p2pdist.fetch' is not available.",
        "m4": {"result": True, "ts": "garbage"},  # no state: nothing to record
    }
    refused = {"m2": "refusing to overwrite", "m3": "'p2pdist.fetch' is not available."}
    rows = {m: (d, ts, f) for d, m, ts, f in rows_from_answers("d1", "o2", returns, refused, 99.0)}
    assert set(rows) == {"m1", "m2", "m3"}
    assert rows["m1"] == ("d1", 7.5, {"state": "downloading", "bytes_done": 5, "order_id": "o2"})
    assert rows["m2"] == ("d1", 8.0, {"state": "failed", "error": "refusing to overwrite",
                                      "order_id": "o2"})
    assert rows["m3"][1] == 99.0 and rows["m3"][2]["state"] == "failed"  # no time of its own


def test_the_agents_stamp_orders_reports_and_answers():
    event = {"tag": "p2pdist/report/m1", "data": {"id": "m1", "data": {
        "minion": "m1", "ts": 50.0, "dists": {"d1": {"state": "seeding", "as_of": 42.5},
                                             "d2": {"state": "queued", "as_of": True}}}}}
    rows = {d: ts for d, _m, ts, _f in rows_from_events([event], "p2pdist/report/")}
    assert rows == {"d1": 42.5, "d2": 50.0}  # a stamp that is not a time is ignored
    answer = {"m1": {"result": True, "state": "queued", "ts": 9.0, "as_of": 8.5}}
    assert rows_from_answers("d1", "o1", answer, {}, 99.0)[0][2] == 8.5


def test_a_report_of_a_host_preparing_a_new_version_is_kept():
    fields = {"state": "preparing", "bytes_done": 0}
    rows = rows_from_events([ev(PREFIX + "m1", "m1", {"d1": fields, "d2": {"state": "bogus"}})], PREFIX)
    assert rows == [("d1", "m1", 12.5, fields)]  # an unknown state is dropped, this one is not
