from __future__ import annotations

from collections import Counter

import pytest

from salt_p2pdist.core import status
from salt_p2pdist.core.status import (
    STALE_AFTER_S,
    current_state,
    distribution_state,
    distribution_view,
    host_view,
    one_line,
    to_order,
)

NOW = 10_000.0
DIST = {"id": "d1", "name": "pkg", "source": "/srv/pkg", "dest": "/opt", "total_bytes": 1000,
        "created_by": "root", "created": 1.0, "cancelled": 0}


def row(minion, state=None, ts=None, **kw):
    r = {"minion": minion, "state": state, "ts": ts}
    r.update(kw)
    return r


def test_host_view_pending_when_nothing_heard():
    v = host_view(row("m1"), NOW)
    assert v["state"] == "pending" and v["age_s"] is None
    assert v["bytes_done"] is None


def test_host_view_marks_silent_active_hosts_stale():
    assert host_view(row("m", "downloading", NOW - STALE_AFTER_S - 1), NOW)["state"] == "stale"
    assert host_view(row("m", "queued", NOW - 1000), NOW)["state"] == "stale"
    assert host_view(row("m", "downloading", NOW - STALE_AFTER_S + 1), NOW)["state"] == "downloading"
    assert host_view(row("m", "downloading", NOW - 10), NOW, stale_after=5)["state"] == "stale"


def test_host_view_never_marks_finished_hosts_stale():
    for state in ("seeding", "done", "failed", "cancelled"):
        v = host_view(row("m", state, NOW - 10 * STALE_AFTER_S), NOW)
        assert v["state"] == state
        assert v["age_s"] == 10 * STALE_AFTER_S


def test_host_view_copies_the_report_fields():
    v = host_view(row("m", "downloading", NOW - 1.26, pieces=3, bytes_done=300, down_rate=50,
                      error=None, secret="x"), NOW)
    assert (v["pieces"], v["bytes_done"], v["down_rate"], v["age_s"]) == (3, 300, 50, 1.3)
    assert "secret" not in v and "minion" not in v


def test_distribution_view_counts():
    rows = [row("a", "done", NOW - 5, bytes_done=1000, downloaded=600),
            row("b", "seeding", NOW - 5, bytes_done=1000, downloaded=400),
            row("c", "failed", NOW - 5, bytes_done=10, error="disk"),
            row("d", "downloading", NOW - 5, bytes_done=400, down_rate=100, downloaded=400),
            row("e", "downloading", NOW - 500, bytes_done=500, down_rate=0),  # stale
            row("f")]
    view = distribution_view(DIST, rows, NOW, origin={"uploaded": 350})
    s = view["distribution"]
    assert (s["targets"], s["done"], s["failed"], s["pending"], s["stale"]) == (6, 2, 1, 1, 1)
    assert s["state"] == "active"
    assert s["throughput"] == 100
    # left: d 600 + e 500 + f 1000 (failed and complete hosts excluded) at 100 B/s
    assert s["eta_s"] == 21
    assert s["downloaded_by_hosts"] == 1400
    assert s["served_by_master"] == 350
    assert s["master_share"] == round(350 / 1400, 3)
    assert set(view["minions"]) == {"a", "b", "c", "d", "e", "f"}
    assert view["minions"]["e"]["state"] == "stale"
    assert (s["id"], s["name"], s["dest"], s["bytes"]) == ("d1", "pkg", "/opt", 1000)


def test_distribution_view_complete_and_no_origin():
    rows = [row("a", "done", NOW, bytes_done=1000, downloaded=1000)]
    s = distribution_view(DIST, rows, NOW)["distribution"]
    assert s["state"] == "complete"
    assert s["eta_s"] == 0
    assert s["served_by_master"] is None and s["master_share"] is None


def test_distribution_view_stalled_has_no_eta_and_cancelled_wins():
    rows = [row("a", "downloading", NOW, bytes_done=10, down_rate=0)]
    assert distribution_view(DIST, rows, NOW)["distribution"]["eta_s"] is None
    cancelled = dict(DIST, cancelled=1)
    assert distribution_view(cancelled, rows, NOW)["distribution"]["state"] == "cancelled"


