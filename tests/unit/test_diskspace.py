"""The free-space arithmetic a fetch is checked with (core.diskspace, no file system)."""

from __future__ import annotations

import pytest

from salt_p2pdist.core import diskspace
from salt_p2pdist.core.diskspace import GIB, MIB, Volume
from salt_p2pdist.core.errors import InvalidRequest, NoSpace


def test_human_units() -> None:
    assert diskspace.human(4 * GIB) == "4.0 GiB"
    assert diskspace.human(int(1.25 * GIB)) == "1.2 GiB"
    assert diskspace.human(12 * MIB + MIB // 2) == "12.5 MiB"
    assert diskspace.human(300 * 1024) == "300 KiB"


def test_staging_needs_only_what_it_does_not_hold() -> None:
    assert diskspace.staging_need([100, 200, 300], [0, 200, 50]) == 100 + 250
    assert diskspace.staging_need([100], [150]) == 0  # a longer leftover is not negative need


def test_the_issue_example_reads_as_asked() -> None:
    dest = Volume(path=r"C:\dist", device=1, free=int(1.2 * GIB))
    with pytest.raises(NoSpace) as caught:
        diskspace.check([(dest, 4 * GIB - diskspace.margin(4 * GIB))])
    assert r"needs 4.0 GiB at C:\dist, 1.2 GiB free" in str(caught.value)
    assert isinstance(caught.value, InvalidRequest)  # refused as asked, like a conflict


def test_one_volume_adds_staging_and_dest_and_names_the_first() -> None:
    dest = Volume(path="/dist", device=7, free=150 * MIB)
    staging = Volume(path="/var/staging/x", device=7, free=150 * MIB)
    assert diskspace.shortfalls([(dest, 0), (staging, 100 * MIB)]) == []
    short = diskspace.shortfalls([(dest, 100 * MIB), (staging, 100 * MIB)])
    assert len(short) == 1 and short[0].startswith("needs 203.0 MiB at /dist,")


def test_two_volumes_are_checked_apart() -> None:
    dest = Volume(path="/dist", device=1, free=50 * MIB)
    staging = Volume(path="/staging", device=2, free=500 * MIB)
    short = diskspace.shortfalls([(dest, 100 * MIB), (staging, 100 * MIB)])
    assert short == ["needs 102.0 MiB at /dist, 50.0 MiB free"]


def test_the_margin_refuses_a_volume_filled_to_the_last_byte() -> None:
    full = Volume(path="/dist", device=1, free=100 * MIB)
    assert diskspace.shortfalls([(full, 100 * MIB)])
    assert not diskspace.shortfalls([(full, 100 * MIB - diskspace.margin(100 * MIB))])
    assert not diskspace.shortfalls([(Volume(path="/dist", device=1, free=0), 0)])  # needing nothing
