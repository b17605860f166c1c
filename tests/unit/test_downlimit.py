"""A fetch's download limit has one owner: the hold-back and the yielding combined.

On real libtorrent torrent handles: a session on the loopback with the agent's
own settings (no DHT, LSD, UPnP or NAT-PMP) and a torrent of a small real file.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libtorrent as lt
import pytest

from salt_p2pdist.agent.downlimit import UNLIMITED, DownloadLimits
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.settings import make_session
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import priority
from salt_p2pdist.torrent import creation
from salt_p2pdist.torrent.metainfo import describe


@pytest.fixture
def session() -> Iterator[Any]:
    ses = make_session("127.0.0.1:0", "127.0.0.1")
    yield ses
    ses.pause()


@pytest.fixture
def fetch(session: Any, tmp_path: Path, write_file: Callable[..., Path]) -> Callable[[], Transfer]:
    """fetch() -> a fetch of one distribution, its torrent just added to the session."""
    # No tracker: nothing is announced; the torrent only has to hold a limit.
    torrent = creation.create(write_file(tmp_path / "srv" / "app.bin", 64_000), tracker="")
    meta = describe(torrent)

    def add() -> Transfer:
        staging = tmp_path / "staging"
        record = OrderRecord(dist_id=meta.dist_id, mode="fetch", phase="staging", save_path=str(staging),
                             torrent=base64.b64encode(torrent).decode())
        atp = lt.load_torrent_buffer(torrent)
        atp.save_path = str(staging)
        return Transfer(record=record, meta=meta, handle=session.add_torrent(atp))

    return add


def unlimited(t: Transfer) -> bool:
    # libtorrent reads -1 on a torrent never limited and 0 once a limit was lifted.
    return int(t.handle.download_limit()) <= 0


def test_the_lower_of_the_hold_back_and_the_yielding_is_in_force(fetch: Callable[[], Transfer]) -> None:
    limits, t = DownloadLimits(), fetch()
    assert t.handle.download_limit() == UNLIMITED  # a fresh torrent: no limit yet
    limits.set_yield(t, 200_000)
    assert t.handle.download_limit() == 200_000
    t.held_by = "f" * 16
    limits.apply(t)
    assert t.handle.download_limit() == priority.TRICKLE
    limits.set_yield(t, 500)  # many yielding downloads: a share below the trickle
    assert t.handle.download_limit() == 500
    limits.set_yield(t, None)
    assert t.handle.download_limit() == priority.TRICKLE, "the yielding's end lifted the hold-back"
    t.held_by = ""
    limits.apply(t)
    assert unlimited(t)


def test_a_re_added_handle_gets_the_limit_in_force_and_an_unchanged_one_stays(
        session: Any, fetch: Callable[[], Transfer]) -> None:
    limits, t = DownloadLimits(), fetch()
    limits.set_yield(t, 300_000)
    session.remove_torrent(t.handle)
    again = fetch()  # the same distribution's torrent added anew: a handle with no limit
    assert again.handle.download_limit() == UNLIMITED
    limits.apply(again)
    assert again.handle.download_limit() == 300_000
    # Whether apply() skips setting a limit already in force is not observable on a real
    # handle: libtorrent itself ignores a set to the value it holds. What is: it stays.
    limits.apply(again)
    assert again.handle.download_limit() == 300_000
    assert limits.wanted(t) == 300_000
