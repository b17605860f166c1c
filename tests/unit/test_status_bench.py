"""The status benchmark runs end to end, small: behaviour, not speed."""

from __future__ import annotations

import json

from lab import status_bench


def test_status_bench_small(tmp_path):
    out = tmp_path / "status.json"
    r = status_bench.run(minions=200, dists=2, rounds=2, batches=(1, 100), repeats=1, out=out)
    saved = json.loads(out.read_text())
    for key in ("minions", "ingest_reports_per_s", "status_query_s", "status_list_s", "store_bytes",
                "minion_report"):
        assert key in saved, key
    assert saved["minions"] == 200 and saved["dists"] == 2
    # every event went through the returner into the catalog: one row per (minion, distribution)
    assert [i["rows"] for i in saved["ingest"]] == [200 * 2, 200 * 2]
    assert [i["event_return_queue"] for i in saved["ingest"]] == [1, 100]
    assert saved["rows"] == 400 and saved["store_bytes"] > 0
    assert set(saved["store_files"]) >= {"catalog.sqlite"}
    one, two = saved["minion_report"]["dists_1"], saved["minion_report"]["dists_2"]
    assert 0 < one["payload_bytes"] < two["payload_bytes"] < two["wire_bytes"]
    assert two["payload_bytes_stored_fields_only"] < two["payload_bytes"]
    assert "200 minions" in status_bench.table(r)


def test_events_are_shaped_like_the_master_bus():
    from salt_p2pdist.core.reports import rows_from_events

    evs = list(status_bench.events(["m1", "m2"], ["d1"], 0, 1))
    assert evs[0]["tag"] == "p2pdist/report/m1" and evs[0]["data"]["id"] == "m1"
    assert evs[0]["data"]["cmd"] == "_minion_event" and evs[0]["data"]["data"]["minion"] == "m1"
    fields = evs[0]["data"]["data"]["dists"]["d1"]
    assert set(fields) == {"dist_id", "name", "mode", "state", "pieces", "num_pieces", "bytes_done",
                           "bytes_total", "down_rate", "up_rate", "peers", "downloaded", "uploaded",
                           "eta_s", "dest", "error"}
    assert [(d, m) for d, m, _, _ in rows_from_events(evs, "p2pdist/report/")] == [("d1", "m1"),
                                                                                   ("d1", "m2")]
