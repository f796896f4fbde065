"""What `run`'s rounds, lease and fleet set on its Prometheus metrics (controller/metrics.py).

Kept out of the loop (controller/loop.py), which decides when rounds run and what their
outcome leads to; this module only counts. The state here is what a count needs from one
round to the next: the listings already exported, the failovers waiting for the new holder's
first good answer, and the lease losses already counted.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from eipkeeper.cloud.aws import CallCounter
from eipkeeper.config import Config
from eipkeeper.controller.executor import ApplyReport
from eipkeeper.controller.lease import Lease
from eipkeeper.controller.listings import report_listings
from eipkeeper.controller.metrics import Metrics
from eipkeeper.controller.observation import Observation
from eipkeeper.fleet import FleetView, service_of
from eipkeeper.health.monitor import HealthMonitor
from eipkeeper.logs import get_logger

log = get_logger(__name__)
say = get_logger("eipkeeper.run")


@dataclass
class RunMetrics:
    metrics: Metrics
    _listings: frozenset[tuple[str, str, str]] = frozenset()
    """The listings `run` has logged (address, zone, code): each is said once."""
    _awaiting_answer: dict[str, tuple[float, float]] = field(default_factory=dict)
    """New holder -> (its predecessor's first failed probe, the AssociateAddress call)."""
    _lease_losses_seen: int = 0

    def round_ok(self, seconds: float, report: ApplyReport) -> None:
        self.metrics.rounds.labels("ok").inc()
        self.metrics.round_seconds.observe(seconds)
        self.metrics.last_success.set(time.time())
        for kind, count in report.counts.items():
            self.metrics.changes.labels(kind).inc(count)

    def calls(self, calls: CallCounter | None) -> None:
        if calls is None:
            return
        for operation, count in calls.snapshot().items():
            self.metrics.calls.labels(operation).set(count)

    def lease(self, lease: Lease) -> None:
        self.metrics.leader.set(1 if lease.held else 0)
        losses = lease.losses
        if losses > self._lease_losses_seen:
            self.metrics.lease_lost.inc(losses - self._lease_losses_seen)
            self._lease_losses_seen = losses

    def fleet(self, config: Config, seen: Observation | None) -> None:
        if seen is None:
            return
        self._listings = report_listings(self.metrics.listed, seen.reputation, self._listings)
        view = FleetView(addresses=seen.addresses, instances=seen.instances)
        statuses = Counter(view.address_status(a) for a in seen.addresses)
        for status in ("in-use", "idle", "on-stopped-instance"):
            self.metrics.addresses.labels(status).set(statuses.get(status, 0))
        for instance in seen.instances:
            service = service_of(config, instance)
            healthy = 1 if seen.health.get(instance.instance_id) else 0
            self.metrics.health.labels(instance.instance_id, service.name if service else "").set(
                healthy
            )

    def failovers(
        self,
        report: ApplyReport,
        failing_since: dict[str, float],
        monitor: HealthMonitor | None,
    ) -> None:
        """Seconds from the first failed probe of the old holder to the AssociateAddress call,
        and (once its probes say so) to the first good answer from the new holder."""
        for move, called_at in report.moves:
            self.metrics.failovers.inc()
            failed_at = failing_since.get(move.from_instance)
            if failed_at is None:
                continue
            self.metrics.failover_seconds.labels("call").observe(called_at - failed_at)
            log.info(
                "failover.call", public_ip=move.public_ip, seconds=round(called_at - failed_at, 3)
            )
            self._awaiting_answer[move.instance_id] = (failed_at, called_at)
        if monitor is not None:
            self._answered(monitor)

    def _answered(self, monitor: HealthMonitor) -> None:
        for instance_id, (failed_at, called_at) in list(self._awaiting_answer.items()):
            status = monitor.status(instance_id)
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
                say.info("failover.answered", instance_id=instance_id, seconds=f"{seconds:.1f}")
                del self._awaiting_answer[instance_id]
