"""Peer hand-out: which peers a tracker gives to a host that announces.

A small pure function, so locality policies can be added and tested without
sockets. libtorrent does not connect in the order a tracker lists peers, so a
policy must hand out a *filtered* set, not a sorted one.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Peer:
    """A host in a swarm, as the tracker knows it."""

    host_id: str  # minion id, or "origin" for the master's seeder
    ip: str
    port: int
    complete: bool  # has every piece (a seed)
    last_seen: float


def select_peers(
    requester: str,
    candidates: Iterable[Peer],
    *,
    requester_complete: bool,
    want: int,
    rng: random.Random,
) -> list[Peer]:
    """Up to ``want`` peers other than the requester.

    A seed that asks gets no other seeds (seeds do not trade). A random
    sample spreads the load instead of sending every host to the same few
    peers; the origin is one candidate among the others, so it is not drained.
    """
    pool = [p for p in candidates if p.host_id != requester]
    if requester_complete:
        pool = [p for p in pool if not p.complete]
    if len(pool) <= want:
        return pool
    return rng.sample(pool, want)
