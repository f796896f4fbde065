"""The executor's hand for a drain's small steps (controller/plan.py's `DrainStep`), each
fenced on its own: mark the phase reached on the instance's tag (S8), await the removal
served, await the TTL and the margin, await the moved address answering, await the MTA's
queue, stop or terminate. What one step hands on to the next within a run (the withdrawal's
apply result, the confirmation time) is kept in `DrainProgress`, which the report carries."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import Config, DrainReadyConfig
from eipkeeper.controller.hooks import Hooks
from eipkeeper.controller.plan import DrainStep
from eipkeeper.dns.ownership import Registry
from eipkeeper.dns.provider import ApplyResult
from eipkeeper.dns.records import Change
from eipkeeper.drain.phases import CONFIRM_ROUND, Phase, wait_left
from eipkeeper.drain.queue import queue_state
from eipkeeper.errors import OperationError
from eipkeeper.health.switch import SwitchTimeline
from eipkeeper.logs import get_logger
from eipkeeper.model import TAG_DRAIN, TAG_LEAVING_DNS, TAG_LEFT_DNS_AT
from eipkeeper.tagtime import utc_stamp

log = get_logger(__name__)


@dataclass
class DrainProgress:
    """What a drain's steps did in this run, for its report."""

    phases: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    """The DNS changes applied, in words."""
    result: ApplyResult | None = None
    leaving: list[str] = field(default_factory=list)
    """EIPs marked leaving DNS by the withdrawal, stamped left once it is served (S3)."""
    confirmed_at: float | None = None
    ttl: int = 0
    waited: float | None = None
    """Seconds between confirmation and the end of the wait."""
    action: str = ""
    """stopped, terminated, or none."""


