"""The two-person rule: which requests wait, and who may carry them out, once."""

from __future__ import annotations

from pathlib import Path

import pytest

from salt_p2pdist.core.errors import Forbidden, InvalidRequest, NotFound
from salt_p2pdist.master.approval import ApprovalDesk, ApprovalRule

DB = {"G@role:db": {"db1", "db2"}}


def resolve(expr: str) -> set[str]:
    return DB.get(expr, set())


def test_no_rule_holds_nothing() -> None:
    rule = ApprovalRule.from_config(None)
    assert not rule.active
    assert rule.reasons([f"m{i}" for i in range(10_000)], resolve) == []


def test_more_targets_than_the_limit_need_a_second_admin() -> None:
    rule = ApprovalRule.from_config({"max_targets": 2})
    assert rule.reasons(["a", "b"], resolve) == []
    assert rule.reasons(["a", "b", "c"], resolve) == ["3 targets, more than approval:max_targets (2)"]


def test_a_protected_target_needs_a_second_admin_however_few() -> None:
    rule = ApprovalRule.from_config({"protected": ["G@role:db"]})
    assert rule.reasons(["web1"], resolve) == []
    assert rule.reasons(["web1", "db2"], resolve) == ["protected target 'G@role:db' (db2)"]


def test_a_bad_rule_names_every_problem() -> None:
    with pytest.raises(InvalidRequest) as err:
        ApprovalRule.from_config({"max_targets": "ten", "protected": "G@x:y", "ttl": 0, "who": 1})
    text = str(err.value)
    for part in ("unknown key 'who'", "max_targets must be", "protected must be", "ttl must be"):
        assert part in text, text


def test_the_requester_cannot_approve_and_another_admin_can_once(tmp_path: Path) -> None:
    desk = ApprovalDesk(tmp_path / "approvals")
    entry = desk.request("push", "alice", {"path": "/srv/a", "tgt": "*"}, ["3 targets"])
    assert [e["id"] for e in desk.pending()] == [entry["id"]]
    with pytest.raises(Forbidden, match=r"alice asked for \w+ and cannot approve it"):
        desk.take(entry["id"], "alice")
    assert desk.pending(), "a refused approval leaves the request waiting"
    taken = desk.take(entry["id"], "carol")
    assert taken["args"] == {"path": "/srv/a", "tgt": "*"} and taken["user"] == "alice"
    with pytest.raises(NotFound):
        desk.take(entry["id"], "dave")  # carried out at most once
    assert desk.pending() == []


def test_requests_expire(tmp_path: Path) -> None:
    now = [1000.0]
    desk = ApprovalDesk(tmp_path, clock=lambda: now[0])
    entry = desk.request("cancel", "alice", {"id": "d1"}, ["protected"])
    now[0] += 61
    assert desk.pending(ttl=60) == []
    with pytest.raises(NotFound):
        desk.take(entry["id"], "carol", ttl=60)
