"""The agent's order record: typed in memory, the same order.json on disk as ever."""

from __future__ import annotations

import json

import pytest

from salt_p2pdist.agent.book import TransferBook
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.store import OrderStore
from salt_p2pdist.core import lifecycle

# What the agent wrote for a fetch before its record was typed (field for field).
CURRENT = {"mode": "fetch", "name": "pkg.bin", "dist_id": "0123456789abcdef", "torrent": "ZDRlZQ==",
           "tracker": "https://master:6970/announce", "force": False, "targets": ["m1", "m2"],
           "upload_limit": 0, "sites": {"lyon": {"networks": ["10.1.0.0/16"]}}, "site": "",
           "order_id": "o-7", "reused": 4096, "dest": "/srv/dest", "phase": "placed",
           "save_path": "/srv/dest", "tls_cert": "-----BEGIN CERTIFICATE-----",
           "failed_bytes": 16384, "ledger": {"from_site": 1, "from_remote": 2, "from_origin": 3},
           "site_seen": "lyon", "banned": ["10.1.0.9"]}
# The earliest agents: no name, order id, sites or limits yet; a bearer token.
OLDEST = {"mode": "fetch", "dist_id": "fedcba9876543210", "torrent": "ZDRlZQ==",
          "tracker": "http://master:6969/announce", "force": True, "dest": "/srv/old",
          "phase": "staging", "save_path": "/var/lib/p2pdist/staging/fedcba9876543210",
          "auth": "secret-token"}


def test_a_record_of_the_previous_agent_reads_and_writes_back_field_for_field():
    record = OrderRecord.from_json(json.loads(json.dumps(CURRENT)))
    assert (record.phase, record.dest, record.order_id, record.banned) == (
        lifecycle.PLACED, "/srv/dest", "o-7", ["10.1.0.9"])
    # Fields this agent added come back at their defaults; every earlier one as it was.
    assert record.to_json() == {**CURRENT, "seeded": 0, "supersedes": [], "replaced": {}, "uploaded": 0,
                                "priority": "normal"}


def test_an_old_record_loads_with_defaults_and_drops_the_retired_token():
    record = OrderRecord.from_json(OLDEST)
    assert (record.phase, record.force, record.targets, record.order_id, record.upload_limit) == (
        lifecycle.STAGING, True, [], "", 0)
    written = record.to_json()
    assert "auth" not in written
    assert {k: v for k, v in OLDEST.items() if k != "auth"}.items() <= written.items()


def test_an_old_state_dir_resumes_through_the_book(tmp_path):
    store = OrderStore(tmp_path / "dists")
    store.save(OLDEST["dist_id"], OLDEST)
    store.save_resume(OLDEST["dist_id"], b"resume")
    store.save("broken", {"dist_id": "broken", "mode": "fetch"})  # unusable: logged and left
    [(record, resume)] = TransferBook(store).load()
    assert (record.dist_id, record.dest, resume) == (OLDEST["dist_id"], "/srv/old", b"resume")


@pytest.mark.parametrize(("raw", "problem"), [
    ([], "must be a JSON object"),
    ({**OLDEST, "torrent": ""}, "lacks torrent"),
    ({k: v for k, v in OLDEST.items() if k not in ("phase", "save_path")}, "lacks phase, save_path"),
    ({**OLDEST, "phase": "moving"}, "unknown phase 'moving'"),
])
def test_an_unusable_record_is_refused_by_name(raw, problem):
    with pytest.raises(ValueError, match=problem):
        OrderRecord.from_json(raw)


def test_a_move_cut_short_is_stored_as_staging():
    record = OrderRecord.from_json(OLDEST)
    record.phase = lifecycle.MOVING
    assert record.to_json()["phase"] == lifecycle.STAGING
