"""A fetch's download limit has one owner: the hold-back and the yielding combined."""

from __future__ import annotations

from typing import Any

from salt_p2pdist.agent.downlimit import UNLIMITED, DownloadLimits
from salt_p2pdist.agent.record import OrderRecord
from salt_p2pdist.agent.transfer import Transfer
from salt_p2pdist.core import priority


class Handle:
    def __init__(self) -> None:
        self.down = UNLIMITED
        self.sets = 0

    def download_limit(self) -> int:
        return self.down

    def set_download_limit(self, limit: int) -> None:
        self.down, self.sets = limit, self.sets + 1


def fetch(dist_id: str = "a" * 16) -> Transfer:
    record = OrderRecord(dist_id=dist_id, mode="fetch", torrent="", phase="staging", save_path="/s")
    meta: Any = type("Meta", (), {"dist_id": dist_id})()
    return Transfer(record=record, meta=meta, handle=Handle())


def test_the_lower_of_the_hold_back_and_the_yielding_is_in_force() -> None:
    limits, t = DownloadLimits(), fetch()
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
    assert t.handle.download_limit() == UNLIMITED


def test_a_re_added_handle_gets_the_limit_in_force_and_an_unchanged_one_is_not_set_again() -> None:
    limits, t = DownloadLimits(), fetch()
    limits.set_yield(t, 300_000)
    again = fetch()  # the same distribution's torrent added anew
    limits.apply(again)
    assert again.handle.download_limit() == 300_000
    sets = again.handle.sets
    limits.apply(again)
    assert again.handle.sets == sets
    assert limits.wanted(t) == 300_000
