"""Doing the drain: each step after the previous phase is on the tag (S8)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace

from eipkeeper.cloud.ec2 import Ec2, tag_filters
from eipkeeper.config import Config, DrainReadyConfig, ServiceConfig
from eipkeeper.controller.hooks import Ticker, no_bar
from eipkeeper.dns.ownership import OwnedZone, Registry
from eipkeeper.dns.provider import ApplyResult
from eipkeeper.dns.references import references
from eipkeeper.drain.phases import (
    CONFIRM_ROUND,
    CONFLICT_RETRIES,
    Phase,
    Route,
    Step,
    Then,
    parse_phase,
    steps_after,
    wait_left,
)
from eipkeeper.drain.queue import queue_state
from eipkeeper.drain.routes import (
    Withdrawal,
    choose_route,
    withdraw_address,
    withdraw_from_mx,
)
from eipkeeper.drain.standby import MovePreview, MoveReport, check_target, preview_move
from eipkeeper.errors import ConflictError, OperationError, SafetyRefusal
from eipkeeper.fleet import standby_candidates
from eipkeeper.health.runner import check_once, instance_target
from eipkeeper.health.tls import TlsContexts
from eipkeeper.logs import get_logger
from eipkeeper.model import TAG_DRAIN, Address, Instance
from eipkeeper.tagtime import utc_stamp

log = get_logger(__name__)

# -- doing it ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preview:
    """What a drain will do, decided before anything is changed (refusals come from here)."""

    instance: Instance
    service: ServiceConfig
    phase: Phase | None
    route: Route
    steps: tuple[Step, ...]
    eip: Address | None = None
    """The service's pool EIP on the instance, ours."""
    withdrawal: Withdrawal | None = None
    move: MovePreview | None = None
    serial: int | None = None
    """The zone serial as read: what to confirm when there was nothing left to change."""

    @property
    def done(self) -> bool:
        """Drained before, and nothing is asked beyond what was done then."""
        return self.phase is not None and self.phase.name == "done" and not self.steps


@dataclass(frozen=True)
class Outcome:
    """What one run of a drain did (a resumed run reports its own part)."""

    preview: Preview
    phases: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    confirmed_at: float | None = None
    ttl: int = 0
    margin: float = 0.0
    waited: float | None = None
    """Seconds between confirmation and the end of the wait."""
    move: MoveReport | None = None
    disassociated: str = ""
    action: str = ""


