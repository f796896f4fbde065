"""A small model of EC2 and a zone for planner tests: observe it, apply a plan to it.

Only the planner's inputs and the effects the executor would have are modelled; it is not a
fake of boto3 (the executor itself is tested against the sandbox's moto server).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from eipkeeper.config import Config
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Bind, Claim, DnsUnit, Move, Plan, SettleLeaving
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Record, Zone
from eipkeeper.model import TAG_HOSTNAME, TAG_LEAVING_DNS, TAG_LEFT_DNS_AT, Address, Instance
from tests.support import builders
from tests.support.builders import BURST, MX_HOSTNAMES, SCAN, ZONE, mx


def make_config(when_unbacked: str = "keep") -> Config:
    mail = mx(*MX_HOSTNAMES, when_unbacked=when_unbacked, burst=BURST)
    return builders.config(mail, SCAN, dns="max_ttl = 300\n")


@dataclass
class World:
    addresses: list[Address]
    instances: list[Instance]
    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    health: dict[str, bool] = field(default_factory=dict)
    serial: int = 1

    def add(self, record: Record) -> None:
        self.records[record.key] = record

    def zone(self) -> Zone:
        return Zone(ZONE, self.serial, tuple(self.records[k] for k in sorted(self.records)))

    def observe(self) -> Observation:
        health = {i.instance_id: self.health.get(i.instance_id, i.running) for i in self.instances}
        return Observation(
            addresses=tuple(self.addresses),
            instances=tuple(self.instances),
            zone=OwnedZone.of(self.zone()),
            health=health,
            now=1_000_000.0,
        )

    def _set_address(self, allocation_id: str, **changes: object) -> Address:
        for index, address in enumerate(self.addresses):
            if address.allocation_id == allocation_id:
                self.addresses[index] = replace(address, **changes)  # type: ignore[arg-type]
                return self.addresses[index]
        raise KeyError(allocation_id)

    def _set_public_ip(self, instance_id: str, ip: str) -> None:
        for index, inst in enumerate(self.instances):
            if inst.instance_id == instance_id:
                self.instances[index] = replace(inst, public_ip=ip)

    def apply(self, plan: Plan) -> None:  # noqa: PLR0912 - one branch per action kind
        for action in plan.ordered():
            if isinstance(action, Bind):
                address = next(a for a in self.addresses if a.allocation_id == action.allocation_id)
                self._set_address(
                    action.allocation_id, tags={**address.tags, TAG_HOSTNAME: action.hostname}
                )
            elif isinstance(action, Claim | Move):
                old = next(a for a in self.addresses if a.allocation_id == action.allocation_id)
                if old.instance_id:
                    self._set_public_ip(old.instance_id, "")
                self._set_address(
                    action.allocation_id,
                    instance_id=action.instance_id,
                    association_id=f"eipassoc-{action.instance_id}",
                )
                self._set_public_ip(action.instance_id, action.public_ip)
            elif isinstance(action, DnsUnit):
                for change in action.changes:
                    if change.old is not None:
                        assert self.records.get(change.old.key) == change.old, "S5: stale old"
                        del self.records[change.old.key]
                    else:
                        assert change.record.key not in self.records, "S5: create over existing"
                    if change.new is not None:
                        self.records[change.new.key] = change.new
                self.serial += 1
                for ip in action.removed_addresses:
                    for address in self.addresses:
                        if address.public_ip == ip:
                            tags = {**address.tags, TAG_LEFT_DNS_AT: "2026-01-01T00:00:00"}
                            self._set_address(address.allocation_id, tags=tags)
            elif isinstance(action, SettleLeaving):
                address = next(a for a in self.addresses if a.allocation_id == action.allocation_id)
                tags = {k: v for k, v in address.tags.items() if k != TAG_LEAVING_DNS}
                self._set_address(action.allocation_id, tags=tags)
