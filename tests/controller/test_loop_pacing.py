"""Wake-ups with a limit, on a fake clock: an event that finds the controller idle starts a
round at once; a storm of events or a flapping check is served by rounds at most one per
`min_interval`; with no wake-up, a round every `interval`."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

import pytest

from eipkeeper.config import Config
from eipkeeper.controller.engine import Outcome, Prepared
from eipkeeper.controller.executor import ApplyReport
from eipkeeper.controller.hooks import Hooks
from eipkeeper.controller.intents import Intent
from eipkeeper.controller.loop import Controller
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Finding, Plan
from tests.controller.world import make_config
from tests.support.clock import FakeClock

ROUND_SECONDS = 0.3


@dataclass
class CountedRounds:
    """An engine that changes nothing and takes ROUND_SECONDS of fake time."""

    clock: FakeClock
    config: Config = field(default_factory=make_config)
    starts: list[float] = field(default_factory=list)
    revisits: list[float | None] = field(default_factory=list)
    """What each round's plan says about a switch grace that ends soon (then None)."""
    raises: list[Exception] = field(default_factory=list)
    """What each round raises, in turn (then nothing)."""

    def prepare(self, intent: Intent, **_: object) -> Prepared:
        self.starts.append(self.clock.now)
        self.clock.advance(ROUND_SECONDS)
        if self.raises:
            raise self.raises.pop(0)
        revisit = self.revisits.pop(0) if self.revisits else None
        held = (Finding("switching", "info", "mx1", "mx-a does not pass its check ..."),)
        plan = Plan(actions=(), findings=held if revisit else (), revisit_in=revisit)
        return Prepared(intent, Observation(addresses=(), instances=(), zone=None), plan)

    def execute(self, prepared: Prepared, hooks: Hooks = Hooks()) -> Outcome:  # noqa: B008
        return Outcome(prepared, ApplyReport())


def controller(*, interval: float = 30.0, min_interval: float = 1.0) -> Controller:
    clock = FakeClock(now=0.0)
    return Controller(
        engine=CountedRounds(clock), interval=interval, min_interval=min_interval, clock=clock
    )


def fake(loop: Controller) -> FakeClock:
    assert isinstance(loop.clock, FakeClock)
    return loop.clock


def run_until(loop: Controller, end: float) -> list[float]:
    fake(loop).at(end, loop.request_stop)
    loop.run()
    rounds = loop.engine
    assert isinstance(rounds, CountedRounds)
    return rounds.starts


def test_without_wake_ups_a_round_runs_every_interval() -> None:
    assert run_until(controller(interval=30.0), 95.0) == [0.0, 30.3, 60.6, 90.9]


def test_an_event_that_finds_the_controller_idle_starts_a_round_at_once() -> None:
    loop = controller()
    fake(loop).at(10.0, lambda: loop.wake_up("event"))
    starts = run_until(loop, 20.0)
    assert starts == [0.0, 10.0]


def test_an_event_just_after_a_round_waits_out_the_minimum_interval_only() -> None:
    loop = controller()
    fake(loop).at(10.5, lambda: loop.wake_up("event"))
    fake(loop).at(10.9, lambda: loop.wake_up("health"))
    starts = run_until(loop, 20.0)
    assert starts == [0.0, 10.5, 11.8], "the second wake-up came 0.1 s after the round ended"


def test_an_event_storm_is_batched_into_one_round_per_minimum_interval() -> None:
    loop = controller()
    storm = [5.0 + n * 0.01 for n in range(1000)]  # 100 events a second for 10 s
    for when in storm:
        fake(loop).at(when, lambda: loop.wake_up("event"))
    starts = run_until(loop, 30.0)
    during = [t for t in starts if 5.0 <= t <= 15.3]
    # One round per (min_interval + the round's own time) at most: 10 s / 1.3 s.
    assert len(during) <= 9
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 1.0 + ROUND_SECONDS - 1e-9, "never two rounds closer than the limit"
    assert max(during) >= storm[-1] - 1.0 - ROUND_SECONDS, "the last events were served"
    assert starts[-1] - storm[-1] <= 1.0 + ROUND_SECONDS, "within a round and the limit"


def test_a_round_comes_back_when_a_failing_holders_switch_grace_ends() -> None:
    """A holder failing within its grace keeps its address; the failover waits out the grace
    and no more: the next round starts as the grace ends, not at the next interval."""
    loop = controller(interval=30.0)
    rounds = loop.engine
    assert isinstance(rounds, CountedRounds)
    rounds.revisits = [4.0]
    starts = run_until(loop, 40.0)
    assert starts == [0.0, pytest.approx(0.3 + 4.0 + 0.2), pytest.approx(4.8 + 30.0)]


