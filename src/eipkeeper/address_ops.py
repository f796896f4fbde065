"""What the read-only commands and the prompts need to know about an address: which records
of the zone refer to it (the `DnsReferences` seam, so that they do not depend on the DNS
provider) and which local connections an association would break. The rules themselves
(S2, S3, S4, S6) live in the engine's safety check."""

from __future__ import annotations

from typing import Protocol

import psutil

from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.references import references


class DnsReferences(Protocol):
    """Which managed records refer to an address (A/AAAA value, MX target's address, SPF ip4)."""

    def references(self, ip: str) -> list[str]: ...


class NoDns:
    """The seam when no [dns] is configured: nothing managed can refer to anything."""

    def references(self, ip: str) -> list[str]:
        return []


class ZoneReferences:
    """References read from one snapshot of the zone (every record, not only managed ones:
    S2 refuses a release while anything in the zone still points at the address)."""

    def __init__(self, zone: OwnedZone) -> None:
        self._zone = zone

    def references(self, ip: str) -> list[str]:
        return [str(ref) for ref in references(self._zone.zone, ip)]


def local_connections(ip: str) -> list[str]:
    """Connections from this machine to IP, which an association would break (the seed's ssh)."""
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, OSError):
        return []
    found = []
    for conn in connections:
        remote = conn.raddr
        if remote and getattr(remote, "ip", None) == ip and conn.status == "ESTABLISHED":
            local = conn.laddr
            found.append(
                f"{getattr(local, 'ip', '')}:{getattr(local, 'port', '')} -> {ip}:{remote.port}"
            )
    return sorted(found)
