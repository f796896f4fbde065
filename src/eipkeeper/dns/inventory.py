"""What `records` lists: the managed and the relevant RRsets of the zone, whose each value is
(a row per owner; `-` for a value nobody claims, such as one added by hand to a set eipkeeper
manages), and what each value points at in the account (`eip:<allocation id>`,
`instance:<instance id>`, `unknown`).

Relevant beyond the managed ones: every RRset at a hostname or MX domain of the config (the
places eipkeeper would write), and every A/AAAA RRset pointing at an address of the account
(someone else's record on our address is exactly what an operator needs to see before a
release). Pure functions over one read of the zone and the account.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from eipkeeper.config import Config
from eipkeeper.dns.markers import is_marker
from eipkeeper.dns.ownership import OwnedRecord, OwnedZone
from eipkeeper.dns.records import Record, Zone, normalize_name
from eipkeeper.model import Address, Instance
from eipkeeper.spf import policy_of

UNKNOWN = "unknown"
ADDRESS_TYPES = ("A", "AAAA")
HOLDING_STATES = ("pending", "running")
"""States in which an instance holds its dynamic public IP: EC2 gives it up at stop."""
_NOISE = ("SOA", "NS")
"""The zone's own apex records: never eipkeeper's business, and at every MX domain apex."""


@dataclass(frozen=True)
class AccountAddresses:
    """The public addresses the account holds: its EIPs and the dynamic public IPs of its
    running instances."""

    eips: Mapping[str, Address]
    dynamic: Mapping[str, Instance]

    @classmethod
    def of(cls, addresses: Iterable[Address], instances: Iterable[Instance]) -> AccountAddresses:
        eips = {a.public_ip: a for a in addresses if a.public_ip}
        dynamic = {
            i.public_ip: i
            for i in instances
            if i.public_ip and i.public_ip not in eips and i.state in HOLDING_STATES
        }
        return cls(eips=MappingProxyType(eips), dynamic=MappingProxyType(dynamic))

    def holds(self, address: str) -> bool:
        return address in self.eips or address in self.dynamic

    def points_at(self, address: str) -> str:
        if address in self.eips:
            return f"eip:{self.eips[address].allocation_id}"
        if address in self.dynamic:
            return f"instance:{self.dynamic[address].instance_id}"
        return UNKNOWN


@dataclass(frozen=True)
class RecordRow:
    name: str
    type: str
    ttl: int
    values: tuple[str, ...]
    owner: str
    """Who manages these values: one owner, `-` for nobody, or (an unreadable marker) the
    owners `,`-joined beside `(unreadable marker)`. A shared RRset is one row per owner."""
    points_at: tuple[str, ...]
    """One entry per value for A, AAAA and MX (an MX value: what its target's address is)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "ttl": self.ttl,
            "values": list(self.values),
            "owner": self.owner,
            "points_at": list(self.points_at),
        }


def mx_target(value: str) -> str:
    """The host of an MX value in canonical form (`10 mx1.example.com.`)."""
    return normalize_name(value.split(" ", 1)[-1])


def target_addresses(zone: Zone, host: str) -> tuple[str, ...]:
    """HOST's A and AAAA values in ZONE (a target outside the zone cannot be seen: none)."""
    found: list[str] = []
    for rdtype in ADDRESS_TYPES:
        record = zone.get(host, rdtype)
        if record is not None:
            found += record.values
    return tuple(found)


def points_at(record: Record, zone: Zone, account: AccountAddresses) -> tuple[str, ...]:
    if record.type in ADDRESS_TYPES:
        return tuple(account.points_at(v) for v in record.values)
    if record.type == "MX":
        out = []
        for value in record.values:
            addresses = target_addresses(zone, mx_target(value))
            # Several addresses behind one MX host are joined: one entry per MX value.
            out.append("+".join(account.points_at(a) for a in addresses) or UNKNOWN)
        return tuple(out)
    return ()


NOBODY = "-"
"""The owner shown for a value no ownership record claims (SPEC S4)."""


def owner_text(owned: OwnedRecord) -> str:
    owners = ",".join(sorted({c.who for c in owned.claims}))
    if owned.foreign_marker:
        return ",".join(filter(None, (owners, "(unreadable marker)")))
    return owners or NOBODY


def by_owner(owned: OwnedRecord) -> list[tuple[str, tuple[str, ...]]]:
    """The RRset's values grouped by who manages them, owners by name and nobody's (`-`) last.

    In a shared RRset (an MX set with an on-premises host added by hand) each owner's values
    are a row of their own, so that `records` says which values eipkeeper would change.
    """
    if owned.foreign_marker or not owned.claims:
        return [(owner_text(owned), owned.record.values)]
    groups: dict[str, list[str]] = {}
    for value in owned.record.values:
        groups.setdefault(_manager(owned, value) or NOBODY, []).append(value)
    order = sorted(groups, key=lambda o: (o == NOBODY, o))
    return [(owner, tuple(groups[owner])) for owner in order]


def _manager(owned: OwnedRecord, value: str) -> str:
    """Who manages VALUE; an SPF policy is shared per mechanism (a service's `spf`): its
    managers are the owners whose listed mechanisms it holds."""
    who = owned.owner_of(value)
    policy = policy_of(value) if not who and owned.record.type == "TXT" else None
    if policy is None:
        return who
    terms = {t.lower() for t in policy.split()}
    listed = {c.who: set(owned.listed_by(c.who) or ()) for c in owned.claims}
    return ",".join(sorted(who for who, mine in listed.items() if mine & terms))


def configured_names(config: Config) -> frozenset[str]:
    """Where the config has eipkeeper write: every hostname, MX domain and SPF name."""
    names = {h for s in config.services for h in s.hostnames}
    names |= {s.mx.domain for s in config.services if s.mx is not None}
    names |= {s.spf for s in config.services if s.spf}
    return frozenset(names)


def relevant(
    owned: OwnedRecord, *, owner: str, names: frozenset[str], account: AccountAddresses
) -> bool:
    record = owned.record
    if is_marker(record) or record.type in _NOISE:
        return False
    if any(c.who == owner for c in owned.claims) or record.name in names:
        return True
    return record.type in ADDRESS_TYPES and any(account.holds(v) for v in record.values)


def inventory(config: Config, zone: OwnedZone, account: AccountAddresses) -> list[RecordRow]:
    """The rows of `records`, by name and type."""
    names = configured_names(config)
    rows = []
    for owned in zone.records:
        if not relevant(owned, owner=config.owner, names=names, account=account):
            continue
        record = owned.record
        pointing = dict(zip(record.values, points_at(record, zone.zone, account), strict=False))
        rows += [
            RecordRow(
                name=record.name,
                type=record.type,
                ttl=record.ttl,
                values=values,
                owner=owner,
                points_at=tuple(pointing[v] for v in values if v in pointing),
            )
            for owner, values in by_owner(owned)
        ]
    # Stable: within one RRset the owners keep by_owner's order.
    return sorted(rows, key=lambda r: (r.name, r.type))
