"""The agent's engine (a real libtorrent session) reacting to bans."""

from __future__ import annotations

import os
import time
from pathlib import Path

import libtorrent as lt
from loopback_engine import fetching

from salt_p2pdist.agent.bans import BLOCKED, FIRST_BLOCK_S, BanList
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.agent.settings import make_session
from salt_p2pdist.master import orders
from salt_p2pdist.testing.waiting import wait_for
from salt_p2pdist.torrent import creation, metainfo


def test_a_corrupt_peer_is_blocked_and_shown_in_status(engine: Engine, tmp_path: Path) -> None:
    dist_id = fetching(engine, tmp_path)
    engine.ban_peer(dist_id, "127.0.0.11")
    assert engine.session.get_ip_filter().access("127.0.0.11") == BLOCKED
    assert engine.status(dist_id)["banned"] == ["127.0.0.11"]


def test_a_banned_origin_is_not_blocked_and_the_download_gets_a_fresh_peer_list(
        engine: Engine, tmp_path: Path) -> None:
    dist_id = fetching(engine, tmp_path)
    before = engine.book.get(dist_id)
    assert before is not None
    engine.ban_peer(dist_id, "127.0.0.1")  # the tracker's host: the origin
    wait_for("the download to be re-added", lambda: not engine.book.is_current(before),
             timeout=20, every=0.1)
    after = engine.book.get(dist_id)
    assert after is not None and after is not before, "the download was not re-added"
    assert engine.session.get_ip_filter().access("127.0.0.1") == 0
    assert after.record.dest == before.record.dest and engine.status(dist_id)["banned"] == []
    assert len(engine.session.get_torrents()) == 1


def test_after_a_crash_a_download_is_rechecked_not_trusted_to_stale_resume_data(
        tmp_path: Path) -> None:
    cfg = AgentConfig(state_dir=tmp_path / "agent", host_id="m2", bt_interface="127.0.0.1")
    first = Engine(cfg)
    dist_id = fetching(first, tmp_path)
    t = first.book.get(dist_id)
    assert t is not None
    # Resume data saved early (no piece yet), then every piece lands on disk.
    resume = first.waiters.wait(dist_id, "resume", lambda: t.handle.save_resume_data(
        lt.torrent_handle.save_info_dict))
    first.book.save_resume(dist_id, resume)
    first.session.pause()
    first.stopped.set()  # the host dies here: no clean stop
    staged = cfg.staging_dir / dist_id / "pkg.bin"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes((tmp_path / "src" / "pkg.bin").read_bytes())
    second = Engine(cfg)
    try:
        wait_for("the copy at dest", (tmp_path / "dest" / "pkg.bin").exists, timeout=20, every=0.1)
        assert (tmp_path / "dest" / "pkg.bin").read_bytes() == (tmp_path / "src" / "pkg.bin").read_bytes()
    finally:
        second.close()


def test_a_blocked_peer_serves_again_once_its_block_runs_out(tmp_path: Path) -> None:
    """libtorrent bans a peer that shared failed pieces with a corrupt one too: it must not be
    lost for good. While blocked it cannot serve; once its block ends, the download (re-added
    with a fresh peer list by the alert loop) takes the copy from it."""
    src = tmp_path / "src" / "pkg.bin"
    src.parent.mkdir()
    src.write_bytes(os.urandom(1 << 20))
    torrent = creation.create(src, "http://127.0.0.1:9/announce")  # nothing listens there
    meta = metainfo.describe(torrent)
    seeder = make_session("127.0.0.36:0", "127.0.0.36")
    atp = lt.add_torrent_params()
    atp.ti, atp.save_path = lt.torrent_info(torrent), str(src.parent)
    atp.renamed_files = dict(meta.renames)
    seeder.add_torrent(atp)
    seed = ("127.0.0.36", seeder.listen_port())
    now = [1000.0]
    engine = Engine(AgentConfig(state_dir=tmp_path / "agent", host_id="m2", bt_interface="127.0.0.1"))
    try:
        engine.banning.bans = BanList(engine.session, clock=lambda: now[0])
        order = orders.fetch_order(meta, torrent, dest=str(tmp_path / "dest"), force=False,
                                   tracker="http://127.0.0.1:9/announce")
        engine.add({**order, "mode": "fetch"})
        before = engine.book.get(meta.dist_id)
        assert before is not None
        engine.ban_peer(meta.dist_id, seed[0])  # as after libtorrent's peer_ban_alert
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            before.handle.connect_peer(seed)
            time.sleep(0.2)
        assert before.handle.status().total_wanted_done == 0, "a blocked peer served data"
        assert engine.book.is_current(before), "re-added before the block ended"

        now[0] += FIRST_BLOCK_S  # the alert loop's next sweep lifts it
        wait_for("the download re-added", lambda: not engine.book.is_current(before), timeout=10, every=0.1)
        assert engine.session.get_ip_filter().access(seed[0]) == 0

        def served() -> bool:
            t = engine.book.get(meta.dist_id)
            if t is not None and t.record.phase == "staging":
                t.handle.connect_peer(seed)
            return bool(engine.status(meta.dist_id)["state"] == "seeding")

        wait_for("the copy from the unblocked peer", served, timeout=30, every=0.2)
        assert (tmp_path / "dest" / "pkg.bin").read_bytes() == src.read_bytes()
        assert engine.status(meta.dist_id)["banned"] == [seed[0]]  # who was banned stays shown
    finally:
        engine.close()
        seeder.pause()
