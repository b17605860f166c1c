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

ALL_STATES: Final = (
    PENDING, QUEUED, CHECKING, DOWNLOADING, FINISHING, SEEDING, DONE, FAILED, CANCELLED,
)
COMPLETE_STATES: Final = frozenset({SEEDING, DONE})
TERMINAL_STATES: Final = frozenset({SEEDING, DONE, FAILED, CANCELLED})

_ACTIVE = frozenset({QUEUED, CHECKING, DOWNLOADING, FINISHING})

# Which state may follow which. A failed transfer can be ordered again, and a
# complete one can be re-verified (checking) after a restart or a re-push.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    PENDING: frozenset({QUEUED, CHECKING, DOWNLOADING, SEEDING, DONE, FAILED, CANCELLED}),
    QUEUED: frozenset({CHECKING, DOWNLOADING, FAILED, CANCELLED}),
    CHECKING: frozenset({DOWNLOADING, FINISHING, SEEDING, DONE, FAILED, CANCELLED}),
    DOWNLOADING: frozenset({CHECKING, FINISHING, FAILED, CANCELLED}),
    FINISHING: frozenset({SEEDING, DONE, FAILED, CANCELLED}),
    SEEDING: frozenset({DONE, CHECKING, CANCELLED, FAILED}),
    DONE: frozenset({SEEDING, CHECKING, CANCELLED}),
    FAILED: frozenset({QUEUED, CHECKING, DOWNLOADING, CANCELLED}),
    CANCELLED: frozenset({QUEUED, CHECKING}),
}


def can_move(old: str, new: str) -> bool:
    """True if a host may go from ``old`` to ``new`` (staying put is allowed)."""
    return old == new or new in TRANSITIONS.get(old, frozenset())


def is_active(state: str) -> bool:
    """True while a transfer still needs the swarm (and the host reports)."""
    return state in _ACTIVE


def is_complete(state: str) -> bool:
    return state in COMPLETE_STATES


def summarize(states: list[str]) -> str:
    """The state of a whole distribution from its hosts' states."""
    if not states:
        return PENDING
    if all(s == CANCELLED for s in states):
        return CANCELLED
    if all(s in TERMINAL_STATES for s in states):
        return "complete" if all(s in COMPLETE_STATES for s in states) else "finished-with-errors"
    return "active"
