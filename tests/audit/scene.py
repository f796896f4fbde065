"""Hand-made scenes for the pure audit tests: a small fleet and zone with nothing wrong in it.

`clean()` is the baseline every test starts from and the audit finds nothing in; a test plants
one thing and expects exactly that finding.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace
from pathlib import Path

from eipkeeper import config as config_module
from eipkeeper.audit import Scene
from eipkeeper.cloud.ranges import CloudRanges, Ranges
from eipkeeper.config import Config
from eipkeeper.controller.observation import Observation
from eipkeeper.dns.markers import Claim, marker_name
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Record, Zone
from eipkeeper.model import TAG_HOSTNAME, TAG_OWNER, TAG_SERVICE, Address, Instance

OWNER = "mail-prod"
ZONE = "example.test"
SANDBOX = CloudRanges(networks=(ipaddress.ip_network("127.0.0.0/8"),), source="test 127/8")

CONFIG = f"""
owner = "{OWNER}"
[dns]
provider = "route53"
zone = "{ZONE}"
max_ttl = MAX_TTL
[cost]
ipv4_hourly = 0.005
[[service]]
name = "mx"
select = {{ tags = {{ Role = "mx" }} }}
addresses = "elastic"
hostnames = ["mx1.{ZONE}", "mx2.{ZONE}", "mx3.{ZONE}"]
mx = {{ domain = "{ZONE}", preference = 10 }}
burst = {{ launch_template = "mx-burst", hostnames = ["mx3.{ZONE}"] }}
[[service]]
name = "scan"
select = {{ tags = {{ Role = "scan" }} }}
addresses = "dynamic"
hostnames = ["scan.{ZONE}"]
ttl = 60
"""


def make_config(*, max_ttl: int = 300) -> Config:
    return config_module.parse(CONFIG.replace("MAX_TTL", str(max_ttl)), Path("audit.toml"))


def eip(n: int, *, hostname: str = "", instance: str = "", service: str = "mx") -> Address:
    tags = {TAG_OWNER: OWNER}
    if service:
        tags[TAG_SERVICE] = service
    if hostname:
        tags[TAG_HOSTNAME] = hostname
    return Address(
        public_ip=f"127.1.0.{n}",
        allocation_id=f"eipalloc-{n:04d}",
        association_id=f"eipassoc-{n:04d}" if instance else "",
        instance_id=instance,
        tags=tags,
    )


def instance(n: int, role: str, *, public_ip: str, state: str = "running") -> Instance:
    return Instance(
        instance_id=f"i-{n:04d}",
        state=state,
        public_ip=public_ip,
        tags={"Name": f"{role}-{n}", "Role": role} if role else {"Name": f"other-{n}"},
    )


def owned(record: Record, owner: str = OWNER) -> list[Record]:
    """RECORD and its ownership record, claimed wholly by OWNER."""
    marker = Record(marker_name(record.name, record.type), "TXT", record.ttl, [Claim(owner).text()])
    return [record, marker]


MX1, MX2, MX3 = (
    eip(1, hostname=f"mx1.{ZONE}", instance="i-0001"),
    eip(2, hostname=f"mx2.{ZONE}", instance="i-0002"),
    eip(3, hostname=f"mx3.{ZONE}", instance="i-0003"),
)
MX_A = instance(1, "mx", public_ip=MX1.public_ip)
MX_B = instance(2, "mx", public_ip=MX2.public_ip)
MX_C = instance(3, "mx", public_ip=MX3.public_ip)
SCAN_A = instance(11, "scan", public_ip="127.2.0.11")
SCAN_B = instance(12, "scan", public_ip="127.2.0.12")


@dataclass(frozen=True)
class Fixture:
    """A scene under construction: change a field with `replace`, or add records."""

    addresses: tuple[Address, ...] = (MX1, MX2, MX3)
    instances: tuple[Instance, ...] = (MX_A, MX_B, MX_C, SCAN_A, SCAN_B)
    records: tuple[Record, ...] = ()
    health: dict[str, bool] = field(default_factory=dict)
    ranges: Ranges = SANDBOX

    def plus(self, *records: Record) -> Fixture:
        return replace(self, records=(*self.records, *records))

    def scene(self, config: Config) -> Scene:
        services = tuple(i for i in self.instances if i.tags.get("Role"))
        health = {i.instance_id: self.health.get(i.instance_id, i.running) for i in services}
        zone = Zone(ZONE, 1, tuple(sorted(self.records, key=lambda r: r.key)))
        seen = Observation(
            addresses=self.addresses,
            instances=services,
            zone=OwnedZone.of(zone),
            health=health,
            now=1_000_000.0,
        )
        return Scene(observation=seen, instances=self.instances, ranges=self.ranges)


def clean() -> Fixture:
    """mx1..mx3 each on a healthy instance (mx3 on a burst instance), scan on two dynamic IPs,
    an SPF policy naming the EIPs: all marked by OWNER."""
    mx = Record(ZONE, "MX", 300, [f"10 mx{n}.{ZONE}." for n in (1, 2, 3)])
    spf = Record(ZONE, "TXT", 300, [f'"v=spf1 ip4:{MX1.public_ip} ip4:127.1.0.2/31 -all"'])
    records = [
        *owned(Record(f"mx1.{ZONE}", "A", 300, [MX1.public_ip])),
        *owned(Record(f"mx2.{ZONE}", "A", 300, [MX2.public_ip])),
        *owned(Record(f"mx3.{ZONE}", "A", 300, [MX3.public_ip])),
        *owned(Record(f"scan.{ZONE}", "A", 60, [SCAN_A.public_ip, SCAN_B.public_ip])),
        *owned(mx),
        spf,
        Record(ZONE, "NS", 3600, [f"ns1.{ZONE}."]),
    ]
    return Fixture(records=tuple(records))
