"""The planner's DNS side, pure: the RRsets services want (a dynamic service's A records,
each service's MX), the stale ones to remove, and the DNS units and leaving-tag settlements
that bring the zone there (controller/planner.py puts them into the plan).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Action, DnsUnit, Finding, SettleLeaving
from eipkeeper.dns.ownership import OwnedZone, is_marker, plan_rrset
from eipkeeper.dns.records import Change, normalize_name
from eipkeeper.dns.references import references
from eipkeeper.errors import SafetyRefusal
from eipkeeper.fleet import service_ttl
from eipkeeper.model import TAG_DRAIN, TAG_LEAVING_DNS, Instance


@dataclass(frozen=True)
class Wanted:
    """One RRset this owner wants: values () means "none of ours here"."""

    service: str
    name: str
    rdtype: str
    ttl: int
    values: tuple[str, ...]
    reason: str


def mx_wanted(
    config: Config, service: ServiceConfig, published: list[str], backed: set[str]
) -> list[Wanted]:
    mx = service.mx
    if mx is None:
        return []
    listed = [h for h in published if mx.when_unbacked == "keep" or h in backed]
    values = tuple(f"{_preference(service, h)} {h}." for h in listed)
    return [
        Wanted(
            service.name,
            mx.domain,
            "MX",
            service_ttl(config, service),
            values,
            f"MX of {mx.domain}: {', '.join(listed) or 'no host of ' + service.name}",
        )
    ]


def _preference(service: ServiceConfig, hostname: str) -> int:
    """Reserved burst hostnames go after the always-on hosts (`burst.preference`)."""
    assert service.mx is not None
    burst = service.burst
    if burst is None or hostname not in burst.hostnames:
        return service.mx.preference
    if burst.preference is not None:
        return burst.preference
    return min(service.mx.preference + 10, 65535)


def plan_dynamic(
    config: Config, service: ServiceConfig, members: list[Instance], seen: Observation
) -> tuple[list[Action], list[Wanted], list[Finding]]:
    findings: list[Finding] = []
    published = _published(seen, service)
    healthy = sorted(
        {
            i.public_ip
            for i in members
            if i.public_ip
            and (
                seen.healthy(i)
                # Undecided (one failed probe so far) keeps a value it has: judged fairly (S6).
                or (i.public_ip in published and _undecided(seen, i))
            )
        }
    )
    still_held = {i.public_ip for i in members if i.running and i.public_ip}
    wanted: list[Wanted] = []
    for hostname in service.hostnames:
        values = tuple(healthy)
        reason = f"{hostname}: {len(values)} healthy running instance(s) of {service.name}"
        if not values and seen.zone is not None:
            # No healthy instance: keep the values that still point at our running instances
            # rather than answer NXDOMAIN (external-dns deletes here; a blip should not).
            current = seen.zone.get(hostname, "A")
            values = tuple(v for v in (current.record.values if current else ()) if v in still_held)
            reason = f"{hostname}: no healthy instance; keeping those still running"
            findings.append(
                Finding("unhealthy-service", "warning", hostname, f"{service.name}: {reason}")
            )
        wanted.append(
            Wanted(service.name, hostname, "A", service_ttl(config, service), values, reason)
        )
    wanted += mx_wanted(
        config, service, list(service.hostnames) if healthy else [], set(service.hostnames)
    )
    return [], wanted, findings


def _published(seen: Observation, service: ServiceConfig) -> set[str]:
    if seen.zone is None:
        return set()
    values: set[str] = set()
    for hostname in service.hostnames:
        current = seen.zone.get(hostname, "A")
        values |= set(current.record.values) if current else set()
    return values


def _undecided(seen: Observation, instance: Instance) -> bool:
    return (
        instance.running
        and TAG_DRAIN not in instance.tags
        and seen.health.get(instance.instance_id) is None
    )


def stale(config: Config, zone: OwnedZone, wanted: list[Wanted]) -> list[Wanted]:
    """RRsets of ours that no service wants any more (a hostname left the config): remove."""
    keys = {(w.name, w.rdtype) for w in wanted}
    keys |= {(normalize_name(s.spf), "TXT") for s in config.services if s.spf}  # spf_plan's
    stale = []
    for owned in zone.owned_by(config.owner):
        record = owned.record
        if is_marker(record) or record.key in keys:
            continue
        stale.append(Wanted("", record.name, record.type, record.ttl, (), "no service wants it"))
    return stale


def _a_values(change: Change, which: str) -> set[str]:
    record = change.old if which == "old" else change.new
    if record is None or record.type not in ("A", "AAAA"):
        return set()
    return set(record.values)


def _removed(changes: Iterable[Change]) -> tuple[str, ...]:
    gone: set[str] = set()
    for change in changes:
        gone |= _a_values(change, "old") - _a_values(change, "new")
    return tuple(sorted(gone, key=ipaddress.ip_address))


def dns_units(
    config: Config, zone: OwnedZone, wanted: list[Wanted]
) -> tuple[list[DnsUnit], list[Finding]]:
    units: list[DnsUnit] = []
    findings: list[Finding] = []
    for want in wanted:
        try:
            changes = plan_rrset(
                zone,
                owner=config.owner,
                name=want.name,
                rdtype=want.rdtype,
                ttl=want.ttl,
                values=want.values,
                reason=want.reason,
            )
        except SafetyRefusal as refusal:
            findings.append(Finding("foreign-owner", "info", want.name, refusal.message))
            continue
        if not changes:
            continue
        removed = _removed(changes)
        deletes = any(c.kind == "delete" and not is_marker(c.record) for c in changes)
        units.append(
            DnsUnit(
                service=want.service,
                changes=tuple(changes),
                reason=want.reason,
                removed_addresses=removed,
                phase="dns-delete" if removed or deletes else "dns-upsert",
            )
        )
    return units, findings


def settle(
    config: Config, seen: Observation, zone: OwnedZone, units: list[DnsUnit]
) -> list[SettleLeaving]:
    leaving_now = {ip for unit in units for ip in unit.removed_addresses}
    settle = []
    for address in seen.addresses:
        if address.owner != config.owner or not address.tags.get(TAG_LEAVING_DNS):
            continue
        referenced = bool(references(zone.zone, address.public_ip))
        if not referenced:
            why = "marked leaving and no record refers to it any more"
            settle.append(SettleLeaving(address.allocation_id, address.public_ip, True, why))
        elif address.public_ip not in leaving_now:
            why = "marked leaving but in DNS again, and no removal is planned"
            settle.append(SettleLeaving(address.allocation_id, address.public_ip, False, why))
    return settle
