"""Boot delay, the stranger and the MTA queue, on a fake clock: `step` and `QueueState` are pure."""

from __future__ import annotations

from eipkeeper.sandbox.dataplane import (
    STRANGER,
    ControlPlaneView,
    PlaneState,
    Timing,
    booted_at_start,
    step,
)
from eipkeeper.sandbox.mailqueue import SimulatedQueue

EIP = "127.1.2.3"
DYNAMIC = "127.4.5.6"
TIMING = Timing(association_delay=2.0, boot_delay=20.0, reuse_after=2.0)


def seen(
    holders: dict[str, str],
    *,
    elastic: frozenset[str] = frozenset({EIP}),
    boots: dict[str, int] | None = None,
    handed_out: frozenset[str] = frozenset({EIP, DYNAMIC}),
) -> ControlPlaneView:
    instances = set(holders.values())
    return ControlPlaneView(
        holders=holders,
        elastic=elastic,
        answering=frozenset(instances),
        boots=boots if boots is not None else dict.fromkeys(instances, 1),
        handed_out=handed_out,
    )


def test_a_launched_instance_answers_only_after_the_boot_delay() -> None:
    state = PlaneState()
    launched = seen({DYNAMIC: "i-new"})
    state, decision = step(state, launched, now=100.0, timing=TIMING)
    assert decision.answers == {}
    assert decision.booting == {"i-new"}
    assert DYNAMIC in decision.silent
    state, decision = step(state, launched, now=119.9, timing=TIMING)
    assert decision.answers == {}
    state, decision = step(state, launched, now=120.0, timing=TIMING)
    assert decision.answers == {DYNAMIC: "i-new"}
    assert decision.booting == frozenset()


def test_the_instances_there_at_start_have_booted() -> None:
    fleet = seen({DYNAMIC: "i-sample"})
    state = PlaneState(boots=booted_at_start(fleet))
    _, decision = step(state, fleet, now=0.0, timing=TIMING)
    assert decision.answers == {DYNAMIC: "i-sample"}


def test_a_start_after_a_stop_boots_again() -> None:
    first = seen({DYNAMIC: "i-a"}, boots={"i-a": 1})
    state = PlaneState(boots=booted_at_start(first))
    state, _ = step(state, first, now=0.0, timing=TIMING)
    restarted = seen({"127.9.9.9": "i-a"}, boots={"i-a": 2})
    state, decision = step(state, restarted, now=50.0, timing=TIMING)
    assert decision.answers.get("127.9.9.9") is None
    _, decision = step(state, restarted, now=70.0, timing=TIMING)
    assert decision.answers["127.9.9.9"] == "i-a"


def test_the_stranger_takes_a_released_address_after_reuse_after_and_keeps_it() -> None:
    held = seen({EIP: "i-a"})
    state = PlaneState(boots=booted_at_start(held))
    state, _ = step(state, held, now=0.0, timing=TIMING)
    released = seen({}, elastic=frozenset())
    state, decision = step(state, released, now=10.0, timing=TIMING)
    assert EIP not in decision.answers and EIP in decision.silent
    state, decision = step(state, released, now=11.9, timing=TIMING)
    assert EIP not in decision.answers
    state, decision = step(state, released, now=12.0, timing=TIMING)
    assert decision.answers[EIP] == STRANGER
    assert EIP in state.stranger
    _, decision = step(state, released, now=1000.0, timing=TIMING)
    assert decision.answers[EIP] == STRANGER


def test_an_address_held_again_before_reuse_after_is_not_taken() -> None:
    held = seen({DYNAMIC: "i-a"}, elastic=frozenset())
    state = PlaneState(boots=booted_at_start(held))
    state, _ = step(state, held, now=0.0, timing=TIMING)
    state, _ = step(state, seen({}, elastic=frozenset()), now=1.0, timing=TIMING)
    state, _ = step(state, held, now=2.5, timing=TIMING)  # held again: the clock restarts
    state, decision = step(state, seen({}, elastic=frozenset()), now=4.0, timing=TIMING)
    assert DYNAMIC not in decision.answers
    assert state.given_up[DYNAMIC] == 4.0


def test_an_unassociated_eip_is_still_the_accounts_and_nobody_answers_it() -> None:
    unassociated = seen({})
    state, decision = step(PlaneState(), unassociated, now=0.0, timing=TIMING)
    _, decision = step(state, unassociated, now=100.0, timing=TIMING)
    assert EIP not in decision.answers
    assert EIP in decision.silent


def test_without_reuse_after_there_is_no_stranger() -> None:
    timing = Timing(reuse_after=None)
    released = seen({}, elastic=frozenset())
    state, _ = step(PlaneState(), released, now=0.0, timing=timing)
    state, decision = step(state, released, now=1e6, timing=timing)
    assert decision.answers == {}
    assert state.stranger == frozenset()


def test_the_account_holding_an_address_wins_over_the_stranger() -> None:
    state = PlaneState(stranger=frozenset({DYNAMIC}))
    _, decision = step(state, seen({DYNAMIC: "i-a"}), now=0.0, timing=Timing())
    assert decision.answers[DYNAMIC] == "i-a"


def test_a_queue_empties_at_its_rate() -> None:
    queue = SimulatedQueue().with_tag("25", now=10.0)
    assert queue.length_at(10.0, rate=10.0) == 25
    assert queue.length_at(11.0, rate=10.0) == 15
    assert queue.length_at(12.4, rate=10.0) == 1
    assert queue.length_at(12.5, rate=10.0) == 0
    assert queue.length_at(99.0, rate=10.0) == 0


def test_only_a_new_tag_value_refills_the_queue() -> None:
    queue = SimulatedQueue().with_tag("10", now=0.0)
    assert queue.with_tag("10", now=5.0) is queue
    assert queue.with_tag("10", now=5.0).length_at(5.0, rate=1.0) == 5
    refilled = queue.with_tag("8", now=5.0)
    assert refilled.length_at(5.0, rate=1.0) == 8
    assert queue.with_tag("many", now=5.0).length_at(5.0, rate=1.0) == 5


def test_each_accepted_message_joins_the_queue() -> None:
    queue = SimulatedQueue().plus_one(now=0.0, rate=2.0).plus_one(now=0.0, rate=2.0)
    assert queue.length_at(0.0, rate=2.0) == 2
    assert queue.length_at(1.0, rate=2.0) == 0
