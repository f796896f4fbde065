"""`replace INSTANCE`: a planned upgrade with no client-visible gap for MX (pure).

The seed: "transition the IP address to a large instance ... without the users noticing". One
round of it is planned from one observation, like a reconcile; `replace` runs rounds until the
plan says it is done. The successor carries `eipkeeper:successor-of=<old>`, and where the
addresses are is EC2's own state, so a killed `replace` goes on where it stopped (S8):

1. launch the successor (ClientToken from the old instance: once, however often rerun);
2. wait until it passes its check (it takes tens of seconds to boot);
3. with MX: let it take mail on a reserved burst address that MX already lists (a claim, so
   senders that reach that host deliver there);
4. give the reserved address back and move the old holder's EIP onto the successor in one
   AssociateAddress (senders that find no answer there meanwhile go on to the other MX
   hosts); an instance holds one EIP per private address, so the first must go.

Without MX (or without a free reserved address) it is a plain move, and the gap is reported.
Then `replace` drains the old instance (`drain --then nothing`: out of service, its MTA queue
waited for); it keeps running, holding nothing, for the operator to stop or terminate.

The successor's Name says whose it is and is unique (`mx-a-successor-i-0abc...`), and either
name resumes the same replacement: `replace mx-a-successor-i-0abc` finds the instance it takes
over from by its `eipkeeper:successor-of` tag instead of launching a successor of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.intents import ReplaceInstance
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Claim, Disassociate, Launch, Move, Plan
from eipkeeper.errors import UsageError
from eipkeeper.fleet import FleetView, service_of
from eipkeeper.model import TAG_SUCCESSOR_OF, Address, Instance


@dataclass(frozen=True)
class Stage:
    """Where a replacement is, for the command's progress and its end."""

    name: str
    """launch, booting, take-mail, move, give-back, done."""
    text: str
    successor: Instance | None = None
    old: Instance | None = None
    """The instance replaced (drained once the stage is done)."""


def successor_name(old: Instance) -> str:
    """The successor's Name: whose successor it is, unique by the old instance's id."""
    return f"{old.name}-successor-{old.instance_id}" if old.name else f"{old.instance_id}-successor"


def plan_replace(config: Config, seen: Observation, intent: ReplaceInstance) -> tuple[Plan, Stage]:
    view = FleetView(addresses=seen.addresses, instances=seen.instances)
    named = view.resolve_instance(intent.instance)
    predecessor = named.tags.get(TAG_SUCCESSOR_OF, "")
    # Named by the successor's name: the replacement of its predecessor goes on.
    old = seen.instance(predecessor) if predecessor else named
    if old is None:
        text = f"{named.label} replaced {predecessor}, which is gone; nothing left to do"
        return Plan(actions=(), notes=(text,)), Stage("done", text, named)
    service = service_of(config, old)
    if service is None or service.addresses != "elastic":
        raise UsageError(f"{old.label} is in no elastic service; `replace` moves a pool EIP")
    successor = _successor(seen, old)
    eip = _eip(config, seen, service, old, successor)
    if successor is None:
        return _launch(config, service, old, intent), Stage("launch", "launch the successor")
    return _with_successor(config, seen, service, old, successor, eip)


def _with_successor(
    config: Config,
    seen: Observation,
    service: ServiceConfig,
    old: Instance,
    successor: Instance,
    eip: Address,
) -> tuple[Plan, Stage]:
    """The successor is up: wait for its check, take mail, move the EIP, give back, done."""
    label = successor.label
    if eip.instance_id == successor.instance_id:
        held = [a for a in seen.addresses if a.instance_id == successor.instance_id]
        extra = [a for a in held if a.allocation_id != eip.allocation_id]
        if extra:
            give = tuple(_give_back(a, successor) for a in extra)
            return Plan(actions=give), Stage("give-back", "give the reserved address back")
        text = f"{eip.public_ip} is on {label}; {old.label} holds nothing now"
        return Plan(actions=(), notes=(text,)), Stage("done", text, successor, old)
    if not seen.healthy(successor):
        text = f"waiting for {label} to pass its check"
        return Plan(actions=(), notes=(text,)), Stage("booting", text, successor)
    return _take_over(config, seen, service, old, successor, eip)


