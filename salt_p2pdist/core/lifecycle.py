"""The lifecycle of one distribution on one host, as a table of transitions.

Master and agent both speak in these states. ``pending`` exists only on the
master (ordered, nothing heard yet); ``stale`` is derived by the status view
for hosts that stopped reporting and is never stored.
"""

from __future__ import annotations

from typing import Final

PENDING: Final = "pending"  # ordered by the master, no report from the host yet
QUEUED: Final = "queued"  # accepted by the agent, not started
CHECKING: Final = "checking"  # verifying data already on disk
DOWNLOADING: Final = "downloading"
FINISHING: Final = "finishing"  # verified, moving from staging into dest
SEEDING: Final = "seeding"  # complete at dest and sharing with peers
DONE: Final = "done"  # complete at dest, no longer sharing
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
REMOVED: Final = "removed"  # the host removed its copy (p2pdist.remove, p2pdist.absent)

ALL_STATES: Final = (
    PENDING, QUEUED, CHECKING, DOWNLOADING, FINISHING, SEEDING, DONE, FAILED, CANCELLED, REMOVED,
)
COMPLETE_STATES: Final = frozenset({SEEDING, DONE})
TERMINAL_STATES: Final = frozenset({SEEDING, DONE, FAILED, CANCELLED, REMOVED})

_ACTIVE = frozenset({QUEUED, CHECKING, DOWNLOADING, FINISHING})

# Which state may follow which. A failed transfer can be ordered again, and a
# complete one can be re-verified (checking) after a restart or a re-push.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    PENDING: frozenset({QUEUED, CHECKING, DOWNLOADING, SEEDING, DONE, FAILED, CANCELLED, REMOVED}),
    QUEUED: frozenset({CHECKING, DOWNLOADING, FAILED, CANCELLED}),
    CHECKING: frozenset({DOWNLOADING, FINISHING, SEEDING, DONE, FAILED, CANCELLED}),
    DOWNLOADING: frozenset({CHECKING, FINISHING, FAILED, CANCELLED}),
    FINISHING: frozenset({SEEDING, DONE, FAILED, CANCELLED}),
    SEEDING: frozenset({DONE, CHECKING, CANCELLED, FAILED, REMOVED}),
    DONE: frozenset({SEEDING, CHECKING, CANCELLED, REMOVED}),
    FAILED: frozenset({QUEUED, CHECKING, DOWNLOADING, CANCELLED, REMOVED}),
    CANCELLED: frozenset({QUEUED, CHECKING}),
    REMOVED: frozenset({QUEUED, CHECKING, DOWNLOADING, SEEDING, CANCELLED}),
}


def can_move(old: str, new: str) -> bool:
    """True if a host may go from ``old`` to ``new`` (staying put is allowed)."""
    return old == new or new in TRANSITIONS.get(old, frozenset())


def is_active(state: str) -> bool:
    """True while a transfer still needs the swarm (and the host reports)."""
    return state in _ACTIVE


def is_complete(state: str) -> bool:
    return state in COMPLETE_STATES

