"""A peer the tracker hands out again is tried again soon (real libtorrent sessions, loopback).

A WAN fetcher that completes removes its download and adds it again as a seed
(finishing.py): its site-mates lose their connection to it. libtorrent waits
``min_reconnect_time`` x (failures + 1) after a disconnect before it tries a
peer again, even one the tracker hands out again: 60 s by default, a minute in
which a site-mate got nothing from its LAN. Closed swarms (TLS) as in
production: an unencrypted-handshake retry would hide the wait.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libtorrent as lt
import pytest

from salt_p2pdist.agent.settings import make_session
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.torrent import creation, metainfo, swarmca

SIZE = 4 << 20
TRACKER = "http://127.0.0.1:9/announce"  # nothing listens: peers are handed in directly
TRACKER_SOURCE = 1  # peer_info.tracker: counts as a tracker hand-out in libtorrent's peer list


@pytest.fixture
def sessions() -> Iterator[tuple[Any, Any]]:
    seeder = make_session("127.0.0.1:0,127.0.0.1:0s", "127.0.0.1")
    fetcher = make_session("127.0.0.1:0,127.0.0.1:0s", "127.0.0.1")
    yield seeder, fetcher
    for s in (seeder, fetcher):
        s.pause()


def add(session: Any, torrent: bytes, save_path: Path, ca: swarmca.SwarmCA, *, seed: bool) -> Any:
    atp = lt.load_torrent_buffer(torrent)
    atp.save_path = str(save_path)
    atp.renamed_files = dict(metainfo.describe(torrent).renames)  # as the agent maps files to dest
    atp.trackers = []
    atp.flags &= ~(lt.torrent_flags.paused | lt.torrent_flags.auto_managed)
    if seed:
        atp.flags |= lt.torrent_flags.seed_mode
    handle = session.add_torrent(atp)
    key = swarmca.new_key()
    cert = ca.issue(swarmca.public_pem(key), torrent_name=metainfo.describe(torrent).torrent_name,
                    holder="seed" if seed else "fetcher")
    handle.set_ssl_certificate_buffer(cert.decode(), key.decode(), "")
    if seed:  # slow, so the copy is still going when the seed leaves and comes back
        handle.set_upload_limit(128 << 10)
    return handle


def connected_to(handle: Any, port: int) -> bool:
    return any(p.ip[1] == port for p in handle.get_peer_info())


def test_a_peer_handed_out_again_after_it_dropped_us_is_reconnected_within_seconds(
        sessions: tuple[Any, Any], tmp_path: Path) -> None:
    seeder, fetcher = sessions
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "pkg.bin").write_bytes(os.urandom(SIZE))
    ca = swarmca.SwarmCA(tmp_path / "ca")
    torrent = creation.create(tmp_path / "src" / "pkg.bin", TRACKER, ca.cert_pem.decode())
    seeding = add(seeder, torrent, tmp_path / "src", ca, seed=True)
    fetching = add(fetcher, torrent, tmp_path / "dst", ca, seed=False)
    seed_at = ("127.0.0.1", seeder.ssl_listen_port())
    fetching.connect_peer(seed_at, TRACKER_SOURCE)
    wait_for("first bytes", lambda: fetching.status().total_wanted_done > 0, timeout=20, every=0.1)
    # The seed removes its torrent and adds it again (as a finishing host does).
    seeder.remove_torrent(seeding)
    wait_for("the disconnect", lambda: not connected_to(fetching, seed_at[1]), timeout=20, every=0.1)
    add(seeder, torrent, tmp_path / "src", ca, seed=True)
    time.sleep(1)  # the seed is back; then the tracker hands it out again
    fetching.connect_peer(seed_at, TRACKER_SOURCE)
    wait_for("a new connection to the seed", lambda: connected_to(fetching, seed_at[1]),
             timeout=15, every=0.1)
    assert not fetching.status().is_finished  # the copy goes on from the seed, not done already