def test_run_says_when_and_why_it_judges_a_holder_later(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="eipkeeper.run")
    loop = controller(interval=30.0)
    rounds = loop.engine
    assert isinstance(rounds, CountedRounds)
    rounds.revisits = [4.0, 3.0, None, 2.0]  # held, still held, judged, held again
    fake(loop).at(1.0, lambda: loop.wake_up("health"))
    run_until(loop, 40.0)
    said = [r for r in caplog.records if r.getMessage() == "run.judging_later"]
    assert len(said) == 2, "once per hold, not once per round of it"
    fields = said[0].__dict__["eipkeeper_fields"]
    assert fields == {"seconds": 4.2, "why": "mx-a does not pass its check ..."}


def test_run_says_it_judges_later_with_a_short_interval_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """With --interval shorter than the grace left, the line was never said."""
    caplog.set_level(logging.INFO, logger="eipkeeper.run")
    loop = controller(interval=1.0, min_interval=0.5)
    rounds = loop.engine
    assert isinstance(rounds, CountedRounds)
    rounds.revisits = [4.0, 3.0, 2.0, 1.0, None]
    run_until(loop, 6.0)
    said = [r for r in caplog.records if r.getMessage() == "run.judging_later"]
    assert len(said) == 1, "once per hold"
    assert said[0].__dict__["eipkeeper_fields"]["seconds"] == 4.2


def test_a_grace_that_ends_within_the_minimum_interval_waits_for_it() -> None:
    loop = controller(interval=30.0, min_interval=1.0)
    rounds = loop.engine
    assert isinstance(rounds, CountedRounds)
    rounds.revisits = [0.1]
    assert run_until(loop, 5.0) == [0.0, pytest.approx(1.3)]


def test_the_rounds_say_what_woke_them() -> None:
    loop = controller()
    reasons: list[str] = []
    original = loop.one_round

    def spy(*, trigger: str = "interval", raise_errors: bool = False) -> str:
        reasons.append(trigger)
        return original(trigger=trigger, raise_errors=raise_errors)

    loop.one_round = spy  # type: ignore[method-assign]
    # Both arrive during the first round: one round after it serves both.
    fake(loop).at(0.1, lambda: loop.wake_up("event"))
    fake(loop).at(0.2, lambda: loop.wake_up("health"))
    starts = run_until(loop, 40.0)
    assert reasons == ["start", "event,health", "interval"]
    assert starts == [0.0, 1.3, 31.6]


def test_a_quiet_controller_says_it_is_alive_every_fifteen_minutes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="eipkeeper.run")
    run_until(controller(interval=60.0), 2000.0)
    alive = [r for r in caplog.records if r.getMessage() == "run.alive"]
    assert len(alive) == 2, "at 15 and 30 minutes of fake time"
    assert [r.getMessage() for r in caplog.records] == ["run.alive", "run.alive"], (
        "rounds that change nothing say nothing"
    )


@dataclass
class SpfHeld(CountedRounds):
    """Every round's plan holds back an SPF change past RFC 7208's limits."""

    intents: list[Intent] = field(default_factory=list)

    def prepare(self, intent: Intent, **_: object) -> Prepared:
        self.intents.append(intent)
        self.clock.advance(ROUND_SECONDS)
        why = "refused by RFC 7208: the SPF policy of example.test would have 11 mechanisms ..."
        plan = Plan(actions=(), findings=(Finding("spf-lookups", "critical", "example.test", why),))
        return Prepared(intent, Observation(addresses=(), instances=(), zone=None), plan)


def test_run_asks_for_rounds_that_hold_back_spf_alone_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 20: `run`'s rounds are unattended (an SPF change past the limits is held back, the
    rest goes ahead: test_spf), and the held change is said once, naming the rule."""
    caplog.set_level(logging.INFO, logger="eipkeeper.run")
    clock = FakeClock(now=0.0)
    rounds = SpfHeld(clock)
    loop = Controller(engine=rounds, interval=30.0, clock=clock)
    clock.at(95.0, loop.request_stop)
    loop.run()
    assert len(rounds.intents) == 4
    assert all(getattr(i, "unattended", False) for i in rounds.intents)
    said = [r for r in caplog.records if r.getMessage() == "spf.held"]
    assert len(said) == 1, "once while it lasts, not every round"
    fields = said[0].__dict__["eipkeeper_fields"]
    assert fields["rule"] == "RFC 7208" and fields["name"] == "example.test"
