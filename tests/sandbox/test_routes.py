"""The data plane's timing rules, on a fake clock: `advance` and `answers` are pure."""

from __future__ import annotations

from eipkeeper.sandbox.dataplane import ControlPlaneView, Forwarding, advance, answers

EIP = "127.1.2.3"
DYNAMIC = "127.4.5.6"
DELAY = 2.0


def seen(holders: dict[str, str], answering: set[str] | None = None) -> ControlPlaneView:
    return ControlPlaneView(
        holders=holders,
        elastic=frozenset({EIP}),
        answering=frozenset(answering if answering is not None else set(holders.values())),
    )


def test_a_new_association_waits_for_the_delay_and_nobody_answers_meanwhile() -> None:
    routes = advance({}, seen({EIP: "i-a"}), now=100.0, delay=DELAY)
    assert answers(routes, seen({EIP: "i-a"})) == {}
    routes = advance(routes, seen({EIP: "i-a"}), now=101.9, delay=DELAY)
    assert answers(routes, seen({EIP: "i-a"})) == {}
    routes = advance(routes, seen({EIP: "i-a"}), now=102.0, delay=DELAY)
    assert answers(routes, seen({EIP: "i-a"})) == {EIP: "i-a"}


def test_a_move_is_answered_by_the_old_holder_until_the_delay_has_passed() -> None:
    both = {"i-a", "i-b"}
    routes = {EIP: Forwarding(holder="i-a")}
    routes = advance(routes, seen({EIP: "i-b"}, both), now=10.0, delay=DELAY)
    assert answers(routes, seen({EIP: "i-b"}, both)) == {EIP: "i-a"}
    routes = advance(routes, seen({EIP: "i-b"}, both), now=12.0, delay=DELAY)
    assert answers(routes, seen({EIP: "i-b"}, both)) == {EIP: "i-b"}


def test_a_move_from_a_dead_holder_leaves_the_address_silent_until_the_delay() -> None:
    routes = advance(
        {EIP: Forwarding(holder="i-a")}, seen({EIP: "i-b"}, {"i-b"}), now=0, delay=DELAY
    )
    assert answers(routes, seen({EIP: "i-b"}, {"i-b"})) == {}


def test_moving_back_before_the_delay_cancels_the_move() -> None:
    routes = {EIP: Forwarding(holder="i-a")}
    routes = advance(routes, seen({EIP: "i-b"}), now=0.0, delay=DELAY)
    routes = advance(routes, seen({EIP: "i-a"}), now=1.0, delay=DELAY)
    assert routes == {EIP: Forwarding(holder="i-a")}


def test_another_move_restarts_the_wait() -> None:
    routes = {EIP: Forwarding(holder="i-a")}
    routes = advance(routes, seen({EIP: "i-b"}), now=0.0, delay=DELAY)
    routes = advance(routes, seen({EIP: "i-c"}), now=1.5, delay=DELAY)
    routes = advance(routes, seen({EIP: "i-c"}), now=2.5, delay=DELAY)
    assert routes[EIP].holder == "i-a"
    routes = advance(routes, seen({EIP: "i-c"}), now=3.5, delay=DELAY)
    assert routes[EIP].holder == "i-c"


def test_dynamic_addresses_answer_at_once_and_vanish_with_their_instance() -> None:
    routes = advance({}, seen({DYNAMIC: "i-a"}), now=0.0, delay=DELAY)
    assert answers(routes, seen({DYNAMIC: "i-a"})) == {DYNAMIC: "i-a"}
    routes = advance(routes, seen({}), now=0.1, delay=DELAY)
    assert routes == {}


def test_a_disassociated_eip_goes_quiet_at_once() -> None:
    routes = advance({EIP: Forwarding(holder="i-a")}, seen({}), now=0.0, delay=DELAY)
    assert routes == {}


def test_an_instance_that_does_not_answer_has_no_listener() -> None:
    routes = {EIP: Forwarding(holder="i-a"), DYNAMIC: Forwarding(holder="i-b")}
    observed = seen({EIP: "i-a", DYNAMIC: "i-b"}, answering={"i-b"})
    assert answers(advance(routes, observed, now=0, delay=DELAY), observed) == {DYNAMIC: "i-b"}
