"""What a drain does for an instance (its route, its standby, its DNS changes): pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.dns.ownership import OwnedZone, is_marker, plan_rrset
from eipkeeper.dns.provider import Unit
from eipkeeper.dns.references import references
from eipkeeper.drain.phases import Route
from eipkeeper.errors import SafetyRefusal
from eipkeeper.fleet import service_ttl
from eipkeeper.logs import get_logger
from eipkeeper.model import Address, Instance

log = get_logger(__name__)

# -- what to do: pure -----------------------------------------------------------------------------


def choose_route(
    *, service: ServiceConfig, instance: Instance, eip: Address | None, standby: bool, seen: bool
) -> Route:
    """SEEN: some record of the zone refers to the instance's own public IP."""
    if service.addresses == "dynamic":
        # Even when no record refers to it now, `run` may have removed it a moment ago: the
        # confirm and the wait still stand between that removal and the address going away.
        return "dns" if instance.public_ip else "direct"
    if eip is None:
        return "dns" if seen else "direct"
    if standby:
        return "move"
    withdraw = service.mx is not None and service.mx.when_unbacked == "withdraw"
    return "dns" if withdraw else "direct"


@dataclass(frozen=True)
class Withdrawal:
    """The DNS changes that take an instance out, and how long caches may remember it."""

    units: tuple[Unit, ...]
    ttl: int
    changed: tuple[str, ...] = ()


def withdraw_address(
    zone: OwnedZone, *, config: Config, service: ServiceConfig, ip: str, others: Sequence[str]
) -> Withdrawal:
    """Units that take IP out of every record that refers to it. A hostname of the service left
    with no value gets OTHERS (healthy instances' IPs) rather than go dark; with none, it goes.
    Raises SafetyRefusal (S4) naming every record that refers to IP and is not ours to change."""
    units: list[Unit] = []
    foreign: list[str] = []
    emptied: list[str] = []
    ttl = service_ttl(config, service)
    for ref in references(zone.zone, ip):
        record = ref.record
        if record.type == "MX":
            continue  # through its target's A record, which is a reference of its own
        owned = zone.get(record.name, record.type)
        if record.type not in ("A", "AAAA") or owned is None or owned.owner_of(ip) != config.owner:
            foreign.append(str(ref))
            continue
        keep = [v for v in owned.managed_by(config.owner) if v != ip]
        if not keep and record.name in service.hostnames:
            keep = list(others)
        try:
            unit = plan_rrset(
                zone,
                owner=config.owner,
                name=record.name,
                rdtype=record.type,
                ttl=record.ttl,
                values=keep,
                reason=f"drain: {ip} leaves",
            )
        except SafetyRefusal:
            foreign.append(str(ref))
            continue
        units.append(unit)
        ttl = max(ttl, record.ttl)
        if not keep:
            emptied.append(record.name)
    if foreign:
        raise SafetyRefusal(
            "S4", f"records not managed by {config.owner} refer to {ip}; drain stops", foreign
        )
    for hostname in emptied:
        # A hostname without an address no longer belongs in the MX set (as the planner does).
        mx = withdraw_from_mx(zone, config=config, service=service, hostname=hostname)
        units += mx.units
        ttl = max(ttl, mx.ttl)
    return Withdrawal(tuple(u for u in units if u), ttl, _described(units))


def withdraw_from_mx(
    zone: OwnedZone, *, config: Config, service: ServiceConfig, hostname: str
) -> Withdrawal:
    """The unit that takes HOSTNAME out of this owner's values of the service's MX set."""
    ttl = service_ttl(config, service)
    current = zone.get(service.mx.domain, "MX") if service.mx else None
    if service.mx is None or current is None:
        return Withdrawal((), ttl)
    keep = [v for v in current.managed_by(config.owner) if v.split()[-1].rstrip(".") != hostname]
    unit = plan_rrset(
        zone,
        owner=config.owner,
        name=service.mx.domain,
        rdtype="MX",
        ttl=current.record.ttl,
        values=keep,
        reason=f"drain: {hostname} leaves",
    )
    units = (unit,) if unit else ()
    return Withdrawal(units, max(ttl, current.record.ttl), _described(units))


def _described(units: Sequence[Unit]) -> tuple[str, ...]:
    """The changes in words, ownership records left out (as a plan shows them)."""
    return tuple(c.text() for unit in units for c in unit if not is_marker(c.record))
