"""Plans for the address commands' intents: pure, from the one observation (no I/O).

`reconcile` is `planner.plan`; the drain's plan needs probes and lives in the engine. What a
plan may not do (S1 to S7) is judged afterwards by `safety.check`, on the whole plan, as for a
reconcile: these functions say what the operator asked for, the safety check says whether it
may be done.
"""

from __future__ import annotations

from eipkeeper.config import Config
from eipkeeper.controller.intents import (
    AssociateAddress,
    DisassociateAddress,
    MoveAddress,
    ReleaseAddress,
)
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Claim, Disassociate, Finding, Move, Plan, Release
from eipkeeper.errors import SafetyRefusal, UsageError
from eipkeeper.fleet import FleetView
from eipkeeper.model import Address, Instance

AddressIntent = MoveAddress | AssociateAddress | DisassociateAddress | ReleaseAddress


def view_of(seen: Observation) -> FleetView:
    return FleetView(addresses=seen.addresses, instances=seen.instances)


def plan_address_intent(config: Config, seen: Observation, intent: AddressIntent) -> Plan:
    view = view_of(seen)
    address = view.resolve_address(intent.address)
    if isinstance(intent, MoveAddress):
        return _move(seen, view, address, view.resolve_instance(intent.instance))
    if isinstance(intent, AssociateAddress):
        return _associate(seen, view, address, view.resolve_instance(intent.instance))
    if isinstance(intent, DisassociateAddress):
        return _disassociate(config, seen, address)
    return _release(address)


def _holder_label(view: FleetView, address: Address) -> str:
    holder = view.instance_by_id(address.instance_id)
    return holder.label if holder else (address.instance_id or address.network_interface_id)


def _lost_ip(seen: Observation, view: FleetView, instance: Instance) -> tuple[Finding, ...]:
    """The warning `associate` and `move` give: the target's dynamic IP goes for good. Records
    that name it are not a warning but a refusal (S1), which the safety check makes."""
    lost = view.dynamic_ip(instance)
    if not lost:
        return ()
    return (
        Finding(
            "dynamic-ip-lost",
            "warning",
            lost,
            f"{instance.label} has the dynamic public IP {lost}; the association takes it "
            "away for good (EC2 does not give it back)",
        ),
    )


def _move(seen: Observation, view: FleetView, address: Address, target: Instance) -> Plan:
    if address.instance_id == target.instance_id:
        return Plan(actions=(), notes=(f"{address.public_ip} is already on {target.label}",))
    if not address.associated:
        raise UsageError(
            f"{address.public_ip} is on no instance; claiming a free address is "
            f"`eipkeeper associate {address.public_ip} {target.instance_id}`"
        )
    move = Move(
        service=address.service,
        allocation_id=address.allocation_id,
        public_ip=address.public_ip,
        from_instance=address.instance_id or address.network_interface_id,
        instance_id=target.instance_id,
        reason=f"asked for: {address.public_ip} from {_holder_label(view, address)} to "
        f"{target.label}",
        by_operator=True,
    )
    return Plan(actions=(move,), findings=_lost_ip(seen, view, target))


def _associate(seen: Observation, view: FleetView, address: Address, target: Instance) -> Plan:
    if address.instance_id == target.instance_id:
        return Plan(actions=(), notes=(f"{address.public_ip} is already on {target.label}",))
    if address.associated:
        raise SafetyRefusal(
            "S6",
            f"{address.public_ip} is associated with {_holder_label(view, address)}; moving it "
            f"is `eipkeeper move {address.public_ip} --to {target.instance_id}`",
            [address.allocation_id],
        )
    displaced = [a for a in view.held_by(target) if a.allocation_id != address.allocation_id]
    if displaced:
        # EC2 would silently displace the EIP already on the primary private address (FACTS.md).
        raise SafetyRefusal(
            "S6",
            f"{target.label} already holds {displaced[0].public_ip}, which EC2 would displace",
            [a.allocation_id for a in displaced],
        )
    claim = Claim(
        service=address.service,
        allocation_id=address.allocation_id,
        public_ip=address.public_ip,
        instance_id=target.instance_id,
        reason=f"asked for: {address.public_ip} to {target.label}",
        by_operator=True,
    )
    return Plan(actions=(claim,), findings=_lost_ip(seen, view, target))


def _disassociate(config: Config, seen: Observation, address: Address) -> Plan:
    # Another owner's address is planned all the same, so that the safety check says S4.
    if not address.associated and address.owner == config.owner:
        return Plan(actions=(), notes=(f"{address.public_ip} is not associated",))
    findings: tuple[Finding, ...] = ()
    names = seen.references(address.public_ip)
    if names:
        findings = (
            Finding(
                "dns-points-here",
                "warning",
                address.public_ip,
                f"managed DNS points at {address.public_ip} ({', '.join(names)}); after this "
                "nothing answers there",
            ),
        )
    action = Disassociate(
        service=address.service,
        allocation_id=address.allocation_id,
        public_ip=address.public_ip,
        from_instance=address.instance_id or address.network_interface_id,
        reason="asked for",
    )
    return Plan(actions=(action,), findings=findings)


def _release(address: Address) -> Plan:
    action = Release(
        service=address.service,
        allocation_id=address.allocation_id,
        public_ip=address.public_ip,
        reason="asked for",
    )
    return Plan(actions=(action,))
