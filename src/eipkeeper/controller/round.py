"""One round of the controller: observe, plan, check, and (when asked) apply.

`plan`, `apply` and every round of `run` go through `Round`, so they cannot disagree.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from eipkeeper.cloud.cloudwatch import CloudWatch
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import Config
from eipkeeper.controller import planner, safety
from eipkeeper.controller.executor import Executor, Report
from eipkeeper.controller.observation import HealthSource, Observation, RunningIsHealthy, observe
from eipkeeper.controller.plan import Plan
from eipkeeper.dns.ownership import Registry
from eipkeeper.errors import OperationError


@dataclass
class Round:
    config: Config
    ec2: Ec2
    registry: Registry | None
    health: HealthSource = RunningIsHealthy()  # noqa: RUF009 - stateless, shared on purpose
    clock: Callable[[], float] = time.time

    def observe(self) -> Observation:
        return observe(
            config=self.config,
            ec2=self.ec2,
            registry=self.registry,
            health=self.health,
            now=self.clock(),
            cloudwatch=CloudWatch(self.ec2.session) if self._bursts else None,
        )

    @property
    def _bursts(self) -> bool:
        return any(s.burst and s.burst.metric for s in self.config.services)

    last_seen: Observation | None = None
    """The observation of the latest round (metrics read it)."""

    def plan(self) -> tuple[Observation, Plan]:
        seen = self.observe()
        self.last_seen = seen
        return seen, planner.plan(self.config, seen)

    def apply(
        self,
        *,
        force: bool = False,
        checksum: str = "",
        on_step: Callable[[str], None] = lambda text: None,
        stop: threading.Event | None = None,
        on_associated: Callable[[str, str], None] = lambda instance_id, public_ip: None,
    ) -> tuple[Plan, Report]:
        seen, plan = self.plan()
        if checksum and checksum != plan.checksum:
            raise OperationError(
                f"the plan changed since it was reviewed (checksum {checksum}, now "
                f"{plan.checksum}); run `eipkeeper plan` again"
            )
        safety.check(self.config, seen, plan, force=force)
        executor = Executor(
            config=self.config,
            ec2=self.ec2,
            registry=self.registry,
            clock=self.clock,
            on_step=on_step,
            stop=stop,
            on_associated=on_associated,
        )
        return plan, executor.apply(plan, seen)
