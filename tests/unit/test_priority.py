"""core/priority.py: the levels, and which swarm yields to which on a WAN link."""

from __future__ import annotations

import pytest

from salt_p2pdist.agent.orderbody import check_order
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.core import priority
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.priority import SwarmAtSite, held_at_origin, held_at_site, held_by_site


def test_levels_parse_leniently_in_case_and_refuse_anything_else_naming_them() -> None:
    assert priority.parse(" Urgent ") == "urgent" and priority.parse("background") == "background"
    for bad in ("asap", "", None, 3):
        with pytest.raises(InvalidRequest, match="is not one of urgent, normal, background"):
            priority.parse(bad)
    assert priority.level_of(None) == priority.level_of("bogus") == "normal"
    assert priority.rank("urgent") > priority.rank("normal") > priority.rank("background")


def test_the_agent_record_reads_its_level_and_an_order_with_a_bad_one_is_refused() -> None:
    raw = {"dist_id": "a" * 16, "mode": "fetch", "torrent": "eA==", "phase": "staging", "save_path": "/s"}
    assert OrderRecord.from_json(raw).level() == "normal"  # a record of an agent before priorities
    assert OrderRecord.from_json({**raw, "priority": "urgent"}).level() == "urgent"
    assert OrderRecord.from_json({**raw, "priority": "junk"}).level() == "normal"
    order = {"mode": "fetch", "torrent": "eA==", "dest": "/d"}
    assert check_order({**order, "priority": "background"})["priority"] == "background"
    with pytest.raises(InvalidRequest, match="priority"):
        check_order({**order, "priority": "soon"})


def test_a_lower_swarm_yields_while_a_higher_one_needs_the_link() -> None:
    rows = [SwarmAtSite("bg", "background", True), SwarmAtSite("fix", "urgent", True),
            SwarmAtSite("patch", "normal", True)]
    assert held_at_site(rows) == {"bg": "fix", "patch": "fix"}


def test_nothing_yields_to_a_swarm_that_no_longer_needs_the_link() -> None:
    rows = [SwarmAtSite("bg", "background", True), SwarmAtSite("fix", "urgent", False)]
    assert held_at_site(rows) == {}
    rows.append(SwarmAtSite("patch", "normal", True))
    assert held_at_site(rows) == {"bg": "patch"}  # background uses what normal leaves


def test_a_swarm_that_does_not_need_the_link_is_not_shown_held() -> None:
    rows = [SwarmAtSite("done", "background", False), SwarmAtSite("fix", "urgent", True)]
    assert held_at_site(rows) == {}


def test_swarms_of_one_level_share_rather_than_hold_each_other_back() -> None:
    assert held_at_site([SwarmAtSite("a", "normal", True), SwarmAtSite("b", "normal", True)]) == {}


def test_each_site_is_decided_on_its_own_link() -> None:
    levels = {"bg": "background", "fix": "urgent"}
    needs = {"bg": ["paris", "lyon"], "fix": ["paris"]}
    assert held_by_site(levels, needs) == {"paris": {"bg": "fix"}}
    assert held_by_site(levels, {}) == {}


def test_the_origin_serves_a_higher_swarm_first_while_any_host_of_it_is_incomplete() -> None:
    levels = {"bg": "background", "fix": "urgent", "patch": "normal"}
    assert held_at_origin(levels, ["bg", "fix", "patch"]) == {"bg": "fix", "patch": "fix"}
    assert held_at_origin(levels, ["bg", "patch"]) == {"bg": "patch"}
    assert held_at_origin(levels, ["bg"]) == {}


def test_expected_finish_puts_higher_levels_first_and_shares_within_a_level() -> None:
    alone = {"fix": ("urgent", 10.0), "p20": ("normal", 20.0), "p50": ("normal", 50.0),
             "img": ("background", 100.0)}
    assert priority.expected_finish(alone) == {"fix": 10.0, "p20": 10.0 + 20 + 20, "p50": 10.0 + 20 + 50,
                                               "img": 10.0 + 70 + 100}


def test_expected_finish_is_unknown_behind_an_unknown() -> None:
    alone = {"fix": ("urgent", None), "img": ("background", 100.0), "other": ("background", 5.0)}
    assert priority.expected_finish(alone) == {"fix": None, "img": None, "other": None}
    assert priority.expected_finish({"img": ("background", 100.0)}) == {"img": 100.0}