def _take_over(
    config: Config,
    seen: Observation,
    service: ServiceConfig,
    old: Instance,
    successor: Instance,
    eip: Address,
) -> tuple[Plan, Stage]:
    """The healthy successor takes mail on a free reserved address first (if MX lists one),
    then the EIP moves to it, the reserved address given back just before."""
    label = successor.label
    reserved = _reserved(config, seen, service)
    holding = next((a for a in reserved if a.instance_id == successor.instance_id), None)
    # A listed reserved address carries no mail: then the replace is a plain move.
    free = next((a for a in reserved if not a.associated and seen.unfit(config, a) is None), None)
    if service.mx is not None and holding is None and free is not None:
        claim = Claim(
            service=service.name,
            allocation_id=free.allocation_id,
            public_ip=free.public_ip,
            instance_id=successor.instance_id,
            reason=f"replace: {label} takes mail on {free.hostname}, which MX lists already",
            by_operator=True,
        )
        return Plan(actions=(claim,)), Stage("take-mail", claim.reason, successor)
    move = Move(
        service=service.name,
        allocation_id=eip.allocation_id,
        public_ip=eip.public_ip,
        from_instance=old.instance_id,
        instance_id=successor.instance_id,
        reason=f"replace: {eip.hostname} from {old.label} to {label}",
        by_operator=True,
    )
    # The reserved address goes back first: one EIP per private address (EC2 would displace
    # it), and MX lists it after the always-on hosts, so senders go on to those meanwhile.
    give = (_give_back(holding, successor),) if holding is not None else ()
    return Plan(actions=(*give, move)), Stage("move", move.reason, successor)


def _successor(seen: Observation, old: Instance) -> Instance | None:
    found = [
        i
        for i in seen.instances
        if i.tags.get(TAG_SUCCESSOR_OF) == old.instance_id and i.state in ("pending", "running")
    ]
    return min(found, key=lambda i: (i.launch_time, i.instance_id)) if found else None


def _eip(
    config: Config,
    seen: Observation,
    service: ServiceConfig,
    old: Instance,
    successor: Instance | None,
) -> Address:
    """The pool EIP being handed over: on the old instance, or already on the successor."""
    reserved = set(service.burst_hostnames)
    for address in seen.pool(service, config.owner):
        on = address.instance_id in (old.instance_id, successor.instance_id if successor else "")
        if on and address.hostname not in reserved:
            return address
    raise UsageError(f"{old.label} holds no Elastic IP of pool {service.name}; nothing to replace")


def _reserved(config: Config, seen: Observation, service: ServiceConfig) -> list[Address]:
    hostnames = service.burst_hostnames
    return [a for a in seen.pool(service, config.owner) if a.hostname in hostnames]


def _launch(config: Config, service: ServiceConfig, old: Instance, intent: ReplaceInstance) -> Plan:
    template = intent.launch_template or (service.burst.launch_template if service.burst else "")
    if not template:
        raise UsageError(
            f"service {service.name} names no launch template (burst.launch_template); "
            "pass --launch-template"
        )
    launch = Launch(
        service=service.name,
        launch_template=template,
        hostname="",
        token=f"{config.owner}-successor-{old.instance_id}"[:64],
        reason=f"replace: a successor for {old.label}",
        successor_of=old.instance_id,
        successor_name=successor_name(old),
        instance_type=intent.instance_type,
    )
    return Plan(actions=(launch,))


def _give_back(address: Address, successor: Instance) -> Disassociate:
    return Disassociate(
        service=address.service,
        allocation_id=address.allocation_id,
        public_ip=address.public_ip,
        from_instance=successor.instance_id,
        reason=f"replace: {address.hostname or address.public_ip} goes back to the burst reserve",
    )
