"""The launcher itself: a real master and two minions answer, restart, and leave nothing behind."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from salt_p2pdist.testing.saltlab import MinionSpec, SaltLab


def processes_under(root: Path) -> list[str]:
    """Command lines that mention ``root``: every daemon and child gets ``-c <root>/...``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(root) in text:
            found.append(text)
    return found


@pytest.fixture
def root() -> Iterator[Path]:
    # Not pytest's tmp_path: Unix socket paths must stay under ~107 bytes.
    path = Path(tempfile.mkdtemp(prefix="slt-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_master_and_minions_answer_restart_and_leave_nothing(root: Path) -> None:
    with SaltLab(root) as lab:
        lab.start([MinionSpec("m1", grains={"site": "paris"}), MinionSpec("m2")])

        assert lab.salt("*", "test.ping") == {"m1": True, "m2": True}
        assert sorted(lab.salt_run("manage.up")) == ["m1", "m2"]
        assert lab.salt("site:paris", "test.ping", tgt_type="grain") == {"m1": True}
        echoed = lab.salt("m2", "test.arg", "a", kwargs={"n": 2, "d": {"x": [1]}})["m2"]
        assert echoed["args"] == ["a"] and echoed["kwargs"]["n"] == 2 and echoed["kwargs"]["d"] == {"x": [1]}
        assert lab.master_opts["interface"] == "127.0.0.1" and lab.master_opts["ret_port"] > 0

        # A crash, then a restart with the same id: the minion answers again.
        lab.stop_minion("m2", kill=True)
        assert lab.salt_run("manage.down", kwargs={"timeout": 3, "gather_job_timeout": 2}) == ["m2"]
        lab.start_minion(MinionSpec("m2"))
        assert lab.salt("m2", "test.ping") == {"m2": True}

        assert processes_under(root)
    assert processes_under(root) == []
    lab.stop()  # idempotent
