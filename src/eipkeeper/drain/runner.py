"""A drain driven from Python (the `drain` command's report, tests, scripts): the engine's one
observation, the pure drain planner (controller/drain_planner.py) and the one executor; and
what a run did, read back from the plan and the executor's report.

This module sits above the controller (it drives the engine); the rest of `drain` (phases,
routes, the queue check) is below it, and the controller uses those."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.drain_planner import DrainPreview, drain_actions, drain_preview
from eipkeeper.controller.engine import Engine
from eipkeeper.controller.executor import ApplyReport
from eipkeeper.controller.hooks import Hooks, Ticker, no_bar
from eipkeeper.controller.intents import DrainInstance
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Disassociate, Move, Plan
from eipkeeper.controller.reading import health_source
from eipkeeper.dns.ownership import Registry
from eipkeeper.health.tls import TlsContexts
from eipkeeper.model import Instance, Then

Preview = DrainPreview


@dataclass(frozen=True)
class DrainOutcome:
    """What one run of a drain did (a resumed run reports its own part)."""

    preview: Preview
    phases: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    confirmed_at: float | None = None
    ttl: int = 0
    margin: float = 0.0
    waited: float | None = None
    """Seconds between confirmation and the end of the wait."""
    moved_to: str = ""
    gap: float | None = None
    """The moved address's switch gap, when it was watched."""
    disassociated: str = ""
    action: str = ""


def drain_outcome(
    preview: Preview, plan: Plan, report: ApplyReport, *, margin: float, then: Then
) -> DrainOutcome:
    """What the executor's REPORT says the drain's PLAN did."""
    drained = report.drained
    move = next((a for a in plan.actions if isinstance(a, Move)), None)
    switch = report.switches.get(move.allocation_id) if move is not None else None
    freed = next((a for a in plan.actions if isinstance(a, Disassociate)), None)
    acted = "done" in drained.phases
    action = drained.action or ("none" if acted and then == "nothing" else "")
    freed_ip = freed.public_ip if freed is not None and report.counts.get("disassociate") else ""
    return DrainOutcome(
        preview,
        phases=tuple(drained.phases),
        changed=tuple(drained.withdrawn),
        confirmed_at=drained.confirmed_at,
        ttl=drained.ttl,
        margin=margin,
        waited=drained.waited,
        moved_to=move.instance_id if move is not None and "moved" in drained.phases else "",
        gap=switch.timeline.gap if switch is not None else None,
        disassociated=freed_ip,
        action=action,
    )


@dataclass
class Drainer:
    """Runs drains through the engine; every wait goes through `clock` and `sleep`, so tests
    use a fake clock."""

    config: Config
    ec2: Ec2
    registry: Registry | None
    tls: TlsContexts
    """Kept for callers that give it: the engine's checks make their own from the config."""
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 300.0
    """Longest wait for DNS to confirm, or a moved EIP to answer."""
    on_step: Callable[[str], None] = lambda text: None
    waiting: Callable[[str, float], AbstractContextManager[Ticker]] = no_bar
    force_queue: bool = False
    """`drain --force-queue`: stop or terminate even while mail is queued (drain_ready)."""
    _seen: dict[str, Observation] = field(default_factory=dict, repr=False)

    def _engine(self) -> Engine:
        health = health_source(self.config)
        return Engine(self.config, self.ec2, self.registry, health=health, clock=self.clock)

    def prepare(self, instance: Instance, service: ServiceConfig, *, then: Then) -> Preview:
        """Read the fleet and the zone once and decide; no change is made here."""
        intent = DrainInstance(instance.instance_id, then, self.force_queue)
        seen = self._engine().observe(intent)
        self._seen[instance.instance_id] = seen
        return drain_preview(self.config, seen, intent)

    def execute(self, preview: Preview, *, then: Then) -> DrainOutcome:
        """Run the steps PREVIEW leaves, checked (S1 to S7) and executed by the engine."""
        instance_id = preview.instance.instance_id
        intent = DrainInstance(instance_id, then, self.force_queue)
        seen = self._seen[instance_id]
        actions = drain_actions(self.config, preview, then=then, force_queue=self.force_queue)
        managed = seen.zone.managed_count(self.config.owner) if seen.zone is not None else 0
        engine = self._engine()
        prepared = engine.checked(intent, seen, Plan(actions=actions, managed_records=managed))
        hooks = Hooks(
            on_step=self.on_step,
            waiting=self.waiting,
            timeout=self.timeout,
            sleep=self.sleep,
        )
        report = engine.execute(prepared, hooks).report
        return drain_outcome(
            preview, prepared.plan, report, margin=self.config.safety.drain_margin, then=then
        )
