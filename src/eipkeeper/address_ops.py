"""The address commands' rules: what `associate`, `disassociate` and `release` may do.

Each operation first builds a preview (what would happen, what it warns about, what a safety
rule forbids) from one read of the fleet, then acts. The DNS half of S2 comes in through the
`DnsReferences` seam, so these rules do not depend on which DNS provider is configured.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import psutil

from eipkeeper.config import Config
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.references import references
from eipkeeper.durations import format_duration
from eipkeeper.errors import OperationError, SafetyRefusal
from eipkeeper.fleet import FleetView
from eipkeeper.model import TAG_LEAVING_DNS, Address, Instance


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


def require_owner(config: Config, address: Address, verb: str) -> None:
    """S4: an EIP not marked with this owner is never changed."""
    if address.owner != config.owner:
        whose = f"owner {address.owner!r}" if address.owner else "no owner"
        raise SafetyRefusal(
            "S4",
            f"will not {verb} {address.public_ip}: it is marked with {whose}, not {config.owner!r}",
            [address.allocation_id],
        )


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


@dataclass(frozen=True)
class AssociatePreview:
    address: Address
    instance: Instance
    already: bool = False
    lost_ip: str = ""
    """The instance's dynamic public IP, which the association takes away for good."""
    lost_ip_names: list[str] = field(default_factory=list)
    lost_ip_connections: list[str] = field(default_factory=list)

    @property
    def warning(self) -> str:
        if not self.lost_ip:
            return ""
        lines = [
            f"{self.instance.label} has the dynamic public IP {self.lost_ip}; associating "
            f"{self.address.public_ip} takes it away for good (EC2 does not give it back)."
        ]
        if self.lost_ip_names:
            lines.append("  DNS names that point at it: " + ", ".join(self.lost_ip_names))
        if self.lost_ip_connections:
            lines.append("  open connections to it: " + ", ".join(self.lost_ip_connections))
        return "\n".join(lines)


def preview_associate(
    *,
    config: Config,
    view: FleetView,
    address: Address,
    instance: Instance,
    dns: DnsReferences,
) -> AssociatePreview:
    require_owner(config, address, "associate")
    if address.instance_id == instance.instance_id:
        return AssociatePreview(address=address, instance=instance, already=True)
    if address.associated:
        holder = address.instance_id or address.network_interface_id
        raise SafetyRefusal(
            "S6",
            f"{address.public_ip} is associated with {holder}; moving it is "
            f"`eipkeeper move {address.public_ip} --to {instance.instance_id}`",
            [address.allocation_id],
        )
    if instance.state not in ("running", "stopped"):
        raise OperationError(f"{instance.label} is {instance.state}; it cannot take an address")
    displaced = [a for a in view.held_by(instance) if a.allocation_id != address.allocation_id]
    if displaced:
        # EC2 would silently displace the EIP already on the primary private address (FACTS.md).
        raise SafetyRefusal(
            "S6",
            f"{instance.label} already holds {displaced[0].public_ip}, which EC2 would displace",
            [a.allocation_id for a in displaced],
        )
    lost = view.dynamic_ip(instance)
    return AssociatePreview(
        address=address,
        instance=instance,
        lost_ip=lost,
        lost_ip_names=dns.references(lost) if lost else [],
        lost_ip_connections=local_connections(lost) if lost else [],
    )


def check_release(
    *,
    config: Config,
    address: Address,
    dns: DnsReferences,
    now: Callable[[], float] = time.time,
) -> None:
    """Refuse (exit 4) unless ADDRESS may be given back to AWS now: S4, in use, S2, S3."""
    require_owner(config, address, "release")
    if address.associated:
        holder = address.instance_id or address.network_interface_id
        raise SafetyRefusal(
            "S2",
            f"{address.public_ip} is associated with {holder}; disassociate it first",
            [address.allocation_id],
        )
    names = dns.references(address.public_ip)
    if names:
        raise SafetyRefusal("S2", f"managed DNS still refers to {address.public_ip}", names)
    if address.tags.get(TAG_LEAVING_DNS):
        raise SafetyRefusal(
            "S3",
            f"{address.public_ip} is still leaving DNS (its removal is not yet confirmed)",
            [address.allocation_id],
        )
    remaining = quarantine_left(config, address, now=now())
    if remaining > 0:
        raise SafetyRefusal(
            "S3",
            f"{address.public_ip} left DNS at {address.left_dns_at}; quarantine "
            f"({format_duration(config.safety.release_quarantine)}) ends in "
            f"{format_duration(remaining)}",
            [address.allocation_id],
        )


def quarantine_left(config: Config, address: Address, *, now: float) -> float:
    """Seconds until ADDRESS may be released under S3; 0 when it never was in DNS."""
    if not address.left_dns_at:
        return 0.0
    try:
        stamp = datetime.fromisoformat(address.left_dns_at)
        left = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
    except ValueError:
        # A tag we cannot read must not shorten the quarantine: count it from now.
        left = now
    return max(0.0, left + config.safety.release_quarantine - now)


def utc_stamp(when: float) -> str:
    return datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
