"""The lifecycle of one distribution on one host, as tables of transitions.

Master and agent both speak in the reported states. ``pending`` exists only
on the master (ordered, nothing heard yet); ``stale`` is derived by the
status view for hosts that stopped reporting and is never stored.

The agent itself keeps a phase per distribution: where its copy of the data
is. Phases change only when the agent acts (see ``PHASE_MOVES``); the state
it reports is read from the phase and libtorrent's status at each report
(``reported_state``).
"""

from __future__ import annotations

from typing import Final

from salt_p2pdist.core.errors import P2PDistError

PENDING: Final = "pending"  # ordered by the master, no report from the host yet
QUEUED: Final = "queued"  # accepted by the agent, not started
# Accepted; the agent copies older versions it holds into staging (no torrent yet):
# a new version starts from them, and libtorrent's check keeps what matches.
PREPARING: Final = "preparing"
CHECKING: Final = "checking"  # verifying data already on disk
DOWNLOADING: Final = "downloading"
FINISHING: Final = "finishing"  # verified, moving from staging into dest
SEEDING: Final = "seeding"  # complete at dest and sharing with peers
DONE: Final = "done"  # complete at dest, no longer sharing
FAILED: Final = "failed"
CANCELLED: Final = "cancelled"
REMOVED: Final = "removed"  # the host removed its copy (p2pdist.remove, p2pdist.absent)
QUIET: Final = "quiet"  # complete at dest, its swarm quiet: not announced, not served (quiet.py)

ALL_STATES: Final = (
    PENDING, PREPARING, QUEUED, CHECKING, DOWNLOADING, FINISHING, SEEDING, DONE, FAILED, CANCELLED,
    REMOVED, QUIET,
)
COMPLETE_STATES: Final = frozenset({SEEDING, DONE, QUIET})
TERMINAL_STATES: Final = frozenset({SEEDING, DONE, FAILED, CANCELLED, REMOVED, QUIET})

_ACTIVE = frozenset({PREPARING, QUEUED, CHECKING, DOWNLOADING, FINISHING})

# Which state may follow which. A failed transfer can be ordered again, and a
# complete one can be re-verified (checking) after a restart or a re-push.
TRANSITIONS: Final[dict[str, frozenset[str]]] = {
    PENDING: frozenset({PREPARING, QUEUED, CHECKING, DOWNLOADING, SEEDING, DONE, FAILED, CANCELLED, REMOVED}),
    # The copy done (or failed), the torrent is added: libtorrent checks what staging holds.
    PREPARING: frozenset({QUEUED, CHECKING, DOWNLOADING, FAILED, CANCELLED}),
    QUEUED: frozenset({CHECKING, DOWNLOADING, FAILED, CANCELLED}),
    CHECKING: frozenset({DOWNLOADING, FINISHING, SEEDING, DONE, FAILED, CANCELLED}),
    DOWNLOADING: frozenset({CHECKING, FINISHING, FAILED, CANCELLED}),
    FINISHING: frozenset({SEEDING, DONE, FAILED, CANCELLED}),
    SEEDING: frozenset({DONE, CHECKING, CANCELLED, FAILED, REMOVED, QUIET}),
    DONE: frozenset({SEEDING, CHECKING, CANCELLED, REMOVED, QUIET}),
    # Woken: shared again at once, or checked first when its files changed meanwhile.
    QUIET: frozenset({SEEDING, CHECKING, CANCELLED, REMOVED}),
    FAILED: frozenset({PREPARING, QUEUED, CHECKING, DOWNLOADING, CANCELLED, REMOVED}),
    CANCELLED: frozenset({PREPARING, QUEUED, CHECKING}),
    REMOVED: frozenset({PREPARING, QUEUED, CHECKING, DOWNLOADING, SEEDING, CANCELLED}),
}


def can_move(old: str, new: str) -> bool:
    """True if a host may go from ``old`` to ``new`` (staying put is allowed)."""
    return old == new or new in TRANSITIONS.get(old, frozenset())


def is_active(state: str) -> bool:
    """True while a transfer still needs the swarm (and the host reports)."""
    return state in _ACTIVE


def is_complete(state: str) -> bool:
    return state in COMPLETE_STATES



# -- the agent's phases (the "phase" of its order record, order.json) --------
SEED: Final = "seed"  # the origin's source, shared where it lies
# Staging being seeded from older copies in a worker thread; no torrent yet (agent/preparing.py).
# Stored: an agent restarted mid-copy copies what is still missing, then adds the torrent.
PREPARE: Final = "preparing"
STAGING: Final = "staging"  # being fetched into the agent's staging directory
MOVING: Final = "moving"  # verified; being moved from staging into dest (never stored)
PLACED: Final = "placed"  # complete at dest (moved there, or found there already)
DORMANT: Final = "quiet"  # complete, torrent closed: its swarm is quiet (resume data kept)

