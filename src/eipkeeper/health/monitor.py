"""`HealthMonitor`: the controller's health source, probing in a background thread.

Each watched instance is probed on its own check's `interval` by its own task in one event
loop, so a slow or timing-out probe of one instance never delays another's, and a result is
judged (hysteresis) the moment it arrives. A change of health calls `on_change` at once, so
that `run` can start a round without waiting for its `--interval`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import TracebackType

from eipkeeper.config import Config
from eipkeeper.health.hysteresis import InstanceHealth, State, advance
from eipkeeper.health.probes import ProbeResult
from eipkeeper.health.runner import (
    DEFAULT_LIMIT,
    CheckTarget,
    check_once,
    instance_target,
    probe_target,
)
from eipkeeper.health.tls import TlsContexts
from eipkeeper.logs import get_logger
from eipkeeper.model import Instance

log = get_logger(__name__)

MIN_PAUSE = 0.05
"""Seconds between two probes of one instance at least, even with `interval = "0s"`."""
FIRST_RESULT_MARGIN = 1.0
"""Beyond the slowest check's timeout, how long `health` waits for first results."""


@dataclass(frozen=True)
class HealthChange:
    """An instance's health changed: what `on_change` receives."""

    instance_id: str
    previous: State
    state: State
    at: float
    """When the deciding probe started (the monitor's clock)."""
    first_failure_at: float | None
    """When the failure streak began, for a change to unhealthy; else None."""
    result: ProbeResult

    @property
    def healthy(self) -> bool:
        return self.state == "healthy"


def _verdict(state: InstanceHealth | None) -> bool | None:
    """True healthy, False judged failed, None undecided (never probed, or fewer than
    `fail_after` failures so far)."""
    if state is None or state.state == "unknown":
        return None
    return state.healthy


