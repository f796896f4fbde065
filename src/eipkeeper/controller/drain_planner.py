"""`drain INSTANCE` as an ordinary plan: pure, from the one observation.

What a drain does follows from the phase on the instance's tag (S8), the route its service
and its addresses give (`drain.routes`) and the steps left after that phase (`drain.phases`):

- the withdrawal is `DnsUnit`s, so S1, S4 and S7 judge it as any change to the zone;
- the standby move is a `Move` asked for by the operator (S6 judges the standby, the engine
  watches the switch);
- the rest are small `DrainStep`s that the executor runs in plan order, each fenced: mark the
  phase reached, await the removal served, await the TTL, await the mail queue, stop or
  terminate.

Every action has the apply phase `drain`, so the plan runs in the order written here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.intents import DrainInstance
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import (
    Action,
    Disassociate,
    DnsUnit,
    DrainKind,
    DrainStep,
    Move,
    Plan,
)
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Record
from eipkeeper.drain.phases import Phase, Route, Step, parse_phase, steps_after
from eipkeeper.drain.routes import Withdrawal, choose_route, withdraw_address, withdraw_from_mx
from eipkeeper.errors import NotFoundError, OperationError, UsageError
from eipkeeper.fleet import FleetView, service_of, standby_candidates
from eipkeeper.model import TAG_DRAIN, Address, Instance, Then


@dataclass(frozen=True)
class DrainPreview:
    """What a drain will do, decided before anything is changed (refusals come from here)."""

    instance: Instance
    service: ServiceConfig
    phase: Phase | None
    route: Route
    steps: tuple[Step, ...]
    eip: Address | None = None
    """The service's pool EIP on the instance, ours."""
    withdrawal: Withdrawal | None = None
    standby: Instance | None = None
    """The healthy instance the pool EIP moves to (route `move`)."""
    serial: int | None = None
    """The zone serial as read: what to confirm when there was nothing left to change."""
    passed_over: tuple[str, ...] = ()
    """Why each standby candidate passed over is none (S6), for the notes."""

    @property
    def done(self) -> bool:
        """Drained before, and nothing is asked beyond what was done then."""
        return self.phase is not None and self.phase.name == "done" and not self.steps


def find_drained(seen: Observation, text: str) -> Instance:
    """INSTANCE by id or Name, as every command resolves it (FleetView.resolve_instance). A
    terminated one counts only when a drain left it so: that is the drain to resume or
    report, not some old namesake."""
    try:
        return FleetView(seen.addresses, seen.instances).resolve_instance(text)
    except NotFoundError:
        pass
    gone = [i for i in seen.gone if text in (i.instance_id, i.name)]
    drained = FleetView(seen.addresses, [i for i in gone if TAG_DRAIN in i.tags])
    if not drained.instances and gone:
        raise OperationError(f"{gone[0].label} is already terminated; nothing to drain")
    if not drained.instances:
        raise NotFoundError(f"no instance with id or Name {text}")
    return drained.resolve_instance(text)


def plan_drain(config: Config, seen: Observation, intent: DrainInstance) -> Plan:
    preview = drain_preview(config, seen, intent)
    notes = preview.passed_over
    if preview.done:
        return Plan(actions=(), notes=notes)
    actions = drain_actions(config, preview, then=intent.then, force_queue=intent.force_queue)
    managed = seen.zone.managed_count(config.owner) if seen.zone is not None else 0
    return Plan(actions=actions, managed_records=managed, notes=notes)


def drain_preview(config: Config, seen: Observation, intent: DrainInstance) -> DrainPreview:
    """Decide from the phase on the tag, the route and the zone; no change is made here."""
    instance = find_drained(seen, intent.instance)
    service = service_of(config, instance)
    if service is None:
        raise UsageError(f"{instance.label} is in no configured service; there is nothing to drain")
    phase = parse_phase(instance.tags.get(TAG_DRAIN, ""))
    pool = seen.pool(service, config.owner)
    eip = next((a for a in pool if a.instance_id == instance.instance_id), None)
    base = DrainPreview(instance, service, phase, "direct", (), eip=eip)
    named = bool(seen.references(instance.public_ip))
    if phase is not None and phase.name == "done":
        if intent.then in ("nothing", phase.then):
            return base
        if not named:
            # Drained earlier and out of DNS since (`run` never puts it back): only act.
            return DrainPreview(instance, service, phase, "direct", ("act",), eip=eip)
        phase = None  # in DNS again since (by hand): drain it from the start
    return _decided(config, seen, DrainPreview(instance, service, phase, "direct", (), eip=eip))


