"""A small model of EC2 and a zone for planner tests: observe it, apply a plan to it.

Only the planner's inputs and the effects the executor would have are modelled; it is not a
fake of boto3 (the executor itself is tested against the sandbox's moto server).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from eipkeeper import config as config_module
from eipkeeper.config import Config
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Bind, Claim, DnsUnit, Move, Plan, SettleLeaving
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Record, Zone
from eipkeeper.model import (
    TAG_HOSTNAME,
    TAG_LEAVING_DNS,
    TAG_LEFT_DNS_AT,
    TAG_OWNER,
    TAG_SERVICE,
    Address,
    Instance,
    NetworkInterface,
)

OWNER = "mail-prod"
ZONE = "example.test"

CONFIG_TEXT = f"""
owner = "{OWNER}"
[dns]
provider = "route53"
zone = "{ZONE}"
max_ttl = 300
[[service]]
name = "mx"
select = {{ tags = {{ Role = "mx" }} }}
addresses = "elastic"
hostnames = ["mx1.{ZONE}", "mx2.{ZONE}", "mx3.{ZONE}"]
mx = {{ domain = "{ZONE}", preference = 10, when_unbacked = "WHEN" }}
burst = {{ launch_template = "mx-burst", hostnames = ["mx3.{ZONE}"] }}
[[service]]
name = "scan"
select = {{ tags = {{ Role = "scan" }} }}
addresses = "dynamic"
hostnames = ["scan.{ZONE}"]
ttl = 60
"""


def make_config(when_unbacked: str = "keep") -> Config:
    return config_module.parse(CONFIG_TEXT.replace("WHEN", when_unbacked), Path("test.toml"))


def eip(n: int, *, hostname: str = "", owner: str = OWNER, instance: str = "") -> Address:
    tags = {TAG_SERVICE: "mx"}
    if owner:
        tags[TAG_OWNER] = owner
    if hostname:
        tags[TAG_HOSTNAME] = hostname
    return Address(
        public_ip=f"127.0.100.{n}",
        allocation_id=f"eipalloc-{n:04d}",
        association_id=f"eipassoc-{n:04d}" if instance else "",
        instance_id=instance,
        tags=tags,
    )


def instance(
    name: str, role: str, *, n: int, state: str = "running", tags: dict[str, str] | None = None
) -> Instance:
    public = f"127.0.{200 + n // 250}.{n % 250 + 1}" if state == "running" else ""
    return Instance(
        instance_id=f"i-{n:04d}",
        state=state,
        public_ip=public,
        private_ip=f"10.0.0.{n}",
        launch_time=f"2026-01-01T00:00:{n:02d}",
        interfaces=(NetworkInterface(f"eni-{n:04d}", 0, f"10.0.0.{n}", public),),
        tags={"Name": name, "Role": role, **(tags or {})},
    )


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