class HealthMonitor:
    """Probes the instances it is told about, each on its check's interval.

    - `health(instances)` (the `HealthSource` protocol) watches exactly those instances and
      returns their health; an instance never probed yet is probed before it returns, so the
      first round after a start sees real results rather than "not healthy" everywhere. A
      running instance whose service has no check counts as healthy; one that is not running
      never does.
    - `start()`/`stop()` (or `with`) run the probes in a background thread; without it,
      `health` still probes new instances once, and `record` can be fed by hand (tests).
    - `on_change(HealthChange)` is called from the monitor's thread: keep it short (set an
      event) and thread-safe.
    - `switch_grace`: for this many seconds after the address probed for an instance changes
      (an EIP just moved onto it), failed probes do not count, because EC2's data plane may
      still send that address to the previous holder, or nowhere, for seconds to minutes.
    """

    def __init__(
        self,
        *,
        config: Config,
        on_change: Callable[[HealthChange], None] | None = None,
        tls: TlsContexts | None = None,
        clock: Callable[[], float] = time.monotonic,
        switch_grace: float = 0.0,
        limit: int = DEFAULT_LIMIT,
        sleep: Callable[[float], None] = time.sleep,
        on_probe_again: Callable[[str], None] | None = None,
    ) -> None:
        self._sleep = sleep
        self._on_probe_again = on_probe_again or (
            lambda text: log.info("health.probe_again", detail=text)
        )
        self._config = config
        self._on_change = on_change
        self._tls = tls or TlsContexts(relative=config.relative)
        self._clock = clock
        self._switch_grace = switch_grace
        self._limit = limit
        self._lock = threading.Condition()
        self._targets: dict[str, CheckTarget] = {}
        self._states: dict[str, InstanceHealth] = {}
        self._grace_until: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._gate: asyncio.Semaphore | None = None

    # -- what the controller and the commands call ----------------------------------------

    def watch(self, instances: Sequence[Instance]) -> None:
        """Probe exactly these instances from now on: the running ones with a check."""
        wanted: dict[str, CheckTarget] = {}
        for instance in instances:
            target = instance_target(self._config, instance) if instance.running else None
            if target is not None:
                wanted[instance.instance_id] = target
        now = self._clock()
        with self._lock:
            for instance_id, target in wanted.items():
                before = self._targets.get(instance_id)
                if before is not None and before.host != target.host:
                    self._grace_until[instance_id] = now + self._switch_grace
            for gone in set(self._states) - set(wanted):
                del self._states[gone]
                self._grace_until.pop(gone, None)
            self._targets = wanted
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._sync_tasks)

    def retarget(self, instance_id: str, host: str) -> None:
        """INSTANCE_ID now answers on HOST: an EIP was just associated with it, which took its
        dynamic address away. Probe HOST from now on and start the switch grace at once,
        rather than at the next round (the old address no longer answers at all)."""
        with self._lock:
            target = self._targets.get(instance_id)
            if target is None or target.host == host:
                return
            self._targets[instance_id] = replace(target, host=host)
            self._grace_until[instance_id] = self._clock() + self._switch_grace
        log.info("health.retarget", instance_id=instance_id, host=host)

    def health(
        self, instances: Sequence[Instance], *, judged: frozenset[str] = frozenset()
    ) -> Mapping[str, bool | None]:
        self.watch(instances)
        self._first_results(judged)
        with self._lock:
            out: dict[str, bool | None] = {}
            for instance in instances:
                if instance.instance_id in self._targets:
                    state = self._states.get(instance.instance_id)
                    out[instance.instance_id] = _verdict(state)
                else:
                    has_check = instance_target(self._config, instance) is not None
                    out[instance.instance_id] = instance.running and not has_check
            return out

    def status(self, instance_id: str) -> InstanceHealth | None:
        """What the monitor knows of INSTANCE_ID: state, streaks, last result, first failure."""
        with self._lock:
            return self._states.get(instance_id)

    def statuses(self) -> dict[str, InstanceHealth]:
        with self._lock:
            return dict(self._states)

    def record(self, instance_id: str, result: ProbeResult, *, at: float) -> HealthChange | None:
        """Judge RESULT of a probe of INSTANCE_ID that started at AT; call `on_change` when the
        health changed. The background thread calls this; tests call it on a fake clock."""
        with self._lock:
            target = self._targets.get(instance_id)
            if target is None:
                return None  # no longer watched: a late result of a stopped probe
            before = self._states.get(instance_id, InstanceHealth())
            if not result.ok and at < self._grace_until.get(instance_id, float("-inf")):
                after = replace(before, last=result, last_at=at)
            else:
                check = target.check
                after = advance(
                    before, result, at=at, fail_after=check.fail_after, pass_after=check.pass_after
                )
            self._states[instance_id] = after
            self._lock.notify_all()
        if after.state == before.state:
            return None
        change = HealthChange(
            instance_id=instance_id,
            previous=before.state,
            state=after.state,
            at=at,
            first_failure_at=after.first_failure_at,
            result=result,
        )
        log.info(
            "health.changed",
            instance_id=instance_id,
            state=after.state,
            previous=before.state,
            detail=result.detail,
        )
        if self._on_change is not None:
            try:
                self._on_change(change)
            except Exception as exc:  # a broken callback must not stop the probes
                log.error("health.callback_failed", error=repr(exc))
        return change

    # -- the background thread -------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        ready = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._main(ready)), name="health-monitor", daemon=True
        )
        self._thread.start()
        ready.wait()

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join()
        self._thread = None

    def __enter__(self) -> HealthMonitor:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def _main(self, ready: threading.Event) -> None:
        self._gate = asyncio.Semaphore(self._limit)
        self._stopping = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._sync_tasks()
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            self._loop = None
            for task in self._tasks.values():
                task.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            self._tasks.clear()

    def _sync_tasks(self) -> None:
        """One task per watched instance (runs in the loop's thread)."""
        with self._lock:
            wanted = set(self._targets)
        for instance_id in set(self._tasks) - wanted:
            self._tasks.pop(instance_id).cancel()
        for instance_id in wanted - set(self._tasks):
            task = asyncio.get_running_loop().create_task(self._probe_forever(instance_id))
            self._tasks[instance_id] = task

    async def _probe_forever(self, instance_id: str) -> None:
        while True:
            with self._lock:
                target = self._targets.get(instance_id)
            if target is None:
                return
            began, at = time.monotonic(), self._clock()
            assert self._gate is not None  # set by _main before any task starts
            async with self._gate:
                result = await probe_target(target, tls=self._tls)
            with self._lock:
                current = self._targets.get(instance_id)
            if current == target:  # a result for an address no longer probed is stale
                self.record(instance_id, result, at=at)
            spent = time.monotonic() - began
            await asyncio.sleep(max(MIN_PAUSE, target.check.interval - spent))

    def _decide(self, targets: list[CheckTarget], judged: frozenset[str]) -> None:
        """A one-shot command (no background thread): probe every target once, and the JUDGED
        ones (holders, published addresses) until decided: a pass, or `fail_after` failures in
        a row spaced by the check's interval (S6: a holder is never judged on one probe).
        Says so on the progress seam while it probes again. An instance probed once and
        failed stays undecided: no target for an address, and not judged failed."""
        pending = list(targets)
        while pending:
            at = self._clock()
            for key, result in check_once(pending, tls=self._tls, limit=self._limit).items():
                self.record(key, result, at=at)
            with self._lock:
                pending = [
                    t
                    for t in pending
                    if t.key in judged
                    and t.key in self._targets
                    and self._states[t.key].state == "unknown"
                ]
            if not pending:
                return
            pause = max(t.check.interval for t in pending)
            for target in pending:
                state = self._states[target.key]
                self._on_probe_again(
                    f"{target.key}: {state.failures} of {target.check.fail_after} probes "
                    f"failed ({state.last.detail if state.last else '?'}); probing again in "
                    f"{pause:g}s"
                )
            self._sleep(max(0.0, pause - (self._clock() - at)))

    def _first_results(self, judged: frozenset[str] = frozenset()) -> None:
        """Wait for a first result of every watched instance; without the thread (a one-shot
        command), probe every watched instance now: each call is a new look, and a command
        that looks several times (`replace` while its successor boots) must see it change."""
        if self._thread is None:
            with self._lock:
                targets = list(self._targets.values())
            if targets:
                self._decide(targets, judged)
            return
        with self._lock:
            fresh = [t for k, t in self._targets.items() if k not in self._states]
        if not fresh:
            return
        wait = max(t.check.timeout for t in fresh) + FIRST_RESULT_MARGIN
        keys = {t.key for t in fresh}

        def settled() -> bool:
            # A key unwatched meanwhile (another `watch`) has nothing left to wait for.
            return all(k in self._states or k not in self._targets for k in keys)

        with self._lock:
            self._lock.wait_for(settled, timeout=wait)
