"""`eipkeeper run`: a round every interval, and soon after an EC2 event or a change of health.

Wake-ups are batched: a round never starts sooner than `min_interval` after the previous one
ended, and every wake-up that arrives in the meantime (an event storm, a flapping check) is
served by that one round. An event that finds the controller idle starts a round at once.

What an error leads to is the error's own `handling` (errors.py): retry with jittered
back-off, stop, fenced or refused. With a lease, a heartbeat thread keeps it apart from the
rounds, and every mutating step is fenced by it (controller/lease.py). What a round says is
controller/narration.py's, what it counts controller/run_metrics.py's.
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from eipkeeper.cloud.aws import CallCounter
from eipkeeper.config import Config
from eipkeeper.controller import narration
from eipkeeper.controller.engine import Outcome, Prepared
from eipkeeper.controller.events import EventQueue
from eipkeeper.controller.executor import ApplyReport, not_done
from eipkeeper.controller.hooks import Hooks
from eipkeeper.controller.intents import Intent, Reconcile
from eipkeeper.controller.lease import Lease
from eipkeeper.controller.metrics import Metrics
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Plan
from eipkeeper.controller.run_metrics import RunMetrics
from eipkeeper.errors import EipkeeperError, Interrupted, OperationError, TransientError
from eipkeeper.health.monitor import HealthChange, HealthMonitor
from eipkeeper.logs import get_logger

log = get_logger(__name__)
say = get_logger("eipkeeper.run")

ALIVE_EVERY = 900.0
"""Seconds between `run.alive` lines: rounds that change nothing are silent, so this line is
how a log reader tells a quiet controller from a stuck one (and a follower from a leader)."""
REVISIT_SLACK = 0.2
"""Seconds past a switch grace's end before the round that judges the holder again."""


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Pipeline(Protocol):
    """The engine as the loop uses it (tests give a fake): observe, plan and check, execute."""

    @property
    def config(self) -> Config: ...

    def prepare(self, intent: Intent, *, force: bool = ...) -> Prepared: ...

    def execute(self, prepared: Prepared, hooks: Hooks = ...) -> Outcome: ...


@dataclass(frozen=True)
class Failure:
    """What a failed round had done, for its line."""

    started: float
    attempted: list[str]
    trigger: str


