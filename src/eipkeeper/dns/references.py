"""Which records of a zone refer to an address (SPEC S2: what must leave DNS before a release).

A record refers to an address when it is an A/AAAA value, when it is an MX whose target's
A/AAAA in the same zone has it, or when it is an SPF policy (TXT `v=spf1`) whose `ip4:`/`ip6:`
entry covers it. Targets outside the zone are not followed: the snapshot cannot see them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from eipkeeper.dns.records import Record, Zone, txt_strings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Reference:
    """RECORD refers to the address, `via` says how (`A value`, `MX target ...`, `SPF ip4:...`)."""

    record: Record
    via: str

    def __str__(self) -> str:
        return f"{self.record.type} {self.record.name} ({self.via})"


def references(zone: Zone, address: str) -> tuple[Reference, ...]:
    """Every record of ZONE that refers to ADDRESS, in zone order."""
    target = ipaddress.ip_address(address)
    found: list[Reference] = []
    for record in zone.records:
        if record.type in ("A", "AAAA"):
            if any(_same(value, target) for value in record.values):
                found.append(Reference(record, f"{record.type} value"))
        elif record.type == "MX":
            found += _mx(zone, record, target)
        elif record.type in ("TXT", "SPF"):
            found += _spf(record, target)
    return tuple(found)


def _same(value: str, target: IpAddress) -> bool:
    try:
        return ipaddress.ip_address(value) == target
    except ValueError:
        return False


def _mx(zone: Zone, record: Record, target: IpAddress) -> list[Reference]:
    found = []
    for value in record.values:
        host = value.split(" ", 1)[-1].rstrip(".")
        for rdtype in ("A", "AAAA"):
            addresses = zone.get(host, rdtype)
            if addresses and any(_same(v, target) for v in addresses.values):
                found.append(Reference(record, f"MX target {host}"))
    return found


def _spf(record: Record, target: IpAddress) -> list[Reference]:
    return [
        Reference(record, f"SPF {mechanism}")
        for mechanism, network in spf_entries(record)
        if target.version == network.version and target in network
    ]


def spf_entries(record: Record) -> list[tuple[str, Network]]:
    """The `ip4:`/`ip6:` mechanisms of the SPF policies (TXT `v=spf1`) of RECORD, with the
    networks they name; an entry that is not a network is left out (a receiver ignores it)."""
    if record.type not in ("TXT", "SPF"):
        return []
    found: list[tuple[str, Network]] = []
    for value in record.values:
        # RFC 7208 3.3: the strings of one TXT value are joined without spaces.
        policy = b"".join(txt_strings(value)).decode("utf-8", "replace")
        terms = policy.split()
        if not terms or terms[0].lower() != "v=spf1":
            continue
        for term in terms[1:]:
            mechanism = term.lstrip("+-~?")
            kind, _, network = mechanism.partition(":")
            if kind.lower() not in ("ip4", "ip6") or not network:
                continue
            try:
                found.append((mechanism, ipaddress.ip_network(network, strict=False)))
            except ValueError:
                continue
    return found