@dataclass
class DrainSteps:
    config: Config
    ec2: Ec2
    registry: Registry | None
    clock: Callable[[], float]
    hooks: Hooks
    progress: DrainProgress
    steady: Callable[[str], SwitchTimeline | None] = lambda allocation_id: None
    """The timeline of the watched move of an allocation id in this run."""

    def run(self, step: DrainStep) -> None:
        self.hooks.fence()
        if step.step == "mark":
            self._mark(step)
        elif step.step == "await-served":
            self._await_served(step)
        elif step.step == "await-ttl":
            self._await_ttl(step)
        elif step.step == "await-steady":
            self._await_steady(step)
        elif step.step == "await-queue":
            self._await_queue(step)
        else:
            self._end(step)

    def withdrawn(self, result: ApplyResult, leaving: list[str], described: list[str]) -> None:
        """The withdrawal's units were applied: the next mark (dns-out) records what to
        confirm, so a rerun after a crash confirms the same change."""
        self.progress.result = result if result.batches else None
        self.progress.leaving = leaving
        self.progress.withdrawn += described
        for text in described:
            self.hooks.on_step(f"applied: {text}")

    # -- the phase on the tag --------------------------------------------------------------

    def _mark(self, step: DrainStep) -> None:
        phase = self._phase(step)
        try:
            self.ec2.tag(step.instance_id, {TAG_DRAIN: phase.text()})
        except OperationError as exc:
            if step.reached != "done":
                raise
            # EC2 may refuse tags on a terminated instance; its state says it all then.
            log.warning("drain.untagged", instance_id=step.instance_id, error=exc.message)
        log.info("drain.phase", instance_id=step.instance_id, phase=phase.text())
        self.progress.phases.append(phase.name)

    def _phase(self, step: DrainStep) -> Phase:
        done = self.progress
        if step.reached == "dns-out":
            result = done.result
            serial = result.serial if result is not None else step.serial
            changes = result.change_ids if result is not None else ()
            return Phase("dns-out", ttl=step.ttl, serial=serial, changes=changes)
        if step.reached == "confirmed":
            assert done.confirmed_at is not None
            return Phase("confirmed", ttl=step.ttl, at=done.confirmed_at)
        if step.reached == "moved":
            return Phase("moved", to=step.to)
        if step.reached == "done":
            return Phase("done", then=step.then)
        return Phase(step.reached)  # type: ignore[arg-type]

    # -- the waits -------------------------------------------------------------------------

    def _await_served(self, step: DrainStep) -> None:
        assert self.registry is not None
        done = self.progress
        # The withdrawal this run applied: its serials before and its values make the
        # confirmation check content too. A rerun from the tag has the tag's serial, which
        # an EPOCH primary may have sent backwards; the plan's values taken out are checked
        # as the removals of a delete, so a stale server is never confirmed by serial (S2).
        result = done.result or ApplyResult(
            self.registry.provider.kind,
            tuple(Change.delete(record) for record in step.absent),
            0,
            serial=step.serial,
            change_ids=step.change_ids,
        )
        timeout = self.hooks.timeout
        each = min(CONFIRM_ROUND, timeout)
        lagging: tuple[str, ...] = ()
        for _ in range(max(1, math.ceil(timeout / each))):
            propagation = self.registry.confirm(result, timeout=each)
            lagging = propagation.lagging
            if propagation.problem:
                raise OperationError(
                    f"{propagation.problem}; {step.label} is left as it is (drain phase dns-out)"
                )
            if not lagging:
                break
            for server in propagation.servers:
                if server.confirmed_at is None:
                    self.hooks.on_step(f"not yet served by {server.server}: {server.error}")
        if lagging:
            raise OperationError(
                f"the removal is not served by {', '.join(lagging)} after {timeout:g}s; "
                f"{step.label} is left as it is (drain phase dns-out): run drain again to go on"
            )
        # Our clock after the answers, rounded up: never before the real confirmation.
        at = float(math.ceil(self.clock()))
        self.hooks.on_step(f"every authoritative server serves the removal ({utc_stamp(at)}Z)")
        for allocation_id in done.leaving:
            self.ec2.tag(allocation_id, {TAG_LEFT_DNS_AT: utc_stamp(at)})
            self.ec2.untag(allocation_id, [TAG_LEAVING_DNS])
        done.confirmed_at = at

    def _await_ttl(self, step: DrainStep) -> None:
        done = self.progress
        at = step.confirmed_at if step.confirmed_at is not None else done.confirmed_at
        assert at is not None
        phase = Phase("confirmed", ttl=step.ttl, at=at)
        total = step.ttl + step.margin
        described = f"waiting out the TTL ({step.ttl}s + {step.margin:g}s margin)"
        self.hooks.on_step(described)
        with self.hooks.waiting(described, total) as bar:
            while (left := wait_left(phase, margin=step.margin, now=self.clock())) > 0:
                bar.tick(total - left)
                self.hooks.sleep(min(1.0, left))
            bar.tick(total)
        done.waited, done.ttl, done.confirmed_at = self.clock() - at, step.ttl, at

    def _await_steady(self, step: DrainStep) -> None:
        timeline = self.steady(step.allocation_id)
        if timeline is not None and not timeline.steady:
            raise OperationError(
                f"{step.label} in EC2 but did not answer steadily from it within "
                f"{self.hooks.timeout:g}s; run drain again to go on"
            )

    def _await_queue(self, step: DrainStep) -> None:
        """Until the MTA's queue is empty (`drain_ready`), read afresh each time: the
        instance's address changes when its EIP leaves. Past the timeout, a refusal unless
        --force-queue."""
        ready = self.config.service(step.service).drain_ready
        assert ready is not None
        described = f"waiting for the mail queue on {step.label} to empty"
        self.hooks.on_step(described)
        started = self.clock()
        with self.hooks.waiting(described, ready.timeout) as bar:
            while not self._queue_empty(step, ready, started, bar.tick):
                elapsed = self.clock() - started
                self.hooks.sleep(min(ready.interval, max(0.0, ready.timeout - elapsed)))

    def _queue_empty(
        self,
        step: DrainStep,
        ready: DrainReadyConfig,
        started: float,
        tick: Callable[[float], None],
    ) -> bool:
        current = self.ec2.instance(step.instance_id)
        address = current.public_ip or current.private_ip
        state = queue_state(ready, instance_id=step.instance_id, address=address)
        elapsed = self.clock() - started
        tick(elapsed)
        if state.empty:
            self.hooks.on_step(f"the mail queue on {step.label} is empty ({state.detail})")
            return True
        if elapsed < ready.timeout:
            return False
        if step.force:
            self.hooks.on_step(f"--force-queue: going on with mail queued ({state.detail})")
            return True
        raise OperationError(
            f"mail is still queued on {step.label} after {ready.timeout:g}s ({state.detail}); "
            f"not {'terminating' if step.then == 'terminate' else 'stopping'} it. Run drain "
            "again to go on waiting, or pass --force-queue to lose what is queued"
        )

    # -- the end ---------------------------------------------------------------------------

    def _end(self, step: DrainStep) -> None:
        """TerminateInstances or StopInstances: both idempotent."""
        if step.step == "terminate":
            self.ec2.terminate(step.instance_id)
            self.progress.action = "terminated"
        else:
            self.ec2.stop(step.instance_id)
            self.progress.action = "stopped"
        self.hooks.on_step(f"{self.progress.action} {step.label or step.instance_id}")
