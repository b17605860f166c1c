from __future__ import annotations

from dataclasses import dataclass

from salt_p2pdist.agent.ledger import PeerLedger
from salt_p2pdist.core.topology import SiteMap

SITES = SiteMap.from_config({"paris": {"networks": ["10.1.0.0/16"]},
                             "lyon": {"networks": ["10.2.0.0/16"]}})


@dataclass
class FakePeer:  # the fields of lt.peer_info the ledger reads
    ip: tuple[str, int]
    total_download: int
    local: tuple[str, int] = ("10.1.0.5", 6881)

    def local_endpoint(self) -> tuple[str, int]:  # a method, as in libtorrent 2.1
        return self.local


def test_bytes_are_split_by_source_and_counted_once():
    ledger = PeerLedger(SITES, "m1", origin_ip="10.0.0.1")
    ledger.sample([FakePeer(("10.1.0.7", 1), 100), FakePeer(("10.2.0.7", 1), 50),
                   FakePeer(("10.0.0.1", 1), 10)])
    ledger.sample([FakePeer(("10.1.0.7", 1), 150), FakePeer(("10.2.0.7", 1), 50),
                   FakePeer(("10.0.0.1", 1), 30)])
    assert ledger.totals == {"from_site": 150, "from_remote": 50, "from_origin": 30}


def test_a_reconnected_peer_starts_from_zero():
    ledger = PeerLedger(SITES, "m1")
    ledger.sample([FakePeer(("10.1.0.7", 1), 100)])
    ledger.sample([])  # the connection closed: its 100 bytes stay counted
    ledger.sample([FakePeer(("10.1.0.7", 1), 40)])
    assert ledger.totals["from_site"] == 140


def test_own_site_comes_from_the_grain_when_set():
    ledger = PeerLedger(SiteMap.from_config({"lyon": {"networks": ["10.2.0.0/16"]}},
                                            {"m1": "lyon"}), "m1")
    ledger.sample([FakePeer(("10.2.0.9", 1), 70, local=("192.168.1.2", 1))])
    assert ledger.totals["from_site"] == 70


def test_it_knows_whether_a_peer_outside_the_site_is_connected_now():
    ledger = PeerLedger(SITES, "m1", origin_ip="10.0.0.1")
    ledger.sample([FakePeer(("10.1.0.7", 1), 0)])
    assert not ledger.wan_peers  # fed over the LAN: it never asks the tracker what to hold back
    ledger.sample([FakePeer(("10.1.0.7", 1), 0), FakePeer(("10.2.0.7", 1), 0)])
    assert ledger.wan_peers
    ledger.sample([FakePeer(("10.0.0.1", 1), 0)])
    assert ledger.wan_peers  # the origin is across the WAN too
    ledger.sample([])
    assert not ledger.wan_peers