def _decided(config: Config, seen: Observation, base: DrainPreview) -> DrainPreview:
    instance, service, phase, eip = base.instance, base.service, base.phase, base.eip
    standby: Instance | None = None
    passed_over: tuple[str, ...] = ()
    if (phase is None or phase.name == "started") and eip is not None:
        standby, passed_over = _standby(config, seen, instance, service, eip)
    route = choose_route(
        service=service,
        instance=instance,
        eip=eip,
        standby=standby is not None,
        seen=bool(seen.references(instance.public_ip)),
    )
    steps = steps_after(phase, route)
    decided = replace(base, route=route, steps=steps, standby=standby, passed_over=passed_over)
    zone = seen.zone
    if zone is None:
        if "withdraw" in steps or "confirm" in steps:
            raise OperationError(f"draining {instance.label} needs [dns] in the config")
        return decided
    withdrawal = _withdrawal(config, seen, zone, decided) if "withdraw" in steps else None
    return replace(decided, withdrawal=withdrawal, serial=zone.zone.serial)


def _withdrawal(
    config: Config, seen: Observation, zone: OwnedZone, preview: DrainPreview
) -> Withdrawal:
    """The hostname out of the MX set for a pool EIP; else the address out of every record."""
    instance, service, eip = preview.instance, preview.service, preview.eip
    if eip is not None:
        return withdraw_from_mx(zone, config=config, service=service, hostname=eip.hostname)
    others = _healthy_others(seen, instance, service)
    return withdraw_address(
        zone, config=config, service=service, ip=instance.public_ip, others=others
    )


def _members(seen: Observation, service: ServiceConfig) -> list[Instance]:
    return [i for i in seen.members(service) if i.state == "running"]


def _healthy_others(seen: Observation, instance: Instance, service: ServiceConfig) -> list[str]:
    """The public IPs of the service's other instances that pass their check: what a hostname
    gets rather than go dark when the drained instance is its last value."""
    return sorted(
        i.public_ip
        for i in _members(seen, service)
        if i.instance_id != instance.instance_id and i.public_ip and seen.healthy(i)
    )


def _standby(
    config: Config, seen: Observation, instance: Instance, service: ServiceConfig, eip: Address
) -> tuple[Instance | None, tuple[str, ...]]:
    """The oldest candidate that passes its check (S6), and why each one before it is none."""
    passed_over: list[str] = []
    for candidate in standby_candidates(
        _members(seen, service),
        seen.addresses,
        burst=eip.hostname in service.burst_hostnames,
        named=lambda ip: bool(seen.references(ip)),
        excluding=instance.instance_id,
    ):
        if seen.healthy(candidate):
            return candidate, tuple(passed_over)
        detail = seen.health_detail.get(candidate.instance_id, "")
        why = "it did not pass its check" + (f" ({detail})" if detail else "")
        passed_over.append(f"{candidate.label} is no standby: {why}")
    return None, tuple(passed_over)


# -- the actions ---------------------------------------------------------------------------------


def drain_actions(
    config: Config, preview: DrainPreview, *, then: Then, force_queue: bool = False
) -> tuple[Action, ...]:
    """The steps left, as actions in the order they run; each phase is marked on the tag
    before the next step relies on it (S8)."""
    step = _Steps(config, preview)
    actions: list[Action] = []
    if preview.phase is None:
        actions.append(step.mark("started"))
    for name in preview.steps:
        if name == "withdraw":
            actions += step.withdraw()
        elif name == "confirm":
            actions += step.confirm()
        elif name == "wait":
            actions += step.wait()
        elif name == "move":
            actions += step.move()
        else:
            actions += step.act(then, force_queue=force_queue, moved="move" in preview.steps)
    return tuple(actions)