class LoopClock(Protocol):
    def monotonic(self) -> float: ...

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """Wait up to TIMEOUT for EVENT; True when it was set."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.wait(timeout=max(0.0, timeout))


@dataclass
class Controller:
    engine: Pipeline
    interval: float
    min_interval: float = 1.0
    metrics: Metrics = field(default_factory=Metrics)
    events: EventQueue | None = None
    lease: Lease | None = None
    calls: CallCounter | None = None
    monitor: HealthMonitor | None = None
    clock: LoopClock = field(default_factory=SystemClock)
    stop: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    max_backoff: float = 60.0
    rounds_started: list[float] = field(default_factory=list)
    """clock.monotonic() at the start of each round (tests and the alive line read it)."""
    _failures: int = 0
    _fatal: EipkeeperError | None = None
    interrupted: bool = False
    """Ctrl-C was pressed: `run` ends with Interrupted (exit 130), not a clean stop."""
    _cut: Interrupted | None = None
    """The round Ctrl-C cut short: its steps done and not done."""
    _reasons: set[str] = field(default_factory=set)
    _reasons_lock: threading.Lock = field(default_factory=threading.Lock)
    _failing_since: dict[str, float] = field(default_factory=dict)
    _revisit_in: float | None = None
    _once: narration.SaidOnce = field(default_factory=narration.SaidOnce)
    _tally: Counter[str] = field(default_factory=Counter)
    _export: RunMetrics = field(init=False)
    last_seen: Observation | None = None
    """The observation of the latest round (metrics read it)."""

    def __post_init__(self) -> None:
        self._export = RunMetrics(self.metrics)

    # -- wake-ups -----------------------------------------------------------------------------

    def wake_up(self, reason: str) -> None:
        """Ask for a round soon (thread-safe): REASON is named in the round's line."""
        with self._reasons_lock:
            self._reasons.add(reason)
        self.wake.set()

    def on_health_change(self, change: HealthChange) -> None:
        """Called from the monitor's thread: a change of health asks for a round."""
        if change.healthy:
            self._failing_since.pop(change.instance_id, None)
        elif change.first_failure_at is not None:
            self._failing_since[change.instance_id] = change.first_failure_at
        self.wake_up("health")

    def request_interrupt(self, signum: int = 0, frame: object = None) -> None:
        """Ctrl-C: a stop as SIGTERM's (the step under way ends first: every step is
        idempotent), then `run` exits 130 saying what the round in flight did and did not."""
        self.interrupted = True
        self.request_stop(signum, frame)

    def request_stop(self, signum: int = 0, frame: object = None) -> None:
        if signum:
            say.info("run.stopping", signal=signum)
        self.stop.set()
        self.wake.set()

    def _take_reasons(self, default: str) -> str:
        with self._reasons_lock:
            reasons, self._reasons = self._reasons, set()
            self.wake.clear()
        return ",".join(sorted(reasons)) or default

    def _wait_for_next_round(self, *, due: float, earliest: float) -> None:
        """Until DUE, or a wake-up; in either case no sooner than EARLIEST."""
        while not self.stop.is_set():
            remaining = due - self.clock.monotonic()
            if remaining <= 0 or self.clock.wait(self.wake, remaining):
                break
        remaining = earliest - self.clock.monotonic()
        if remaining > 0 and not self.stop.is_set():
            self.clock.wait(self.stop, remaining)

    # -- the loop -----------------------------------------------------------------------------

    def run(self, *, once: bool = False) -> None:
        """Rounds until stopped (or one with ONCE); re-raises what stopped it for good."""
        self._start_threads(once=once)
        try:
            self._rounds(once=once)
        finally:
            if self.monitor is not None:
                self.monitor.stop()
            if self.lease is not None:
                self.lease.release()
                self.metrics.leader.set(0)
        if self._fatal is not None:
            raise self._fatal
        if self.interrupted:
            raise self._cut or Interrupted(between="rounds")

    def _start_threads(self, *, once: bool) -> None:
        if self.lease is not None:
            self._first_acquire()
            if not once:
                threading.Thread(target=self._heartbeat, name="lease", daemon=True).start()
        if self.events is not None and not once:
            threading.Thread(target=self._listen, name="events", daemon=True).start()
        if self.monitor is not None:
            self.monitor.start()

    def _rounds(self, *, once: bool) -> None:
        trigger = "start"
        alive_at = self.clock.monotonic() + ALIVE_EVERY
        while not self.stop.is_set():
            trigger = self._take_reasons(trigger)
            delay, next_trigger = self.interval, "interval"
            outcome = self.one_round(trigger=trigger, raise_errors=once) if self._may_act() else ""
            if outcome == "retry":
                delay, next_trigger = self._backoff(), "retry"
            elif outcome == "ok" and self._revisit_in is not None:
                judged_in = self._revisit_in + REVISIT_SLACK
                if self._revisit_in < delay:
                    # A failing holder's switch grace ends before the next interval: judge it then.
                    delay, next_trigger = judged_in, "grace-ended"
                # Said with a short --interval too (the rounds come first, then the judging).
                self._once.judging_later(judged_in)
            if once:
                return
            ended = self.clock.monotonic()
            if ended >= alive_at:
                leader = None if self.lease is None else self.lease.held
                narration.tell_alive(self._tally, leader=leader, minutes=ALIVE_EVERY / 60)
                self._tally.clear()
                alive_at = ended + ALIVE_EVERY
            self._wait_for_next_round(due=ended + delay, earliest=ended + self.min_interval)
            trigger = next_trigger

    def _may_act(self) -> bool:
        if self.lease is None:
            return True
        held = self.lease.held
        self.metrics.leader.set(1 if held else 0)
        return held

    def one_round(self, *, trigger: str = "interval", raise_errors: bool = False) -> str:
        """One round; returns `ok`, `retry`, `refused` or `fenced`. Stops the loop on
        permanent errors."""
        started = self.clock.monotonic()
        self.rounds_started.append(started)
        attempted: list[str] = []
        fence = self._fence()
        hooks = Hooks(
            on_step=attempted.append, stop=self.stop, on_associated=self._retarget, fence=fence
        )
        try:
            prepared = self.engine.prepare(Reconcile(unattended=True))
            self.last_seen = prepared.seen
            plan, report = prepared.plan, self.engine.execute(prepared, hooks).report
            if self.interrupted and plan.actions:  # an empty round had nothing in flight
                self._cut = Interrupted(report.done, not_done(plan, report), after_step=True)
        except EipkeeperError as exc:
            outcome = self._failed(exc, Failure(started, attempted, trigger))
            if raise_errors:
                raise
            return outcome
        except Exception as exc:
            # A bug of ours: said with its traceback, counted, and the next round (after the
            # back-off) reads the world afresh; the controller goes on serving.
            say.error("round.crashed", error=f"{type(exc).__name__}: {exc}")
            log.debug("round.crashed", traceback=traceback.format_exc())
            outcome = self._failed(
                OperationError(f"internal error: {type(exc).__name__}: {exc}"),
                Failure(started, attempted, trigger),
            )
            if raise_errors:
                raise
            return outcome
        self._succeeded(started, trigger, plan, report)
        return "ok"

    def _failed(self, exc: EipkeeperError, failure: Failure) -> str:
        """The one switch: what the error says a round should lead to (errors.Handling)."""
        if exc.handling == "stop":
            self.metrics.rounds.labels("error").inc()
            raise exc  # `run` stops; the CLI says it in one line
        if exc.handling in ("fenced", "refused"):
            event = f"round.{exc.handling}"
            self._count_round(exc.handling, failure, exc.message, event)
            return exc.handling
        self._failures += 1
        self._count_round(
            exc.handling, failure, exc.message, "round.failed", failures=self._failures
        )
        return "retry"

    def _succeeded(self, started: float, trigger: str, plan: Plan, report: ApplyReport) -> None:
        seconds = self.clock.monotonic() - started
        self._failures = 0
        self._revisit_in = plan.revisit_in
        self._once.planned(plan)
        self._tally["ok"] += 1
        self._tally["changed"] += 1 if report.done else 0
        self._export.round_ok(seconds, report)
        narration.tell_applied(
            plan, report, seconds=seconds, trigger=trigger, failing_since=self._failing_since
        )
        self._export.failovers(report, self._failing_since, self.monitor)
        self._export.fleet(self.engine.config, self.last_seen)
        self._export.calls(self.calls)

    def _count_round(
        self, outcome: str, failure: Failure, error: str, event: str, **fields: object
    ) -> None:
        self._tally[outcome] += 1
        self.metrics.rounds.labels(outcome).inc()
        narration.tell_failed(
            event,
            seconds=self.clock.monotonic() - failure.started,
            trigger=failure.trigger,
            error=error,
            attempted=failure.attempted,
            **fields,
        )
        self._export.calls(self.calls)

    def _fence(self) -> Callable[[], None]:
        lease = self.lease
        if lease is None:
            return lambda: None
        token = lease.token()
        return lambda: lease.fence(token)

    # -- the lease ------------------------------------------------------------------------------

    def _first_acquire(self) -> None:
        """At start, so a missing table or a refused call stops `run` at once (exit 2)."""
        assert self.lease is not None
        try:
            self.lease.acquire()
        except TransientError as exc:
            log.warning("lease.unreachable", error=exc.message)
        self._export.lease(self.lease)
        if not self.lease.held:
            say.info("run.follower", lease=self._lease_text(), holder=self.lease.holder)

    def _heartbeat(self) -> None:
        """Renews (or takes) the lease every third of its TTL, whatever a round is doing."""
        assert self.lease is not None
        lease = self.lease
        unreachable = False
        while not self.clock.wait(self.stop, lease.ttl / 3):
            was_held = lease.held
            try:
                lease.acquire()
                if unreachable:
                    say.info("lease.reachable", lease=self._lease_text())
                unreachable = False
            except EipkeeperError as exc:
                if exc.handling == "stop":
                    self._fatal = exc
                    self.request_stop()
                    return
                if not unreachable:
                    say.warning(
                        "lease.unreachable",
                        error=exc.message,
                        held=lease.held,
                        note="a held lease lapses here after its TTL; no step runs unfenced",
                    )
                unreachable = True
            self._export.lease(lease)
            if lease.held and not was_held:
                self.wake_up("lease")

    def _lease_text(self) -> str:
        return "" if self.lease is None else f"{self.lease.table}/{self.lease.name}"

    def _retarget(self, instance_id: str, public_ip: str) -> None:
        if self.monitor is not None:
            self.monitor.retarget(instance_id, public_ip)

    def _backoff(self) -> float:
        """Exponential back-off with full jitter, capped; never longer than the interval."""
        ceiling = min(self.max_backoff, self.interval, 2.0 ** min(self._failures, 6))
        return random.uniform(0.1, max(0.2, ceiling))

    # -- events ---------------------------------------------------------------------------------

    def _listen(self) -> None:
        """Reads the queue; an unreachable queue is said once per outage, with back-off."""
        assert self.events is not None
        pause = 1.0
        while not self.stop.is_set():
            try:
                changes = self.events.receive(wait=1.0)
            except EipkeeperError as exc:
                if exc.handling == "stop":
                    self._fatal = exc
                    self.request_stop()
                    return
                if pause == 1.0:
                    say.warning("events.unreachable", error=exc.message)
                self.clock.wait(self.stop, pause)
                pause = min(pause * 2, 30.0)
                continue
            if pause > 1.0:
                say.info("events.reachable", queue=self.events.queue_url)
                pause = 1.0
            if changes:
                self.wake_up("event")
