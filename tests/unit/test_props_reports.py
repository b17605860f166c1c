"""Property: report and policy events from minions become rows for their sender only, or are dropped."""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from pathlib import Path

from hostile_strategies import json_like, scalars
from hypothesis import example, given, settings
from hypothesis import strategies as st

from salt_p2pdist.core import status as status_view
from salt_p2pdist.core.reports import (
    POLICY_TAG_PREFIX,
    REPORT_FIELDS,
    policy_changes_from_events,
    rows_from_events,
)
from salt_p2pdist.files.audit import AuditLog, read
from salt_p2pdist.master.catalog import Catalog

TAG = "p2pdist/report/"
ids = st.sampled_from(["m1", "m2", "", None, 1]) | json_like
reports = st.fixed_dictionaries({}, optional={
    "minion": ids, "ts": st.sampled_from([1.5, "2", "x", None, float("inf"), 10**400])
    | json_like, "site": json_like,
    "dists": st.dictionaries(st.text(max_size=4), json_like, max_size=3) | json_like}) | json_like


@st.composite
def events(draw):
    sender = draw(ids)
    tag = draw(st.sampled_from([TAG, POLICY_TAG_PREFIX, "salt/minion/", "other/"])) + str(
        draw(st.sampled_from([sender, "m1", "m2"]) | st.text(max_size=4)))
    envelope = draw(st.fixed_dictionaries({"id": st.just(sender), "data": reports | json_like})
                    | json_like)
    return draw(st.fixed_dictionaries({"tag": st.just(tag), "data": st.just(envelope)}) | json_like)


@settings(max_examples=400)
@given(st.lists(events(), max_size=6))
def test_events_become_rows_of_their_sender_or_are_dropped(batch):
    batch = [e for e in batch if isinstance(e, dict)]  # the master bus hands over dicts
    for dist_id, minion, ts, fields in rows_from_events(batch, TAG):
        assert isinstance(dist_id, str) and isinstance(ts, float) and isinstance(fields, dict)
        assert any(isinstance(e.get("data"), dict) and e["data"].get("id") == minion
                   and str(e.get("tag")) == TAG + str(minion) for e in batch)
    for change in policy_changes_from_events(batch):
        assert isinstance(change["result"], str) and isinstance(change["site"], str)
        assert any(isinstance(e.get("data"), dict) and e["data"].get("id") == change["minion"]
                   for e in batch)


@st.composite
def consistent_reports(draw):
    """Sender, tag and payload agree: only the payload's values are hostile."""
    sender = draw(st.sampled_from(["m1", "m2"]))
    data = {"minion": sender, "ts": draw(st.sampled_from([1.5, "2", 10**400, "nan"]) | json_like),
            "dists": draw(st.dictionaries(st.text(max_size=4), json_like, max_size=3)),
            "site": draw(json_like)}
    return {"tag": TAG + sender, "data": {"id": sender, "data": data}}


@settings(max_examples=200)
@given(st.lists(consistent_reports(), min_size=1, max_size=4))
@example([{"tag": TAG + "m1", "data": {"id": "m1", "data": {"minion": "m1", "ts": 10**400,
                                                             "dists": {"d": {}}}}}])
def test_one_bad_timestamp_drops_only_its_report(batch):  # found: ts=10**400 raised OverflowError
    rows = rows_from_events(batch, TAG)
    assert all(isinstance(ts, float) and math.isfinite(ts) for _d, _m, ts, _f in rows)


policy_events = st.builds(
    lambda sender, policy, result: {"tag": POLICY_TAG_PREFIX + sender, "data": {
        "id": sender, "data": {"result": result, "policy": policy, "site": "s"}}},
    st.sampled_from(["m1", "m2"]),
    st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.integers(0, 3) | st.text(max_size=3) | st.none(), inner, max_size=3), max_leaves=8),
    st.sampled_from(["applied", "refused: x"]) | json_like)


@settings(max_examples=200)
@given(st.lists(policy_events, min_size=1, max_size=3))
@example([{"tag": POLICY_TAG_PREFIX + "m1", "data": {"id": "m1", "data": {
    "result": "refused: unknown key", "policy": {1: "x", "a": 2}}}}])  # found: TypeError in the audit log
def test_policy_events_of_any_shape_reach_the_audit_log(batch):
    with tempfile.TemporaryDirectory() as tmp:
        audit = AuditLog(Path(tmp) / "audit.log")
        for change in policy_changes_from_events(batch):
            audit.record("policy", "pillar p2pdist:policy", result=change.pop("result"), **change)
        assert len(read(Path(tmp) / "audit.log")) == len(batch)


report_fields = st.fixed_dictionaries({}, optional={k: st.sampled_from(
    [0, 5, -1, 2**64, 1.5, float("inf"), "x", "downloading", None, True]) | json_like for k in REPORT_FIELDS})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["m1", "m2"]), report_fields), min_size=1, max_size=4))
def test_reports_of_any_values_are_stored_and_shown(reports):
    batch = [{"tag": TAG + m, "data": {"id": m, "data": {"minion": m, "ts": 1.0 + i,
                                                         "dists": {"d1": fields}}}}
             for i, (m, fields) in enumerate(reports)]
    with tempfile.TemporaryDirectory() as tmp:
        catalog = Catalog(Path(tmp) / "catalog.sqlite")
        try:
            catalog.add_distribution(dist_id="d1", name="pkg", source="/srv/pkg", dest="/opt",
                                     torrent=b"t", total_bytes=1000, num_pieces=4, user="root",
                                     targets=["m1", "m2"])
            catalog.record_reports(rows_from_events(batch, TAG))
            dist = catalog.distribution("d1")
            view = status_view.distribution_view(dist, catalog.host_rows("d1"), 10.0, None)
            status_view.site_lines(view)
            counts = catalog.state_counts().get("d1", {})
            status_view.one_line(dist, counts)
            # SQLite's counts tell the distribution's state as the view does (status <id> relies on it)
            assert status_view.distribution_state(dist, counts, 10.0) == view["distribution"]["state"]
            rows = catalog.host_rows("d1")
            assert counts == Counter(status_view.current_state(r) for r in rows)
        finally:
            catalog.close()