@dataclass
class Drainer:
    """Runs drains; every wait goes through `clock` and `sleep`, so tests use a fake clock."""

    config: Config
    ec2: Ec2
    registry: Registry | None
    tls: TlsContexts
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    confirm_timeout: float = 300.0
    move_timeout: float = 300.0
    on_step: Callable[[str], None] = lambda text: None
    waiting: Callable[[str, float], AbstractContextManager[Ticker]] = no_bar
    force_queue: bool = False
    """`drain --force-queue`: stop or terminate even while mail is queued (drain_ready)."""
    move_address: Callable[[MovePreview], MoveReport] | None = None
    """The standby move: the engine's (planned, checked and watched as `move` is)."""
    _withdrawn: ApplyResult | None = field(default=None, init=False, repr=False)
    """The withdrawal this process applied: its serials before and its values make the
    confirmation check content too; a rerun from the tag has the serial alone."""

    def prepare(self, instance: Instance, service: ServiceConfig, *, then: Then) -> Preview:
        """Read the fleet and the zone and decide; no change is made here."""
        phase = parse_phase(instance.tags.get(TAG_DRAIN, ""))
        addresses = self.ec2.addresses()
        eip = next((a for a in addresses if self._pool_eip(a, instance, service)), None)
        zone = self.registry.read() if self.registry is not None else None
        base = Preview(instance, service, phase, "direct", (), eip=eip)
        ip = instance.public_ip
        seen = bool(zone and ip and references(zone.zone, ip))
        if phase is not None and phase.name == "done":
            if then in ("nothing", phase.then):
                return base
            if not seen:
                # Drained earlier and out of DNS since (`run` never puts it back): only act.
                return replace(base, steps=("act",))
            phase = None  # in DNS again since (by hand): drain it from the start
            base = replace(base, phase=None)
        fresh = phase is None or phase.name == "started"
        move = None
        if fresh and eip is not None:
            move = self._standby(instance, service, eip, addresses, zone)
        route = choose_route(
            service=service, instance=instance, eip=eip, standby=move is not None, seen=seen
        )
        steps = steps_after(phase, route)
        if zone is None:
            if "withdraw" in steps or "confirm" in steps:
                raise OperationError(f"draining {instance.label} needs [dns] in the config")
            return replace(base, route=route, steps=steps, move=move)
        withdrawal = None
        if "withdraw" in steps and eip is not None:
            withdrawal = withdraw_from_mx(
                zone, config=self.config, service=service, hostname=eip.hostname
            )
        elif "withdraw" in steps:
            others = self._healthy_others(instance, service)
            withdrawal = withdraw_address(
                zone, config=self.config, service=service, ip=ip, others=others
            )
        return replace(
            base,
            route=route,
            steps=steps,
            withdrawal=withdrawal,
            move=move,
            serial=zone.zone.serial,
        )

    def _pool_eip(self, address: Address, instance: Instance, service: ServiceConfig) -> bool:
        """ADDRESS is an EIP of SERVICE's pool, ours, on INSTANCE."""
        return (
            address.instance_id == instance.instance_id
            and address.service == service.name
            and address.owner == self.config.owner
        )

    def _members(self, service: ServiceConfig) -> list[Instance]:
        return self.ec2.instances(filters=tag_filters(service.select.tags), states=("running",))

    def _healthy_others(self, instance: Instance, service: ServiceConfig) -> list[str]:
        """The public IPs of the service's other instances that pass their check now: what a
        hostname gets rather than go dark when the drained instance is its last value."""
        others = [
            i
            for i in self._members(service)
            if i.instance_id != instance.instance_id and TAG_DRAIN not in i.tags and i.public_ip
        ]
        targets = {i.instance_id: instance_target(self.config, i) for i in others}
        results = check_once([t for t in targets.values() if t], tls=self.tls)
        return sorted(
            i.public_ip
            for i in others
            if targets[i.instance_id] is None or results[i.instance_id].ok
        )

    def _standby(
        self,
        instance: Instance,
        service: ServiceConfig,
        eip: Address,
        addresses: list[Address],
        zone: OwnedZone | None,
    ) -> MovePreview | None:
        members = self._members(service)
        for candidate in standby_candidates(
            members,
            addresses,
            burst=eip.hostname in service.burst_hostnames,
            named=lambda ip: zone is not None and bool(references(zone.zone, ip)),
            excluding=instance.instance_id,
        ):
            preview = preview_move(config=self.config, address=eip, instance=candidate)
            try:
                check_target(preview, tls=self.tls)  # S6
            except SafetyRefusal as refusal:
                self.on_step(f"{candidate.label} is no standby: {refusal.message}")
                continue
            return preview
        return None

    # -- the steps ---------------------------------------------------------------------------

    def _wait_for_queue(self, instance: Instance, ready: DrainReadyConfig, *, then: Then) -> None:
        """Until the MTA's queue is empty (`drain_ready`), read afresh each time: the
        instance's address changes when its EIP leaves. Past the timeout, a refusal unless
        --force-queue."""
        described = f"waiting for the mail queue on {instance.label} to empty"
        self.on_step(described)
        started = self.clock()
        with self.waiting(described, ready.timeout) as bar:
            while True:
                current = self.ec2.instance(instance.instance_id)
                address = current.public_ip or current.private_ip
                state = queue_state(ready, instance_id=instance.instance_id, address=address)
                elapsed = self.clock() - started
                bar.tick(elapsed)
                if state.empty:
                    self.on_step(f"the mail queue on {instance.label} is empty ({state.detail})")
                    return
                if elapsed >= ready.timeout:
                    if self.force_queue:
                        self.on_step(f"--force-queue: going on with mail queued ({state.detail})")
                        return
                    raise _queue_refusal(instance, state.detail, ready.timeout, then)
                self.sleep(min(ready.interval, max(0.0, ready.timeout - elapsed)))

    def execute(self, preview: Preview, *, then: Then) -> Outcome:
        """Run the steps left; each phase is on the tag before the next step relies on it."""
        out = Outcome(preview, margin=self.config.safety.drain_margin)
        phase = preview.phase
        if phase is None:
            phase, out = self._reach(out, Phase("started"))
        for step in preview.steps:
            if step == "withdraw":
                phase, out = self._withdraw(out, then=then)
            elif step == "confirm":
                phase, out = self._confirm(phase, out)
            elif step == "wait":
                phase, out = self._wait(phase, out)
            elif step == "move":
                phase, out = self._move(out)
            else:
                phase, out = self._act(out, then=then)
        return out

    def _reach(self, out: Outcome, phase: Phase) -> tuple[Phase, Outcome]:
        instance = out.preview.instance
        self.ec2.tag(instance.instance_id, {TAG_DRAIN: phase.text()})
        log.info("drain.phase", instance_id=instance.instance_id, phase=phase.text())
        return phase, replace(out, phases=(*out.phases, phase.name))

    def _withdraw(self, out: Outcome, *, then: Then) -> tuple[Phase, Outcome]:
        preview = out.preview
        assert self.registry is not None and preview.withdrawal is not None
        withdrawal, serial = preview.withdrawal, preview.serial
        changes: tuple[str, ...] = ()
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                result = self.registry.apply(withdrawal.units)
            except ConflictError:
                if attempt == CONFLICT_RETRIES:
                    raise
                # Another writer (a `run` seeing the drain tag) changed the RRset: re-read.
                self.on_step("the zone changed meanwhile; reading it again")
                again = self.prepare(preview.instance, preview.service, then=then)
                withdrawal = again.withdrawal or Withdrawal((), withdrawal.ttl)
                serial = again.serial
                continue
            if result.batches:
                serial, changes = result.serial, result.change_ids
                self._withdrawn = result
            for text in withdrawal.changed:
                self.on_step(f"applied: {text}")
            break
        phase, out = self._reach(
            out, Phase("dns-out", ttl=withdrawal.ttl, serial=serial, changes=tuple(changes))
        )
        return phase, replace(out, changed=withdrawal.changed)

    def _confirm(self, phase: Phase, out: Outcome) -> tuple[Phase, Outcome]:
        assert self.registry is not None
        kind = self.registry.provider.kind
        result = ApplyResult(kind, (), 0, serial=phase.serial, change_ids=phase.changes)
        if self._withdrawn is not None and self._withdrawn.serial == phase.serial:
            result = self._withdrawn
        lagging: tuple[str, ...] = ()
        each = min(CONFIRM_ROUND, self.confirm_timeout)
        for _ in range(max(1, math.ceil(self.confirm_timeout / each))):
            propagation = self.registry.confirm(result, timeout=each)
            lagging = propagation.lagging
            if propagation.problem:
                raise OperationError(
                    f"{propagation.problem}; {out.preview.instance.label} is left as it is "
                    "(drain phase dns-out)"
                )
            if not lagging:
                break
            for server in propagation.servers:
                if server.confirmed_at is None:
                    self.on_step(f"not yet served by {server.server}: {server.error}")
        if lagging:
            raise OperationError(
                f"the removal is not served by {', '.join(lagging)} after "
                f"{self.confirm_timeout:g}s; {out.preview.instance.label} is left as it is "
                "(drain phase dns-out): run drain again to go on"
            )
        # Our clock after the answers, rounded up: never before the real confirmation.
        at = float(math.ceil(self.clock()))
        self.on_step(f"every authoritative server serves the removal ({utc_stamp(at)}Z)")
        confirmed, out = self._reach(out, Phase("confirmed", ttl=phase.ttl, at=at))
        return confirmed, replace(out, confirmed_at=at)

    def _wait(self, phase: Phase, out: Outcome) -> tuple[Phase, Outcome]:
        margin = self.config.safety.drain_margin
        total = phase.ttl + margin
        described = f"waiting out the TTL ({phase.ttl}s + {margin:g}s margin)"
        self.on_step(described)
        with self.waiting(described, total) as bar:
            while (left := wait_left(phase, margin=margin, now=self.clock())) > 0:
                bar.tick(total - left)
                self.sleep(min(1.0, left))
            bar.tick(total)
        waited = self.clock() - phase.at
        done, out = self._reach(out, Phase("waited"))
        return done, replace(out, waited=waited, ttl=phase.ttl, confirmed_at=phase.at)

    def _move(self, out: Outcome) -> tuple[Phase, Outcome]:
        move = out.preview.move
        assert move is not None
        eip, target = move.address, move.instance
        self.on_step(f"moving {eip.public_ip} to {target.label} (one AssociateAddress)")
        if self.move_address is None:
            raise OperationError("a drain's standby move goes through the engine: none given")
        report = self.move_address(move)
        if report.timeline is not None and not report.timeline.steady:
            raise OperationError(
                f"{eip.public_ip} is on {target.label} in EC2 but did not answer steadily from "
                f"it within {self.move_timeout:g}s; run drain again to go on"
            )
        phase, out = self._reach(out, Phase("moved", to=target.instance_id))
        return phase, replace(out, move=report)

    def _act(self, out: Outcome, *, then: Then) -> tuple[Phase, Outcome]:
        instance, eip, disassociated = out.preview.instance, out.preview.eip, ""
        if eip is not None:
            # Read again: a `run` may have failed it over meanwhile.
            current = self.ec2.address(eip.allocation_id)
            if current.instance_id == instance.instance_id:
                self.on_step(f"disassociating {current.public_ip}; it stays allocated")
                self.ec2.disassociate(current)
                disassociated = current.public_ip
        if then != "nothing" and out.preview.service.drain_ready is not None:
            self._wait_for_queue(instance, out.preview.service.drain_ready, then=then)
        action = instance_action(self.ec2, instance, then)
        if action != "none":
            self.on_step(f"{action} {instance.label}")
        phase = Phase("done", then=then)
        try:
            phase, out = self._reach(out, phase)
        except OperationError as exc:
            # EC2 may refuse tags on a terminated instance; its state says it all then.
            log.warning("drain.untagged", instance_id=instance.instance_id, error=exc.message)
            out = replace(out, phases=(*out.phases, "done"))
        return phase, replace(out, disassociated=disassociated, action=action)


def _queue_refusal(instance: Instance, detail: str, timeout: float, then: Then) -> OperationError:
    return OperationError(
        f"mail is still queued on {instance.label} after {timeout:g}s ({detail}); not "
        f"{'terminating' if then == 'terminate' else 'stopping'} it. Run drain again to go "
        "on waiting, or pass --force-queue to lose what is queued"
    )


def instance_action(ec2: Ec2, instance: Instance, then: Then) -> str:
    """TerminateInstances or StopInstances (both idempotent); what was done, as a participle."""
    if then == "nothing":
        return "none"
    if then == "terminate":
        ec2.terminate(instance.instance_id)
        return "terminated"
    ec2.stop(instance.instance_id)
    return "stopped"
