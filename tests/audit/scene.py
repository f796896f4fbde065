"""Hand-made scenes for the pure audit tests: a small fleet and zone with nothing wrong in it.

`clean()` is the baseline every test starts from and the audit finds nothing in; a test plants
one thing and expects exactly that finding.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field, replace

from eipkeeper.audit import Scene
from eipkeeper.cloud.ranges import CloudRanges, Ranges
from eipkeeper.config import Config
from eipkeeper.controller.observation import Observation
from eipkeeper.dns.markers import RRsetClaim, marker_name
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Record, Zone
from eipkeeper.model import Address, Instance
from tests.support import builders
from tests.support.builders import OWNER, ZONE, eip, instance

SANDBOX = CloudRanges(networks=(ipaddress.ip_network("127.0.0.0/8"),), source="test 127/8")


def make_config(*, max_ttl: int = 300) -> Config:
    cost = "[cost]\nipv4_hourly = 0.005\n"
    return builders.config(dns=f"max_ttl = {max_ttl}\n", tables=cost, source="audit.toml")


def owned(record: Record, owner: str = OWNER) -> list[Record]:
    """RECORD and its ownership record, claimed wholly by OWNER."""
    marker = Record(
        marker_name(record.name, record.type), "TXT", record.ttl, [RRsetClaim(owner).text()]
    )
    return [record, marker]


MX1, MX2, MX3 = (
    eip(1, hostname=f"mx1.{ZONE}", instance="i-0001"),
    eip(2, hostname=f"mx2.{ZONE}", instance="i-0002"),
    eip(3, hostname=f"mx3.{ZONE}", instance="i-0003"),
)
MX_A = instance("mx-1", "mx", n=1, public_ip=MX1.public_ip)
MX_B = instance("mx-2", "mx", n=2, public_ip=MX2.public_ip)
MX_C = instance("mx-3", "mx", n=3, public_ip=MX3.public_ip)
SCAN_A = instance("scan-11", "scan", n=11)
SCAN_B = instance("scan-12", "scan", n=12)


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