@dataclass(frozen=True)
class _Steps:
    config: Config
    preview: DrainPreview

    @property
    def _instance(self) -> Instance:
        return self.preview.instance

    def _step(self, kind: DrainKind, reason: str, **fields: Any) -> DrainStep:
        return DrainStep(
            service=self.preview.service.name,
            instance_id=self._instance.instance_id,
            step=kind,
            reason=reason,
            **fields,
        )

    def mark(self, reached: str, **fields: Any) -> DrainStep:
        why = f"drain: {reached} on the instance's tag before the next step relies on it (S8)"
        return self._step("mark", why, reached=reached, **fields)

    @property
    def _ttl(self) -> int:
        withdrawal, phase = self.preview.withdrawal, self.preview.phase
        ttl = withdrawal.ttl if withdrawal else 0
        return ttl or (phase.ttl if phase else 0)

    def withdraw(self) -> list[Action]:
        withdrawal = self.preview.withdrawal
        assert withdrawal is not None
        ip = self._instance.public_ip
        removed = (ip,) if self.preview.eip is None and ip else ()
        units: list[Action] = [
            DnsUnit(
                service=self.preview.service.name,
                changes=tuple(unit),
                reason=f"drain: {self._instance.label} leaves DNS",
                removed_addresses=removed,
                phase="drain",
            )
            for unit in withdrawal.units
        ]
        return [*units, self.mark("dns-out", ttl=withdrawal.ttl, serial=self.preview.serial)]

    def confirm(self) -> list[Action]:
        phase = self.preview.phase
        resumed = phase is not None and phase.name == "dns-out"
        served = self._step(
            "await-served",
            "drain: every authoritative server serves the removal before the TTL counts",
            serial=phase.serial if resumed and phase else None,
            change_ids=phase.changes if resumed and phase else (),
            absent=self._withdrawn() if resumed else (),
            label=self._instance.label,
        )
        return [served, self.mark("confirmed", ttl=self._ttl)]

    def _withdrawn(self) -> tuple[Record, ...]:
        """What a resumed withdrawal took out, as the plan knows it without the zone (which
        no longer shows it): the instance's address under each of the service's hostnames.
        A pool EIP leaves through the MX set instead, its address stays: nothing to add."""
        ip = self._instance.public_ip
        if self.preview.eip is not None or not ip:
            return ()
        rdtype = "AAAA" if ":" in ip else "A"
        return tuple(Record(n, rdtype, self._ttl, [ip]) for n in self.preview.service.hostnames)

    def wait(self) -> list[Action]:
        phase = self.preview.phase
        at = phase.at if phase is not None and phase.name == "confirmed" else None
        waited = self._step(
            "await-ttl",
            "drain: caches forget the removal (S2)",
            ttl=self._ttl,
            confirmed_at=at,
            margin=self.config.safety.drain_margin,
        )
        return [waited, self.mark("waited")]

    def move(self) -> list[Action]:
        eip, standby = self.preview.eip, self.preview.standby
        assert eip is not None and standby is not None
        move = Move(
            service=eip.service,
            allocation_id=eip.allocation_id,
            public_ip=eip.public_ip,
            from_instance=self._instance.instance_id,
            instance_id=standby.instance_id,
            reason=f"drain: {standby.label} is a healthy standby",
            phase="drain",
            by_operator=True,
        )
        steady = self._step(
            "await-steady",
            "drain: the standby answers on the address before the drain goes on",
            allocation_id=eip.allocation_id,
            label=f"{eip.public_ip} is on {standby.label}",
        )
        return [move, steady, self.mark("moved", to=standby.instance_id)]

    def act(self, then: Then, *, force_queue: bool, moved: bool) -> list[Action]:
        eip, instance = self.preview.eip, self._instance
        actions: list[Action] = []
        if eip is not None and not moved:
            actions.append(
                Disassociate(
                    service=eip.service,
                    allocation_id=eip.allocation_id,
                    public_ip=eip.public_ip,
                    from_instance=instance.instance_id,
                    reason="drain: the address stays allocated",
                    phase="drain",
                )
            )
        ready = self.preview.service.drain_ready
        if ready is not None and then != "nothing":
            actions.append(
                self._step(
                    "await-queue",
                    "drain: the MTA's queue is empty before the instance goes (drain_ready)",
                    then=then,
                    force=force_queue,
                    label=instance.label,
                )
            )
        if then != "nothing":
            why = f"asked for: drain {instance.label} then {then}"
            actions.append(self._step(then, why, label=instance.label))
        return [*actions, self.mark("done", then=then)]