def test_distribution_view_without_targets():
    s = distribution_view(DIST, [], NOW)["distribution"]
    assert (s["state"], s["targets"], s["done"], s["eta_s"]) == ("pending", 0, 0, 0)


def test_one_line():
    line = one_line(dict(DIST, total_bytes=3 * 2**20), {"done": 2, "seeding": 1, "failed": 1})
    assert line.startswith("pkg  finished-with-errors  3/4 done  1 failed  3.0 MiB  -> /opt  by root")
    assert " complete " in one_line(DIST, {"done": 1})
    assert " cancelled " in one_line(dict(DIST, cancelled=1), {"done": 1})
    assert " pending " in one_line(DIST, {})
    assert " active " in one_line(DIST, {"done": 1, "pending": 1})
    assert status.STALE_AFTER_S > 0


@pytest.mark.parametrize(("states", "expected"), [
    ([], "pending"),
    (["cancelled", "cancelled"], "incomplete"),
    (["seeding", "done"], "complete"),
    (["done"], "complete"),
    (["done", "failed"], "finished-with-errors"),
    (["failed", "removed"], "finished-with-errors"),
    (["seeding", "cancelled"], "incomplete"),
    (["seeding", "removed"], "incomplete"),
    (["removed"], "incomplete"),
    (["done", "downloading"], "active"),
    (["pending", "done"], "active"),
    (["cancelled", "queued"], "active"),
    (["stale", "done"], "active"),
])
def test_distribution_state(states, expected):
    assert distribution_state(DIST, Counter(states)) == expected
    assert distribution_state(dict(DIST, cancelled=1), Counter(states)) == "cancelled"


def test_distribution_state_ignores_zero_counts():
    assert distribution_state(DIST, {"done": 1, "failed": 0}) == "complete"


def test_a_report_on_an_earlier_order_counts_as_pending():
    seeding = row("m", "seeding", NOW, bytes_done=1000, order_id="a")
    assert current_state({**seeding, "current_order": "a"}) == "seeding"
    assert current_state({**seeding, "current_order": "b"}) == "pending"
    view = host_view({**seeding, "current_order": "b"}, NOW)
    assert view["state"] == "pending" and view["bytes_done"] is None and view["age_s"] is None
    # catalogs and minions from before order ids: neither side has one
    assert current_state(row("m", "done", NOW)) == "done"
    assert current_state({**row("m", "done", NOW), "current_order": "b"}) == "pending"
    assert current_state(row("m")) == "pending"


def test_a_removed_host_is_not_done_and_leaves_nothing_to_fetch():
    rows = [row("a", "seeding", NOW, bytes_done=1000), row("b", "removed", NOW)]
    s = distribution_view(DIST, rows, NOW)["distribution"]
    assert (s["state"], s["done"], s["eta_s"]) == ("incomplete", 1, 0)


def test_to_order_adds_every_earlier_target_without_the_current_copy():
    rows = [{**row("m1", "seeding", NOW), "order_id": "a", "current_order": "a"},
            {**row("m2", "seeding", NOW), "order_id": "a", "current_order": "b"},  # not answered
            {**row("m3", "removed", NOW), "order_id": "a", "current_order": "a"},
            {**row("m4", "failed", NOW), "order_id": "a", "current_order": "a"},
            row("m5")]
    assert to_order(["m0", "m1"], rows) == ["m0", "m1", "m2", "m3", "m4", "m5"]
    assert to_order(["m1"], rows[:1]) == ["m1"]
    assert to_order(["m1"], []) == ["m1"]


def test_a_host_preparing_a_new_version_is_active_and_goes_stale_when_silent():
    """Copying an older version into staging (no torrent yet) is work under way: the
    distribution is active, and a host that stops reporting meanwhile shows stale."""
    assert host_view(row("m", "preparing", NOW - 5), NOW)["state"] == "preparing"
    assert host_view(row("m", "preparing", NOW - STALE_AFTER_S - 1), NOW)["state"] == "stale"
    assert distribution_state(DIST, Counter({"preparing": 1, "seeding": 3})) == "active"
