"""The libtorrent peer-class plan for the limits in force: global, site and WAN classes."""

from __future__ import annotations

import pytest

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.peerclasses import ClassSpec, peer_class_plan
from salt_p2pdist.core.policy import Limits

SITE = ["10.20.0.0/16", "fd00:20::/32"]


def test_plan_puts_every_address_in_global_and_splits_site_from_wan():
    plan = peer_class_plan(Limits("all", 0, 0, 0), SITE)
    assert plan.ranges == (("0.0.0.0/0", ("global", "wan")), ("::/0", ("global", "wan")),
                           ("10.20.0.0/16", ("global", "site")), ("fd00:20::/32", ("global", "site")))
    assert plan.ip_rules()[0] == ("0.0.0.0", "255.255.255.255", ("global", "wan"))
    assert plan.ip_rules()[2] == ("10.20.0.0", "10.20.255.255", ("global", "site"))
    assert plan.ip_rules()[3][1] == "fd00:20:ffff:ffff:ffff:ffff:ffff:ffff"


def test_plan_upload_all_unchokes_everyone():
    plan = peer_class_plan(Limits("all", 2_000_000, 5_000_000, 0), SITE)
    assert plan.classes == {"site": ClassSpec(0, 0, True), "wan": ClassSpec(0, 0, True)}
    assert plan.settings == {"upload_rate_limit": 2_000_000, "download_rate_limit": 5_000_000,
                             "unchoke_slots_limit": -1, "allowed_fast_set_size": 5,
                             "choking_algorithm": 0}


def test_plan_upload_site_chokes_only_wan_peers():
    plan = peer_class_plan(Limits("site", 0, 0, 0), SITE)
    assert plan.classes == {"site": ClassSpec(0, 0, True), "wan": ClassSpec(0, 0, False)}
    assert plan.settings["unchoke_slots_limit"] == 0
    assert plan.settings["allowed_fast_set_size"] == 0  # choked peers get no "allowed fast" pieces


def test_plan_upload_none_chokes_everyone_without_throttling_requests():
    plan = peer_class_plan(Limits("none", 0, 0, 0), SITE)
    assert plan.classes == {"site": ClassSpec(0, 0, False), "wan": ClassSpec(0, 0, False)}
    assert plan.settings["unchoke_slots_limit"] == plan.settings["allowed_fast_set_size"] == 0
    assert plan.settings["upload_rate_limit"] == 0  # not 1: that would starve our downloads too


def test_plan_wan_rate_caps_the_wan_class_both_ways():
    plan = peer_class_plan(Limits("all", 0, 0, 250_000), SITE)
    assert plan.classes["wan"] == ClassSpec(250_000, 250_000, True)
    assert plan.classes["site"] == ClassSpec(0, 0, True)


def test_plan_without_site_networks_treats_every_peer_as_wan():
    plan = peer_class_plan(Limits("site", 0, 0, 0), [])
    assert [names for _, names in plan.ranges] == [("global", "wan")] * 2


def test_plan_tolerates_host_bits_and_duplicates_and_rejects_garbage():
    plan = peer_class_plan(Limits(), ["10.20.1.2/16", "10.20.0.0/16"])
    assert plan.ranges[2:] == (("10.20.0.0/16", ("global", "site")),)
    with pytest.raises(InvalidRequest, match="invalid site network"):
        peer_class_plan(Limits(), ["10.20.0.0/33"])


def test_plan_to_dict_is_plain_data():
    d = peer_class_plan(Limits("site", 1, 2, 3), ["10.20.0.0/16"]).to_dict()
    assert d["classes"]["wan"] == {"upload_limit": 3, "download_limit": 3, "ignore_unchoke_slots": False}
    assert d["ranges"][-1] == ["10.20.0.0/16", ["global", "site"]]
    assert d["settings"]["upload_rate_limit"] == 1
