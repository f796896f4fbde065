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
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType

from eipkeeper.controller.events import EventQueue
from eipkeeper.controller.executor import Report
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
from eipkeeper.fleet import FleetView, service_of
from eipkeeper.health.monitor import HealthChange, HealthMonitor
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
    monitor: HealthMonitor | None = None
    _failures: int = 0
    _failing_since: dict[str, float] = field(default_factory=dict)
    _awaiting_answer: dict[str, tuple[float, float]] = field(default_factory=dict)

    def on_health_change(self, change: HealthChange) -> None:
        """Called from the monitor's thread: a change of health triggers a round at once."""
        if change.healthy:
            self._failing_since.pop(change.instance_id, None)
        elif change.first_failure_at is not None:
            self._failing_since[change.instance_id] = change.first_failure_at
        self.wake.set()

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
        if self.monitor is not None:
            self.monitor.start()
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
            if self.monitor is not None:
                self.monitor.stop()
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
            plan, report = self.round.apply(
                on_step=lambda text: None, stop=self.stop, on_associated=self._retarget
            )
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
        self._failover_metrics(report)
        self._fleet_metrics()
        for operation, count in self.round.ec2.session.counter.snapshot().items():
            self.metrics.calls.labels(operation).set(count)
        if not plan.empty:
            log.info("round.applied", summary=plan.summary)
        return "ok"

    def _fleet_metrics(self) -> None:
        seen = self.round.last_seen
        if seen is None:
            return
        view = FleetView(addresses=seen.addresses, instances=seen.instances)
        statuses = Counter(view.address_status(a) for a in seen.addresses)
        for status in ("in-use", "idle", "on-stopped-instance"):
            self.metrics.addresses.labels(status).set(statuses.get(status, 0))
        for instance in seen.instances:
            service = service_of(self.round.config, instance)
            healthy = 1 if seen.health.get(instance.instance_id) else 0
            self.metrics.health.labels(instance.instance_id, service.name if service else "").set(
                healthy
            )

    def _retarget(self, instance_id: str, public_ip: str) -> None:
        if self.monitor is not None:
            self.monitor.retarget(instance_id, public_ip)

    def _failover_metrics(self, report: Report) -> None:
        """Seconds from the first failed probe of the old holder to the AssociateAddress call,
        and (once its probes say so) to the first good answer from the new holder."""
        for move, called_at in report.moves:
            self.metrics.failovers.inc()
            failed_at = self._failing_since.get(move.from_instance)
            if failed_at is None:
                continue
            self.metrics.failover_seconds.labels("call").observe(called_at - failed_at)
            log.info(
                "failover.call", public_ip=move.public_ip, seconds=round(called_at - failed_at, 3)
            )
            self._awaiting_answer[move.instance_id] = (failed_at, called_at)
        if self.monitor is None:
            return
        for instance_id, (failed_at, called_at) in list(self._awaiting_answer.items()):
            status = self.monitor.status(instance_id)
            last = status.last if status else None
            if (
                status
                and last
                and last.ok
                and status.last_at is not None
                and status.last_at > called_at
            ):
                seconds = status.last_at - failed_at
                self.metrics.failover_seconds.labels("answer").observe(seconds)
                log.info("failover.answered", instance_id=instance_id, seconds=round(seconds, 3))
                del self._awaiting_answer[instance_id]

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
