"""Kept swarms are written down and read back; a torn file reads as none."""

from pathlib import Path

from salt_p2pdist.agent.kept import KeptSwarms, QuietTimes


def test_keep_load_drop(tmp_path: Path) -> None:
    kept = KeptSwarms(tmp_path / "kept.json")
    assert kept.load() == {}
    kept.keep("d1", b"\x01" * 20, ["m2", "m1"], "pkg.bin")
    again = KeptSwarms(tmp_path / "kept.json")  # as after a restart
    assert again.load() == {"d1": {"info_hash20": "01" * 20, "targets": ["m1", "m2"],
                                   "torrent_name": "pkg.bin"}}
    assert again.drop("d1") == b"\x01" * 20
    assert again.drop("d1") is None and again.load() == {}


def test_a_kept_swarm_keeps_its_torrent_until_dropped(tmp_path: Path) -> None:
    kept = KeptSwarms(tmp_path / "kept.json")
    kept.keep("d1", b"\x01" * 20, ["m1"], "pkg.bin", b"d8:announce...e")
    assert KeptSwarms(tmp_path / "kept.json").torrent("d1") == b"d8:announce...e"
    assert kept.torrent("d2") is None
    kept.drop("d1")
    assert kept.torrent("d1") is None


def test_a_torn_file_reads_as_no_kept_swarm(tmp_path: Path) -> None:
    (tmp_path / "kept.json").write_text("{not json")
    assert KeptSwarms(tmp_path / "kept.json").load() == {}


class _Tracker:
    """The tracker's register/unregister, recorded."""

    def __init__(self) -> None:
        self.swarms: set[bytes] = set()

    def register(self, info_hash20: bytes, *_args: object) -> None:
        self.swarms.add(info_hash20)

    def unregister(self, info_hash20: bytes) -> None:
        self.swarms.discard(info_hash20)


def test_stop_seeding_twice_keeps_the_swarm_and_cancel_drops_it(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from salt_p2pdist.agent.trackerside import TrackerSide

    side = SimpleNamespace(kept=KeptSwarms(tmp_path / "kept.json"), tracker=_Tracker(),
                           quiet=QuietTimes(tmp_path / "quiet.json"),
                           _seed_record=lambda _dist_id: None)  # the origin holds no seed of it
    side.kept.keep("d1", b"\x01" * 20, ["m1"], "pkg.bin")  # the first stop_seeding kept it
    side.tracker.register(b"\x01" * 20)
    # The origin no longer holds it: asked again to stop seeding, the swarm stays.
    assert TrackerSide.stop_serving(side, "d1", keep_swarm=True) is True
    assert "d1" in side.kept.load() and side.tracker.swarms == {b"\x01" * 20}
    assert TrackerSide.stop_serving(side, "d2", keep_swarm=True) is False
    # A cancel forgets it.
    assert TrackerSide.stop_serving(side, "d1", keep_swarm=False) is True
    assert side.kept.load() == {} and side.tracker.swarms == set()
