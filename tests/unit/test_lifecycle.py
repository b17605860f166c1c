from __future__ import annotations

import pytest

from salt_p2pdist.core import lifecycle as lc


def test_every_state_has_a_transition_entry_and_targets_are_states():
    assert set(lc.TRANSITIONS) == set(lc.ALL_STATES)
    assert len(set(lc.ALL_STATES)) == len(lc.ALL_STATES)
    for old, news in lc.TRANSITIONS.items():
        assert news <= set(lc.ALL_STATES), old
        assert old not in news, f"{old} lists itself; staying put is implicit"


def test_pending_is_master_only_and_never_reentered():
    assert all(lc.PENDING not in news for news in lc.TRANSITIONS.values())


def test_state_sets_are_consistent():
    assert lc.COMPLETE_STATES <= lc.TERMINAL_STATES
    assert {lc.SEEDING, lc.DONE, lc.FAILED, lc.CANCELLED, lc.REMOVED, lc.QUIET} == lc.TERMINAL_STATES
    for state in lc.ALL_STATES:
        assert not (lc.is_active(state) and state in lc.TERMINAL_STATES), state
    assert [s for s in lc.ALL_STATES if lc.is_active(s)] == [
        lc.PREPARING, lc.QUEUED, lc.CHECKING, lc.DOWNLOADING, lc.FINISHING]
    assert not lc.is_active(lc.PENDING)
    assert lc.is_complete(lc.SEEDING) and lc.is_complete(lc.DONE)
    assert not lc.is_complete(lc.FAILED) and not lc.is_complete(lc.FINISHING)


def _reachable(start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in lc.TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.parametrize("state", [s for s in lc.ALL_STATES if s != lc.CANCELLED])
def test_everything_can_be_cancelled(state):
    assert lc.can_move(state, lc.CANCELLED)


@pytest.mark.parametrize("state", [lc.PENDING, lc.PREPARING, lc.QUEUED, lc.CHECKING, lc.DOWNLOADING,
                                   lc.FINISHING])
def test_unfinished_states_can_fail_and_can_complete(state):
    assert lc.can_move(state, lc.FAILED)
    assert _reachable(state) & lc.COMPLETE_STATES


def test_terminal_states_can_be_ordered_again():
    # a failed or cancelled host can be re-ordered; a complete one re-verified
    assert lc.can_move(lc.FAILED, lc.QUEUED)
    assert lc.can_move(lc.CANCELLED, lc.QUEUED)
    assert lc.can_move(lc.SEEDING, lc.CHECKING)
    assert lc.can_move(lc.DONE, lc.CHECKING)


def test_can_move():
    assert lc.can_move(lc.DOWNLOADING, lc.DOWNLOADING)  # staying put
    assert lc.can_move(lc.DOWNLOADING, lc.FINISHING)
    assert not lc.can_move(lc.DOWNLOADING, lc.SEEDING)  # must pass through finishing
    assert not lc.can_move(lc.DONE, lc.DOWNLOADING)
    assert not lc.can_move(lc.QUEUED, lc.PENDING)
    assert not lc.can_move("bogus", lc.QUEUED)
    assert lc.can_move("bogus", "bogus")


# -- the agent's phases ---------------------------------------------------------


def test_every_phase_has_an_entry_and_moves_only_to_phases():
    assert set(lc.PHASE_MOVES) == set(lc.AGENT_PHASES)
    for old, news in lc.PHASE_MOVES.items():
        assert news <= set(lc.AGENT_PHASES), old
        assert old not in news, old
    assert set(lc.AGENT_PHASES) - {lc.MOVING} == lc.STORED_PHASES  # moving is never stored either
    assert {lc.DORMANT} == lc.STORED_PHASES - lc.FIRST_PHASES  # nothing starts quiet


def test_a_download_is_staged_moved_then_placed_and_a_failed_move_stays_staged():
    lc.check_phase_move("d1", lc.PREPARE, lc.STAGING)  # staging seeded from older copies first
    lc.check_phase_move("d1", lc.STAGING, lc.MOVING)
    lc.check_phase_move("d1", lc.MOVING, lc.PLACED)
    lc.check_phase_move("d1", lc.MOVING, lc.STAGING)


@pytest.mark.parametrize(("old", "new"), [
    (lc.PLACED, lc.STAGING), (lc.STAGING, lc.PLACED), (lc.SEED, lc.MOVING),
    (lc.MOVING, lc.MOVING), (lc.PLACED, lc.MOVING), ("bogus", lc.PLACED),
    (lc.PREPARE, lc.MOVING), (lc.PREPARE, lc.PLACED), (lc.STAGING, lc.PREPARE)])
def test_an_illegal_phase_move_raises_naming_both_phases(old, new):
    with pytest.raises(lc.IllegalTransition, match=f"d1: phase '{old}' cannot become '{new}'"):
        lc.check_phase_move("d1", old, new)


def test_a_distribution_cannot_start_moving():
    for phase in lc.FIRST_PHASES:
        lc.check_first_phase("d1", phase)
    with pytest.raises(lc.IllegalTransition, match="d1: a distribution cannot start in phase 'moving'"):
        lc.check_first_phase("d1", lc.MOVING)


def _reported(phase, *, failed=False, checking=False, complete=False, paused=False):
    return lc.reported_state(phase, failed=failed, checking=checking, complete=complete, paused=paused)


def test_reported_state_reads_the_phase_with_libtorrents_status():
    assert _reported(lc.STAGING) == lc.DOWNLOADING
    assert _reported(lc.STAGING, paused=True) == lc.QUEUED
    assert _reported(lc.STAGING, checking=True) == lc.CHECKING
    assert _reported(lc.STAGING, complete=True) == lc.FINISHING  # about to move
    assert _reported(lc.MOVING, complete=True, checking=True) == lc.FINISHING
    assert _reported(lc.PLACED, complete=True) == lc.SEEDING
    assert _reported(lc.SEED, complete=True) == lc.SEEDING
    assert _reported(lc.PREPARE) == lc.PREPARING  # no torrent yet: copying older versions into staging
    for phase in lc.AGENT_PHASES:
        assert _reported(phase, failed=True, complete=True) == lc.FAILED


def test_each_phase_move_is_a_move_the_master_accepts_in_reports():
    downloading, finishing = _reported(lc.STAGING), _reported(lc.MOVING)
    assert lc.can_move(downloading, finishing)
    assert lc.can_move(finishing, _reported(lc.PLACED, complete=True))
    assert lc.can_move(finishing, _reported(lc.STAGING, failed=True))  # the move failed
    preparing = _reported(lc.PREPARE)
    assert lc.can_move(lc.PENDING, preparing)
    # The copy ends and the torrent is added: checked, or downloading what is left.
    assert lc.can_move(preparing, _reported(lc.STAGING, checking=True))
    assert lc.can_move(preparing, _reported(lc.STAGING))
