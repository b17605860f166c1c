from __future__ import annotations

import ipaddress

import pytest

from salt_p2pdist.core.errors import InvalidRequest
from salt_p2pdist.core.topology import ELSEWHERE, SAME_REGION, SAME_SITE, Site, SiteMap

CONFIG = {
    "paris": {"networks": ["10.20.0.0/16"], "parent": "emea"},
    "lyon": {"networks": ["10.21.0.0/16", "10.121.0.0/16"], "parent": "emea"},
    "nyc": {"networks": ["10.30.0.0/16"], "parent": "amer"},
    "lab": {"networks": ["192.168.0.0/24"]},  # no region
    "depot": {"networks": ["192.168.1.0/24"]},  # no region either
}


@pytest.fixture
def sites() -> SiteMap:
    return SiteMap.from_config(CONFIG)


# -- from_config --------------------------------------------------------

def test_from_config_builds_sites_with_networks_and_parent(sites):
    assert set(sites.sites) == set(CONFIG)
    assert sites.sites["lyon"] == Site("lyon", (ipaddress.ip_network("10.21.0.0/16"),
                                                ipaddress.ip_network("10.121.0.0/16")), "emea")
    assert sites.sites["lab"].parent == ""
    assert sites.networks_of("lyon") == ["10.21.0.0/16", "10.121.0.0/16"]
    assert sites.networks_of("nowhere") == []
    assert sites.region_of("paris") == "emea"
    assert sites.region_of("lab") == ""
    assert sites.region_of("host:m1") == ""


def test_from_config_round_trips_through_to_config(sites):
    again = SiteMap.from_config(sites.to_config())
    assert again.sites == sites.sites


def test_from_config_accepts_nothing_and_host_bits_and_wan_rate():
    assert SiteMap.from_config(None).sites == {}
    assert SiteMap.from_config({}).sites == {}
    s = SiteMap.from_config({"a": {"networks": ["10.1.2.3/16"], "wan_rate": 1000}, "b": {}})
    assert s.networks_of("a") == ["10.1.0.0/16"]  # host bits tolerated, not an error
    assert s.sites["b"] == Site("b")


def test_from_config_reports_every_problem_in_one_message():
    bad = {
        "paris": {"networks": ["10.20.0.0/33", "not-a-range"]},
        "lyon": {"networks": ["10.21.0.0/16"], "parnet": "emea"},
        "nyc": ["10.30.0.0/16"],
        "ok": {"networks": ["10.40.0.0/16"]},
    }
    with pytest.raises(InvalidRequest) as info:
        SiteMap.from_config(bad)
    msg = str(info.value)
    assert msg.startswith("invalid p2pdist:sites: ")
    assert "site 'paris': '10.20.0.0/33' is not an address range" in msg
    assert "site 'paris': 'not-a-range' is not an address range" in msg
    assert "site 'lyon': unknown key(s) parnet" in msg
    assert "site 'nyc': expected a mapping" in msg
    assert "'ok'" not in msg
    assert msg.count("; ") == 3


@pytest.mark.parametrize("raw", [
    pytest.param({"a": "10.0.0.0/8"}, id="string-spec"),
    pytest.param({"a": None}, id="none-spec"),
    pytest.param({"a": 42}, id="int-spec"),
])
def test_from_config_non_mapping_spec_is_refused(raw):
    with pytest.raises(InvalidRequest, match="site 'a': expected a mapping"):
        SiteMap.from_config(raw)


@pytest.mark.parametrize("raw", [["paris"], "paris", 3], ids=["list", "string", "int"])
def test_from_config_non_mapping_sites_is_refused(raw):
    with pytest.raises(InvalidRequest, match="expected a mapping of site names"):
        SiteMap.from_config(raw)


# -- site_of ------------------------------------------------------------

def test_site_of_by_address(sites):
    assert sites.site_of("m1", "10.20.5.6") == "paris"
    assert sites.site_of("m2", "10.121.0.1") == "lyon"  # a site's second range
    assert sites.site_of("m3", "10.30.255.255") == "nyc"


def test_longest_prefix_wins_for_nested_ranges():
    config = {"campus": {"networks": ["10.0.0.0/8"]},
              "building": {"networks": ["10.5.0.0/16"]},
              "floor": {"networks": ["10.5.7.0/24"]}}
    for order in (config, dict(reversed(config.items()))):  # config order does not matter
        s = SiteMap.from_config(order)
        assert s.site_of("a", "10.5.7.9") == "floor"
        assert s.site_of("b", "10.5.8.9") == "building"
        assert s.site_of("c", "10.6.0.1") == "campus"


def test_grain_override_beats_the_address():
    s = SiteMap.from_config(CONFIG, {"m1": "lyon", "m9": "elsewhere"})
    assert s.site_of("m1", "10.20.0.1") == "lyon"  # its address says paris
    assert s.site_of("m1") == "lyon"
    assert s.site_of("m9", "10.20.0.9") == "elsewhere"  # even a site the config does not list
    assert s.site_of("m2", "10.20.0.2") == "paris"  # others still by address


def test_host_in_no_site_is_a_site_of_its_own(sites):
    assert sites.site_of("m1", "172.16.0.1") == "host:m1"
    assert sites.site_of("m2", "172.16.0.1") == "host:m2"  # same address, still apart
    assert sites.site_of("m3") == "host:m3"
    assert sites.site_of("m4", "not an ip") == "host:m4"
    assert SiteMap().site_of("m5", "10.20.0.1") == "host:m5"


def test_ipv6_sites():
    s = SiteMap.from_config({"v6": {"networks": ["2001:db8:1::/48"]},
                             "v6lab": {"networks": ["2001:db8:1:2::/64"]},
                             "v4": {"networks": ["10.0.0.0/8"]}})
    assert s.site_of("a", "2001:db8:1::5") == "v6"
    assert s.site_of("b", "2001:db8:1:2::5") == "v6lab"
    assert s.site_of("c", "2001:db8:2::5") == "host:c"
    assert s.site_of("d", "10.1.1.1") == "v4"
    assert s.site_of("e", "::a01:101") == "host:e"  # v6 address, whatever its low bits say


# -- nearness -----------------------------------------------------------

def test_nearness(sites):
    assert sites.nearness("paris", "paris") == SAME_SITE == 0
    assert sites.nearness("paris", "lyon") == SAME_REGION == 1
    assert sites.nearness("lyon", "paris") == SAME_REGION
    assert sites.nearness("paris", "nyc") == ELSEWHERE == 2
    assert sites.nearness("paris", "host:m1") == ELSEWHERE
    assert sites.nearness("host:m1", "host:m1") == SAME_SITE
    assert sites.nearness("host:m1", "host:m2") == ELSEWHERE
    assert sites.nearness("paris", "origin") == ELSEWHERE


def test_sites_without_parent_are_never_same_region(sites):
    assert sites.nearness("lab", "depot") == ELSEWHERE
    assert sites.nearness("lab", "lab") == SAME_SITE
    assert sites.nearness("lab", "paris") == ELSEWHERE
    assert sites.nearness("host:a", "host:b") == ELSEWHERE
    assert SiteMap().nearness("x", "y") == ELSEWHERE
