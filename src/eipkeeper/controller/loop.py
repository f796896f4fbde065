"""`eipkeeper run`: a round every interval and within a second of an EC2 state-change event.

Errors are sorted by what to do next (as in kopf): transient ones (throttling, timeouts, a
failed compare-and-swap) back off with jitter and the next round tries again; a safety
refusal is logged and nothing is applied; configuration and permission errors stop the
controller with their message. SIGTERM and SIGINT stop it between steps.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from types import FrameType

from eipkeeper.controller.events import EventQueue
from eipkeeper.controller.lease import Lease
from eipkeeper.controller.metrics import Metrics
from eipkeeper.controller.round import Round
from eipkeeper.errors import (
    ConfigError,
    ConflictError,
    EipkeeperError,
    PermissionDeniedError,
    SafetyRefusal,
    TransientError,
)
from eipkeeper.logs import get_logger

log = get_logger(__name__)


def replica_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Controller:
    round: Round
    interval: float
    metrics: Metrics = field(default_factory=Metrics)
    events: EventQueue | None = None
    lease: Lease | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    wake: threading.Event = field(default_factory=threading.Event)
    max_backoff: float = 60.0
    _failures: int = 0

    def request_stop(self, signum: int = 0, frame: FrameType | None = None) -> None:
        log.info("controller.stopping", signal=signum)
        self.stop.set()
        self.wake.set()

    def run(self, *, once: bool = False) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.request_stop)
            signal.signal(signal.SIGINT, self.request_stop)
        if self.events is not None and not once:
            threading.Thread(target=self._listen, name="events", daemon=True).start()
        try:
            while not self.stop.is_set():
                delay = self.interval
                if self._may_act():
                    outcome = self.one_round(raise_errors=once)
                    if outcome == "retry":
                        delay = self._backoff()
                if once:
                    return
                self.wake.wait(timeout=delay)
                self.wake.clear()
        finally:
            if self.lease is not None:
                self.lease.release()
                self.metrics.leader.set(0)

    def _may_act(self) -> bool:
        if self.lease is None:
            return True
        try:
            held = self.lease.acquire()
        except TransientError as exc:
            log.warning("lease.unreachable", error=exc.message)
            held = False
        self.metrics.leader.set(1 if held else 0)
        return held

    def one_round(self, *, raise_errors: bool = False) -> str:
        """One round; returns `ok`, `retry` or `refused`. Stops the loop on permanent errors."""
        started = time.monotonic()
        try:
            plan, report = self.round.apply(on_step=lambda text: None, stop=self.stop)
        except SafetyRefusal as refusal:
            log.error("round.refused", rule=refusal.rule, reason=refusal.message)
            self.metrics.rounds.labels("refused").inc()
            if raise_errors:
                raise
            return "refused"
        except (TransientError, ConflictError) as exc:
            self._failures += 1
            log.warning("round.retry", error=exc.message, failures=self._failures)
            self.metrics.rounds.labels("retry").inc()
            if raise_errors:
                raise
            return "retry"
        except (ConfigError, PermissionDeniedError):
            self.metrics.rounds.labels("error").inc()
            raise
        except EipkeeperError as exc:
            self._failures += 1
            log.error("round.failed", error=exc.message)
            self.metrics.rounds.labels("error").inc()
            if raise_errors:
                raise
            return "retry"
        self._failures = 0
        self.metrics.rounds.labels("ok").inc()
        self.metrics.round_seconds.observe(time.monotonic() - started)
        self.metrics.last_success.set(time.time())
        for kind, count in report.counts.items():
            self.metrics.changes.labels(kind).inc(count)
        self.metrics.failovers.inc(report.counts.get("move", 0))
        for operation, count in self.round.ec2.session.counter.snapshot().items():
            self.metrics.calls.labels(operation).set(count)
        if not plan.empty:
            log.info("round.applied", summary=plan.summary)
        return "ok"

    def _backoff(self) -> float:
        """Exponential back-off with full jitter, capped; never longer than the interval."""
        ceiling = min(self.max_backoff, self.interval, 2.0 ** min(self._failures, 6))
        return random.uniform(0.1, max(0.2, ceiling))

    def _listen(self) -> None:
        assert self.events is not None
        while not self.stop.is_set():
            try:
                changes = self.events.receive(wait=1.0)
            except EipkeeperError as exc:
                log.warning("events.unreachable", error=exc.message)
                self.stop.wait(1.0)
                continue
            if changes:
                self.wake.set()