AGENT_PHASES: Final = (SEED, PREPARE, STAGING, MOVING, PLACED, DORMANT)
# A new order starts where its data is: the source, older copies to seed staging
# from, nothing yet, or an identical copy already at dest.
FIRST_PHASES: Final = frozenset({SEED, PREPARE, STAGING, PLACED})
STORED_PHASES: Final = FIRST_PHASES | {DORMANT}  # what order.json may hold
PHASE_MOVES: Final[dict[str, frozenset[str]]] = {
    # The origin's seed goes quiet with its swarm too (agent/originquiet.py).
    SEED: frozenset({DORMANT}),
    PREPARE: frozenset({STAGING}),  # the copy ended (done, failed, or nothing to copy): the torrent is added
    STAGING: frozenset({MOVING}),
    # Moved; or the move failed: the data stays staged and the error is shown.
    MOVING: frozenset({PLACED, STAGING}),
    # The tracker said the swarm is quiet: the torrent is closed, the files stay.
    PLACED: frozenset({DORMANT}),
    # Woken (the master's order, or a new order for it): shared from where it lies again.
    DORMANT: frozenset({PLACED, SEED}),
}


def can_go_quiet(phase: str) -> bool:
    """Is a copy in ``phase`` complete where it lies, so that its torrent may close for a quiet swarm?"""
    return DORMANT in PHASE_MOVES.get(phase, frozenset())


def awake_phase(mode: str) -> str:
    """The phase a quiet distribution wakes into: the origin's seed (mode "seed") is shared from
    the pushed path again, a fetched copy from dest."""
    return SEED if mode == "seed" else PLACED


class IllegalTransition(P2PDistError):
    """The agent tried a phase change its table does not allow: a bug, named in the message."""


def check_first_phase(dist_id: str, phase: str) -> None:
    if phase not in FIRST_PHASES:
        raise IllegalTransition(f"{dist_id}: a distribution cannot start in phase {phase!r}")


def check_phase_move(dist_id: str, old: str, new: str) -> None:
    """Raise IllegalTransition unless ``PHASE_MOVES`` lets ``old`` become ``new``."""
    if new not in PHASE_MOVES.get(old, frozenset()):
        raise IllegalTransition(f"{dist_id}: phase {old!r} cannot become {new!r} "
                                f"(allowed: {sorted(PHASE_MOVES.get(old, ())) or 'none'})")


def reported_state(phase: str, *, failed: bool, checking: bool, complete: bool, paused: bool) -> str:
    """The state an agent reports: its phase read with libtorrent's status of the torrent."""
    if failed:
        return FAILED
    if phase == PREPARE:
        return PREPARING
    if phase == MOVING:
        return FINISHING
    if checking:
        return CHECKING
    if complete:  # a complete download still in staging is about to move
        return FINISHING if phase == STAGING else SEEDING
    return QUEUED if paused else DOWNLOADING


# -- a distribution's swarm, as the master decides it (master/quieting.py) ---
# Every target holding a verified copy starts the grace (``p2pdist:quiet_after``
# or the push's ``quiet_after``); when it has passed the swarm is quiet: the
# tracker tells each holder at its next announce, which closes its torrent and
# announces no more. A new target (push, re-push, p2pdist.present) wakes it.
SWARM_ACTIVE: Final = "active"  # a target still fetching (or none holds it yet)
SWARM_COMPLETE: Final = "complete"  # every target holds it; the grace runs (or it never goes quiet)
SWARM_QUIET: Final = "quiet"  # the grace has passed: no announces, no open torrents
SWARM_MOVES: Final[dict[str, frozenset[str]]] = {
    SWARM_ACTIVE: frozenset({SWARM_COMPLETE}),  # the last target completed (master: schedules quiet)
    SWARM_COMPLETE: frozenset({SWARM_QUIET, SWARM_ACTIVE}),  # the clock; or a new target came
    SWARM_QUIET: frozenset({SWARM_ACTIVE}),  # woken by a new target (master: wakes the holders)
}


def swarm_phase(*, all_hold: bool, quiet_at: float | None, now: float) -> str:
    """Where a swarm is: ``quiet_at`` is when the master set it to go quiet (None: not set)."""
    if not all_hold:
        return SWARM_ACTIVE
    return SWARM_QUIET if quiet_at is not None and now >= quiet_at else SWARM_COMPLETE


def check_swarm_move(dist_id: str, old: str, new: str) -> None:
    """Raise IllegalTransition unless ``SWARM_MOVES`` lets a swarm go from ``old`` to ``new``."""
    if new not in SWARM_MOVES.get(old, frozenset()):
        raise IllegalTransition(f"{dist_id}: swarm {old!r} cannot become {new!r}")
