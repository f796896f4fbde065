"""One round of the controller: the engine's reconcile, as `plan`, `apply` and `run` use it.

`Round` is a thin face on `eipkeeper.engine.Engine` with the intent fixed to `Reconcile`, so
the controller loop, `plan` and `apply` cannot disagree with each other or with the address
commands: all of them go through the engine's one safety check and one executor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import Config
from eipkeeper.controller.executor import Report
from eipkeeper.controller.intents import Reconcile
from eipkeeper.controller.observation import (
    HealthSource,
    Observation,
    ReputationSource,
    RunningIsHealthy,
)
from eipkeeper.controller.plan import Plan
from eipkeeper.dns.ownership import Registry
from eipkeeper.engine import Engine


@dataclass
class Round:
    config: Config
    ec2: Ec2
    registry: Registry | None
    health: HealthSource = RunningIsHealthy()  # noqa: RUF009 - stateless, shared on purpose
    clock: Callable[[], float] = time.time
    last_seen: Observation | None = None
    """The observation of the latest round (metrics read it)."""
    reputation: ReputationSource | None = None
    """Blocklist verdicts kept between rounds, looked up again after each `recheck`."""

    def engine(
        self,
        *,
        on_step: Callable[[str], None] = lambda text: None,
        stop: threading.Event | None = None,
        on_associated: Callable[[str, str], None] = lambda instance_id, public_ip: None,
        fence: Callable[[], None] = lambda: None,
    ) -> Engine:
        return Engine(
            config=self.config,
            ec2=self.ec2,
            registry=self.registry,
            health=self.health,
            clock=self.clock,
            on_step=on_step,
            stop=stop,
            on_associated=on_associated,
            fence=fence,
            reputation=self.reputation,
        )

    def observe(self) -> Observation:
        return self.engine().observe()

    def plan(self) -> tuple[Observation, Plan]:
        prepared = self.engine().prepare(Reconcile(), check=False)
        self.last_seen = prepared.seen
        return prepared.seen, prepared.plan

    def apply(
        self,
        *,
        force: bool = False,
        checksum: str = "",
        on_step: Callable[[str], None] = lambda text: None,
        stop: threading.Event | None = None,
        on_associated: Callable[[str, str], None] = lambda instance_id, public_ip: None,
        fence: Callable[[], None] = lambda: None,
    ) -> tuple[Plan, Report]:
        engine = self.engine(on_step=on_step, stop=stop, on_associated=on_associated, fence=fence)
        try:
            outcome = engine.run(Reconcile(), force=force, checksum=checksum)
        finally:
            self.last_seen = engine.last_seen
        return outcome.prepared.plan, outcome.report
