"""A fetch's download limit has one owner: the hold-back and the yielding combined.

On real libtorrent torrent handles: a session on the loopback with the agent's
own settings (no DHT, LSD, UPnP or NAT-PMP) and a torrent of a small real file
(conftest.py: lt_session, add_transfer).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from salt_p2pdist.agent.downlimit import UNLIMITED, DownloadLimits
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import priority

AddTransfer = Callable[..., Transfer]


def unlimited(t: Transfer) -> bool:
    # libtorrent reads -1 on a torrent never limited and 0 once a limit was lifted.
    return int(t.handle.download_limit()) <= 0


def test_the_lower_of_the_hold_back_and_the_yielding_is_in_force(add_transfer: AddTransfer) -> None:
    limits, t = DownloadLimits(), add_transfer("app.bin")
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
        lt_session: Any, add_transfer: AddTransfer) -> None:
    limits, t = DownloadLimits(), add_transfer("app.bin")
    limits.set_yield(t, 300_000)
    lt_session.remove_torrent(t.handle)
    again = add_transfer("app.bin")  # the same distribution's torrent added anew: a handle with no limit
    assert again.handle.download_limit() == UNLIMITED
    limits.apply(again)
    assert again.handle.download_limit() == 300_000
    # Whether apply() skips setting a limit already in force is not observable on a real
    # handle: libtorrent itself ignores a set to the value it holds. What is: it stays.
    limits.apply(again)
    assert again.handle.download_limit() == 300_000
    assert limits.wanted(t) == 300_000
