"""Kept swarms are written down and read back; a torn file reads as none."""

from pathlib import Path

from salt_p2pdist.agent.kept import KeptSwarms


def test_keep_load_drop(tmp_path: Path) -> None:
    kept = KeptSwarms(tmp_path / "kept.json")
    assert kept.load() == {}
    kept.keep("d1", b"\x01" * 20, ["m2", "m1"], "pkg.bin")
    again = KeptSwarms(tmp_path / "kept.json")  # as after a restart
    assert again.load() == {"d1": {"info_hash20": "01" * 20, "targets": ["m1", "m2"],
                                   "torrent_name": "pkg.bin"}}
    assert again.drop("d1") == b"\x01" * 20
    assert again.drop("d1") is None and again.load() == {}


def test_a_torn_file_reads_as_no_kept_swarm(tmp_path: Path) -> None:
    (tmp_path / "kept.json").write_text("{not json")
    assert KeptSwarms(tmp_path / "kept.json").load() == {}
