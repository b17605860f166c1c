"""The agent's engine (a real libtorrent session) reacting to bans."""

from __future__ import annotations

from pathlib import Path

from loopback_engine import fetching

from salt_p2pdist.agent.bans import BLOCKED
from salt_p2pdist.agent.config import AgentConfig
from salt_p2pdist.agent.engine import Engine
from salt_p2pdist.testing.waiting import wait_for


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
    import libtorrent as lt

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
