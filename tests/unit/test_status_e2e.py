"""The end-to-end status bench's reports: what the beacon sends, and what the master keeps of it."""

from __future__ import annotations

import random

from lab import status_e2e, status_load
from salt_p2pdist.core.pacing import report_every
from salt_p2pdist.core.reports import REPORT_FIELDS, rows_from_events

AGENT_ONLY = ("failed_bytes", "banned", "reused", "seeded", "replaced", "name", "dest", "bytes_total")


def test_a_full_report_has_every_agent_field_and_a_lean_one_only_what_the_master_keeps() -> None:
    rng, dists = random.Random(1), {"e2e0a1b2c3d4e5f6": "0123456789abcdef"}
    full = status_load.beacon_report(rng, "m1", dists, 0.5, lean=False)["dists"]["e2e0a1b2c3d4e5f6"]
    assert set(full) >= {*REPORT_FIELDS, *AGENT_ONLY, "as_of"}
    lean = status_load.beacon_report(rng, "m1", dists, 0.5, lean=True)
    assert set(lean["dists"]["e2e0a1b2c3d4e5f6"]) == {*REPORT_FIELDS, "as_of"}
    # as the master's bus delivers it: one row, named by the sender, with the site's byte counts
    event = {"tag": "p2pdist/report/m1", "data": {"id": "m1", "data": lean, "cmd": "_minion_event"}}
    [(dist, minion, ts, fields)] = rows_from_events([event], "p2pdist/report/")
    assert (dist, minion, fields["order_id"]) == ("e2e0a1b2c3d4e5f6", "m1", "0123456789abcdef")
    assert ts == lean["dists"][dist]["as_of"] and fields["from_site"] > 0


def test_the_bench_paces_its_minions_as_the_master_would() -> None:
    assert status_e2e.paced_interval(10_000, {}) == report_every(10_000, 250, 5) == 40
    assert status_e2e.paced_interval(10_000, {"p2pdist": {"report_budget": 500}}) == 20
