"""The master's side of ``p2pdist.plan``: content measured, targets placed in sites, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from salt_p2pdist.core.config import MasterSettings
from salt_p2pdist.core.errors import InvalidRequest, NotFound
from salt_p2pdist.core.planner import NO_SITE
from salt_p2pdist.core.topology import SiteMap
from salt_p2pdist.master.plan import content_size, dry_run, relays, site_of

SITES = {"paris": {"networks": ["10.20.0.0/16"], "down": 20, "up": 20},
         "lyon": {"networks": ["10.21.0.0/16"], "down": 8, "up": 1}}
GRAINS = {"p1": {"ipv4": ["127.0.0.1", "10.20.0.5"]}, "p2": {"ipv4": ["10.20.0.6"]},
          "l1": {"ipv4": ["10.21.1.1"]}, "named": {"p2pdist": {"site": "lyon"}, "ipv4": ["10.20.0.9"]},
          "odd": {"ipv4": ["192.168.1.1"]}}


def settings(tmp_path: Path) -> MasterSettings:
    return MasterSettings.from_opts({"cachedir": str(tmp_path / "cache"), "p2pdist": {
        "sites": SITES, "hq": {"up": 100, "down": 100}, "wan": "hub"}})


def test_targets_are_placed_as_the_tracker_would() -> None:
    sites = SiteMap.from_config(SITES)
    assert site_of(sites, "p1", GRAINS["p1"]) == "paris"
    assert site_of(sites, "named", GRAINS["named"]) == "lyon"  # the grain wins over the address
    assert site_of(sites, "odd", GRAINS["odd"]) == NO_SITE
    assert site_of(sites, "gone", None) == NO_SITE


def test_content_is_a_path_or_a_size(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"x" * 1000)
    (tmp_path / "d" / "b").write_bytes(b"x" * 24)
    assert content_size(str(tmp_path / "d")) == (1024, str(tmp_path / "d"))
    assert content_size("2MiB")[0] == 2 << 20
    with pytest.raises(NotFound, match="does not exist on the master"):
        content_size(str(tmp_path / "missing.iso"))


def test_a_dry_run_plans_and_writes_nothing(tmp_path: Path) -> None:
    cfg = settings(tmp_path)
    result = dry_run(cfg, "64MiB", sorted(GRAINS), GRAINS.get)
    assert result["dry_run"] and result["targets"] == 5
    assert result["sites"]["paris"]["hosts"] == 2 and result["sites"]["lyon"]["hosts"] == 2
    assert result["binding"]["term"] == "downlink:lyon"  # 64 MiB at 8 Mbit/s: 67.1 s
    assert result["bound_s"] == pytest.approx((64 << 20) / 1e6)
    assert any("odd" in u for u in result["unknown"]) and not result["complete"]
    assert not (tmp_path / "cache").exists()
    with pytest.raises(InvalidRequest, match="matches no minion"):
        dry_run(cfg, "64MiB", [], GRAINS.get)


class Cache:
    def __init__(self, banks: dict[tuple[str, str], object]):
        self.banks = banks

    def fetch(self, bank: str, key: str) -> object:
        return self.banks.get((bank, key))


def test_grains_come_from_either_cache_layout() -> None:
    from salt_p2pdist.master.plan import cached_grains

    assert cached_grains(Cache({("grains", "p1"): {"ipv4": ["10.20.0.5"]}}), "p1") == {"ipv4": ["10.20.0.5"]}
    old = Cache({("minions/p1", "data"): {"grains": {"ipv4": ["1.2.3.4"]}, "pillar": {}}})
    assert cached_grains(old, "p1") == {"ipv4": ["1.2.3.4"]}
    assert cached_grains(Cache({}), "p1") is None


def test_a_push_names_the_relays_weak_sites_wait_for_and_reads_no_grains_without_one(tmp_path: Path) -> None:
    def mesh(sites: dict) -> MasterSettings:
        return MasterSettings.from_opts({"cachedir": str(tmp_path / "cache"), "p2pdist": {
            "sites": sites, "hq": {"up": 20}, "wan": "mesh"}})

    def reader():
        read.append(1)
        return GRAINS.get

    read: list[int] = []
    hosts = ["p1", "p2", "l1", "named", "odd", "gone"]
    assert relays(mesh(SITES), hosts, reader) == {"p1": "paris", "p2": "paris"}
    even = {name: {**spec, "up": 20} for name, spec in SITES.items()}  # lyon's uplink is not weak now
    assert relays(mesh(even), hosts, reader) == {}
    assert relays(settings(tmp_path), hosts, reader) == {}  # a hub: nothing relays between branches
    assert read == [1]
