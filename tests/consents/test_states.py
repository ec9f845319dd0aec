"""The transition table: every allowed and every forbidden transition."""

import itertools

import pytest

from consents.states import FINAL, INITIAL, TRANSITIONS, Status, TransitionError, check_transition

ALLOWED = [(a, b) for a, targets in TRANSITIONS.items() for b in targets]
FORBIDDEN = [(a, b) for a, b in itertools.product(Status, Status) if b not in TRANSITIONS[a]]


def test_table_names_every_state() -> None:
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda s: str(s))
def test_allowed_transition_passes(current: Status, target: Status) -> None:
    check_transition(current, target)


@pytest.mark.parametrize(("current", "target"), FORBIDDEN, ids=lambda s: str(s))
def test_forbidden_transition_raises_and_names_both_states(current: Status, target: Status) -> None:
    with pytest.raises(TransitionError) as info:
        check_transition(current, target)
    assert current.value in str(info.value) and target.value in str(info.value)


def test_final_states_are_the_ones_nothing_leaves() -> None:
    assert {
        Status.WITHDRAWN,
        Status.REVOKED,
        Status.TERMINATED,
        Status.EXPIRED,
        Status.REJECTED,
        Status.SUPERSEDED,
    } == FINAL


def test_consents_start_requested_or_active_and_no_state_returns_to_requested() -> None:
    assert {Status.REQUESTED, Status.ACTIVE} == INITIAL
    assert all(Status.REQUESTED not in targets for targets in TRANSITIONS.values())


def test_withdrawal_is_reachable_from_every_state_a_citizen_has_in_force() -> None:
    assert Status.WITHDRAWN in TRANSITIONS[Status.ACTIVE]
    assert Status.WITHDRAWN in TRANSITIONS[Status.PAUSED]
