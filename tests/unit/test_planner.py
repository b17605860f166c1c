"""The planner: the bound on a WAN's distribution time, its binding term, the plan per site."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.planner import NO_SITE, plan
from salt_p2pdist.core.planview import against_plan, plan_lines, progress_against_plan, status_lines
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.core.wanlinks import HUB, MESH, Link, Wan, parse_size, wan_from_config

MiB = 1 << 20
F = 64 * MiB
MBIT = 125_000.0  # bytes/s


def uniform(shape: str = MESH) -> Wan:
    return Wan(shape, Link(100, 100), {f"b{i}": Link(20, 20) for i in range(4)})


def test_the_default_lab_is_bound_by_the_branch_downlink() -> None:
    p = plan(uniform(), {f"b{i}": 5 for i in range(4)}, F)
    # F/d = 64 MiB / 20 Mbit/s = 26.84 s; F/u_hq = 5.37 s; 4F/(100+4*20 Mbit/s) = 11.93 s
    assert p["bound_s"] == pytest.approx(F / (20 * MBIT))
    assert p["binding"]["term"] == "downlink:b0" and p["complete"]
    seconds = {t["term"]: t["seconds"] for t in p["terms"]}
    assert seconds["hq_uplink"] == pytest.approx(5.3687, rel=1e-4)
    assert seconds["total_upload"] == pytest.approx(4 * F / (180 * MBIT))
    assert all(s["eta_s"] == pytest.approx(26.8435, rel=1e-4) for s in p["sites"].values())
    assert all(s["wan_in_bytes"] == F for s in p["sites"].values())


def test_eight_branches_on_a_thin_hq_are_bound_by_the_total_upload() -> None:
    wan = Wan(MESH, Link(up=30), {f"b{i}": Link(20, 5) for i in range(8)})
    p = plan(wan, {f"b{i}": 5 for i in range(8)}, F)
    # 8 copies / (30 + 8*5 Mbit/s) = 8 * 64 MiB / 70 Mbit/s = 61.35 s
    assert p["binding"]["term"] == "total_upload"
    assert p["bound_s"] == pytest.approx(8 * F / (70 * MBIT))
    assert p["hq"]["wan_out_bytes"] == int(8 * F * 30 / 70)
    assert sum(s["wan_out_bytes"] for s in p["sites"].values()) == pytest.approx(8 * F * 40 / 70, abs=8)


def test_a_hub_sends_every_copy_over_the_hq_uplink() -> None:
    p = plan(uniform(HUB), {f"b{i}": 5 for i in range(4)}, F)
    # 4 copies over 100 Mbit/s = 21.5 s < F/20 Mbit/s = 26.8 s: still the branch downlink
    assert p["binding"]["term"] == "downlink:b0"
    assert p["hq"]["wan_out_bytes"] == 4 * F
    assert all(s["wan_out_bytes"] == 0 for s in p["sites"].values())
    p6 = plan(Wan(HUB, Link(100, 100), {f"b{i}": Link(20, 20) for i in range(6)}),
              {f"b{i}": 2 for i in range(6)}, F)
    assert p6["binding"]["term"] == "hq_uplink"
    assert p6["bound_s"] == pytest.approx(6 * F / (100 * MBIT))  # 32.2 s


def test_a_slow_site_does_not_hold_the_fast_ones_back() -> None:
    wan = Wan(MESH, Link(up=100), {"paris": Link(50, 50), "lyon": Link(8, 1)})
    p = plan(wan, {"paris": 5, "lyon": 8}, F)
    assert p["binding"]["term"] == "downlink:lyon"
    assert p["sites"]["lyon"]["eta_s"] == pytest.approx(F / (8 * MBIT))
    assert p["sites"]["paris"]["eta_s"] == pytest.approx(F / (50 * MBIT))


def test_hosts_on_the_hq_lan_cross_no_wan_link() -> None:
    wan = Wan(MESH, Link(up=100), {"hq": Link(), "b": Link(10, 10)}, hq_site="hq")
    p = plan(wan, {"hq": 3, "b": 2}, F)
    assert p["sites"]["hq"]["eta_s"] == 0 and p["sites"]["hq"]["on_hq_lan"]
    assert p["branch_sites"] == 1 and p["complete"]


def test_unconfigured_links_are_named_not_guessed() -> None:
    wan = Wan(MESH, Link(), {"paris": Link(20, None), "lyon": Link()})
    p = plan(wan, {"paris": 2, "lyon": 2, NO_SITE: 1}, F)
    assert not p["complete"]
    text = " ".join(p["unknown"])
    for words in ("HQ uplink", "site lyon: no down rate", "in no configured site", "total upload"):
        assert words in text
    assert p["sites"]["lyon"]["eta_s"] is None and p["hq"]["wan_out_bytes"] is None
    assert p["bound_s"] == pytest.approx(F / (20 * MBIT))  # what is known still bounds
    assert any(line.startswith("  cannot know:") for line in plan_lines(p))
    nothing = plan(Wan(), {"x": 1}, F)
    assert nothing["bound_s"] is None and "no bound" in plan_lines(nothing)[0]


def test_the_config_takes_rates_beside_networks_and_refuses_bad_ones() -> None:
    sites = {"lyon": {"networks": ["10.21.0.0/16"], "down": 8, "up": 1.5}}
    SiteMap.from_config(sites)
    wan = wan_from_config(sites, {"up": 100, "down": 100}, "hub")
    assert wan.sites["lyon"] == Link(8.0, 1.5) and wan.shape == HUB
    cfg = MasterSettings.from_opts({"cachedir": "/tmp", "p2pdist": {"sites": sites, "wan": "hub"}})
    assert cfg.wan == HUB
    with pytest.raises(InvalidRequest) as err:
        wan_from_config({"lyon": {"down": "fast", "up": -1}}, {"up": True, "speed": 1, "site": "x"},
                        "star")
    for words in ("lyon:down", "lyon:up", "hq:up", "speed", "'star'", "hq:site"):
        assert words in str(err.value)
    with pytest.raises(InvalidRequest, match="wan"):
        MasterSettings.from_opts({"cachedir": "/tmp", "p2pdist": {"wan": "ring"}})


@pytest.mark.parametrize("text,size", [("64MiB", 64 * MiB), ("700M", 700 * MiB), ("1.5GB", 1.5e9),
                                        ("4096", 4096), ("2 KiB", 2048), ("10kb", 10_000)])
def test_sizes_given_by_hand(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "big", "0", "-5M", "1 parsec"])
def test_a_size_that_is_none_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_size(text)


def test_progress_held_against_the_plan() -> None:
    p = plan(uniform(), {"b0": 2, "b1": 2, "b2": 2, "b3": 2}, F)
    seen = against_plan(p, {"b0": 2 * F, "b1": F}, elapsed=13.4)
    assert seen["b0"]["fraction"] == 1.0 and seen["b0"]["eta_s"] == 0.0
    assert seen["b1"]["fraction"] == 0.5 and seen["b1"]["eta_s"] == pytest.approx(13.4)
    assert seen["b1"]["planned_fraction"] == pytest.approx(0.5, rel=0.01)
    assert seen["b2"]["eta_s"] is None  # no byte yet: no pace to go by


rates = st.floats(0.5, 1000)
links = st.builds(Link, rates, rates)
wans = st.builds(Wan, st.sampled_from([MESH, HUB]), links,
                 st.dictionaries(st.sampled_from("abcdefgh"), links, min_size=1))


@settings(max_examples=300)
@given(wans, st.integers(1, 1 << 40), st.integers(1, 1 << 20))
def test_the_bound_is_every_term_and_the_last_eta(wan: Wan, size: int, more: int) -> None:
    hosts = dict.fromkeys(wan.sites, 3)
    p = plan(wan, hosts, size)
    assert p["complete"]
    for t in p["terms"]:
        assert p["bound_s"] >= t["seconds"]
    assert max(s["eta_s"] for s in p["sites"].values()) == pytest.approx(p["bound_s"], rel=1e-9)
    assert min(s["eta_s"] for s in p["sites"].values()) >= size / (wan.hq.up * MBIT) * (1 - 1e-9)
    assert plan(wan, hosts, size + more)["bound_s"] >= p["bound_s"]  # more bytes never faster
    # Shipping bytes is shipping bytes: every branch receives one copy, the uploads add up to it.
    sent = p["hq"]["wan_out_bytes"] + sum(s["wan_out_bytes"] for s in p["sites"].values())
    assert sent == pytest.approx(len(hosts) * size, rel=1e-6, abs=len(hosts) + 1)


@settings(max_examples=200)
@given(wans, st.integers(1, 1 << 40))
def test_a_faster_link_never_raises_the_bound(wan: Wan, size: int) -> None:
    hosts = dict.fromkeys(wan.sites, 1)
    faster = Wan(wan.shape, Link(wan.hq.down, (wan.hq.up or 1) * 2), wan.sites)
    assert plan(faster, hosts, size)["bound_s"] <= plan(wan, hosts, size)["bound_s"] * (1 + 1e-9)


def test_status_shows_each_site_against_the_plan() -> None:
    view = {"distribution": {"bytes": F, "created": 1000.0, "state": "active"},
            "minions": {"a1": {"site": "b0", "state": "done"},
                        "a2": {"site": "b0", "state": "downloading", "bytes_done": F // 2},
                        "c1": {"site": "host:c1", "state": "pending"}}}
    planned = progress_against_plan(view, uniform(), now=1013.42)
    assert planned["sites"]["b0"]["fraction"] == 0.75
    assert planned["sites"]["b0"]["planned_fraction"] == pytest.approx(0.5, rel=0.01)
    assert not planned["complete"]  # c1 is in no site
    lines = status_lines(planned)
    assert lines[0].startswith("  bound at least 26.8 s (downlink:b0)") and "b0" in lines[1]
    assert status_lines(planned, settled=True) == ["  bound at least 26.8 s (downlink:b0)"]
    unknown = progress_against_plan(view, Wan(), now=1010.0)
    assert status_lines(unknown) == ["  bound: unknown (no link rates in p2pdist:sites / p2pdist:hq)"]
