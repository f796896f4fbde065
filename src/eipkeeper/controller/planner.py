"""The planner: a pure function from (config, observation) to a Plan. No I/O, no clock.

Elastic services keep every non-burst pool EIP on a healthy instance (claim a free EIP for a
standby, move one off a failed holder) and publish each bound hostname's A record at its EIP,
which changes only when the pool does. Dynamic services publish the public IPs of their
healthy running instances. MX sets list this owner's hostnames beside anyone else's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.bursts import plan_bursts
from eipkeeper.controller.estimate import apply_time_finding
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import (
    Action,
    Bind,
    Claim,
    DnsUnit,
    Finding,
    Launch,
    Move,
    Plan,
    SetReverse,
    SettleLeaving,
)
from eipkeeper.controller.spf_plan import in_spf, spf_units
from eipkeeper.dns.ownership import OwnedZone, is_marker, plan_rrset
from eipkeeper.dns.records import Change, normalize_name
from eipkeeper.dns.references import references
from eipkeeper.errors import SafetyRefusal
from eipkeeper.fleet import service_ttl, standby_candidates
from eipkeeper.model import (
    TAG_DRAIN,
    TAG_LEAVING_DNS,
    TAG_REPLACES,
    Address,
    Instance,
)
from eipkeeper.reputation import Reputation


@dataclass(frozen=True)
class Wanted:
    """One RRset this owner wants: values () means "none of ours here"."""

    service: str
    name: str
    rdtype: str
    ttl: int
    values: tuple[str, ...]
    reason: str


def plan(config: Config, seen: Observation) -> Plan:
    actions: list[Action] = []
    findings: list[Finding] = []
    wanted: list[Wanted] = []
    # Elastic services first: an EIP they take off an instance of a dynamic service changes
    # that instance's address, which the dynamic service must then not publish.
    ordered = sorted(config.services, key=lambda s: s.addresses != "elastic")
    for service in ordered:
        members = seen.members(service)
        if service.addresses == "elastic":
            acts, want, found = _elastic(config, service, members, seen)
        else:
            losing = {a.from_instance for a in actions if isinstance(a, Move)}
            kept = [i for i in members if i.instance_id not in losing]
            acts, want, found = _dynamic(config, service, kept, seen)
        actions += acts
        wanted += want
        findings += found
    zone = seen.zone
    managed = 0
    if zone is not None and config.dns is not None:
        wanted += _stale(config, zone, wanted)
        units, found = _dns_units(config, zone, wanted)
        spf, spf_found = spf_units(config, seen, zone)
        units += spf
        actions += units
        findings += found + spf_found
        actions += _settle(config, seen, zone, units)
        managed = zone.managed_count(config.owner)
        findings += _elsewhere(config, zone)
    held = _held_by_grace(config, seen)
    return Plan(
        actions=tuple(actions),
        findings=(*findings, *_switching(held), *apply_time_finding(actions)),
        managed_records=managed,
        revisit_in=min((left for _, _, left in held), default=None),
    )


def _elsewhere(config: Config, zone: OwnedZone) -> list[Finding]:
    """Records this owner wrote from another account or region are foreign here (S10): the
    plan leaves them alone, and says so once."""
    found = zone.elsewhere(config.owner)
    if not found:
        return []
    places = sorted(
        {c.place.label for o in found for c in o.claims if c.owner == config.owner and c.elsewhere}
    )
    names = ", ".join(f"{o.record.type} {o.record.name}" for o in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return [
        Finding(
            "foreign-place",
            "warning",
            config.owner,
            f"{len(found)} records of owner {config.owner} were written from "
            f"{', '.join(places)}, not {zone.here.label}: foreign here, left alone (S10): "
            f"{names}{more}",
        )
    ]


def _held_by_grace(config: Config, seen: Observation) -> list[tuple[Address, Instance, float]]:
    """Holders not passing their check within their switch grace, with the seconds left."""
    return [
        (address, holder, left)
        for service in config.services
        if service.addresses == "elastic" and service.check is not None
        for address in seen.addresses
        if address.service == service.name and address.instance_id
        if (holder := seen.instance(address.instance_id)) is not None
        if (left := seen.unproven_in_grace(holder, service.check.switch_grace)) > 0
    ]


def _switching(held: list[tuple[Address, Instance, float]]) -> list[Finding]:
    return [
        Finding(
            "switching",
            "info",
            address.hostname or address.public_ip,
            f"{holder.label} does not pass its check, but {address.public_ip} was associated "
            f"with it within its switch grace: judged in {left:.0f}s (S6)",
        )
        for address, holder, left in held
    ]


# -- elastic services ---------------------------------------------------------------------------


def _elastic(
    config: Config, service: ServiceConfig, members: list[Instance], seen: Observation
) -> tuple[list[Action], list[Wanted], list[Finding]]:
    """Each hostname of an elastic service backed by a healthy member holding its EIP, else a
    claim, a failover move, a replacement launch or a finding; then what DNS should say."""
    pool = [a for a in seen.addresses if a.service == service.name]
    findings = [_foreign(config, service, a) for a in pool if a.owner != config.owner]
    actions: list[Action] = []
    bound = _bind(service, [a for a in pool if a.owner == config.owner], actions)
    hosts = _Hostnames(config, service, members, seen)
    backed: set[str] = set()
    for hostname in service.hostnames:
        address = bound.get(hostname)
        if address is None:
            continue
        acts, found, backs = hosts.back(hostname, address)
        actions += acts
        findings += found
        if backs:
            backed.add(hostname)
    wanted = [_wanted_a(config, service, hostname, bound) for hostname in service.hostnames]
    wanted += _mx(config, service, [h for h in service.hostnames if h in bound], backed)
    actions += _reverse(service, bound, seen)
    scaled, notes = plan_bursts(config, service, members, seen, bound)
    return actions + scaled, wanted, findings + notes


def _foreign(config: Config, service: ServiceConfig, foreign: Address) -> Finding:
    return Finding(
        "foreign-owner",
        "info",
        foreign.public_ip,
        f"pool {service.name} lists {foreign.public_ip}, which is not marked with owner "
        f"{config.owner}; it is left alone (S4)",
    )


def _wanted_a(
    config: Config, service: ServiceConfig, hostname: str, bound: dict[str, Address]
) -> Wanted:
    address = bound.get(hostname)
    return Wanted(
        service.name,
        hostname,
        "A",
        service_ttl(config, service),
        (address.public_ip,) if address is not None else (),
        f"{hostname} is bound to {address.public_ip}"
        if address is not None
        else f"{hostname} has no Elastic IP in pool {service.name}",
    )


class _Hostnames:
    """Who backs each hostname of an elastic service: the healthy standbys (burst and not)
    are handed out in order, one per hostname that needs one."""

    def __init__(
        self, config: Config, service: ServiceConfig, members: list[Instance], seen: Observation
    ) -> None:
        self.config, self.service, self.members, self.seen = config, service, members, seen
        named = seen.published.__contains__
        self.standbys, self.burst_standbys = (
            [
                i
                for i in standby_candidates(members, seen.addresses, burst=burst, named=named)
                if seen.healthy(i)
            ]
            for burst in (False, True)
        )
        self.member_ids = {i.instance_id for i in members}  # by id: a list lookup was O(n^2)

    def back(self, hostname: str, address: Address) -> tuple[list[Action], list[Finding], bool]:
        """What HOSTNAME (bound to ADDRESS) needs: actions, findings, and whether it is
        backed after them."""
        seen, service = self.seen, self.service
        burst = hostname in service.burst_hostnames
        holder = seen.instance(address.instance_id) if address.instance_id else None
        backs = holder is not None and _backs(seen, service, holder, self.member_ids)
        if backs and holder is not None and seen.is_burst(holder) == burst:
            return [], [], True
        if not address.associated and (held := _held_back(self.config, service, address, seen)):
            return [], [held], False
        if burst:
            return self._reserved(hostname, address)
        if not self.standbys:
            launch = _replacement(self.config, service, hostname, address, holder, self.members)
            found = [_unbacked(service, hostname, address, holder)]
            return ([launch] if launch is not None else []), found, False
        if address.associated and address.instance_id and not service.failover:
            self.standbys.pop(0)  # spoken for, as before: the next hostname takes the next
            return [], [_unbacked(service, hostname, address, holder)], False
        return [self._take(hostname, address, holder, self.standbys.pop(0))], [], True

    def _reserved(
        self, hostname: str, address: Address
    ) -> tuple[list[Action], list[Finding], bool]:
        """Reserved for bursts: claimed only by a healthy burst instance holding none."""
        if address.associated or not self.burst_standbys:
            return [], [], False
        target = self.burst_standbys.pop(0)
        claim = Claim(
            service=self.service.name,
            allocation_id=address.allocation_id,
            public_ip=address.public_ip,
            instance_id=target.instance_id,
            reason=f"{hostname}: reserved for bursts; {target.label} is a healthy burst "
            "instance holding none",
        )
        return [claim], [], True

    def _take(
        self, hostname: str, address: Address, holder: Instance | None, target: Instance
    ) -> Action:
        """TARGET takes ADDRESS: a failover move off its holder, or a claim of a free one."""
        why = _why_unbacked(address, holder)
        if address.associated and address.instance_id:
            return Move(
                service=self.service.name,
                allocation_id=address.allocation_id,
                public_ip=address.public_ip,
                from_instance=address.instance_id,
                instance_id=target.instance_id,
                reason=f"{hostname}: {why}; {target.label} is a healthy standby",
            )
        return Claim(
            service=self.service.name,
            allocation_id=address.allocation_id,
            public_ip=address.public_ip,
            instance_id=target.instance_id,
            reason=f"{hostname}: {why}; {target.label} is healthy and holds none",
        )


def _held_back(
    config: Config, service: ServiceConfig, address: Address, seen: Observation
) -> Finding | None:
    """Why a free pool address may not be claimed yet: listed (or no verdict), or not yet in
    the service's SPF policy (it enters SPF before it sends; the next round claims it)."""
    unfit = seen.unfit(config, address)
    if unfit is not None:
        return _not_claimed(service, address, unfit)
    if not in_spf(config, service, seen, address.public_ip):
        note = f"{address.public_ip} enters the SPF policy of {service.spf} before it sends"
        return Finding("spf-pending", "info", address.public_ip, note)
    return None


def _not_claimed(service: ServiceConfig, address: Address, verdict: Reputation) -> Finding:
    """A pool address that may not carry mail: listed, or a zone gave no verdict."""
    kind = "dnsbl-listed" if verdict.listed else "dnsbl-unavailable"
    sends = verdict.listed and service.spf is not None
    severity: Literal["warning", "critical"] = "critical" if sends else "warning"
    return Finding(
        kind,
        severity,
        address.public_ip,
        f"{address.hostname or address.public_ip} is not claimed for {service.name}: "
        f"{verdict.why_not()}",
    )


def _reverse(service: ServiceConfig, bound: dict[str, Address], seen: Observation) -> list[Action]:
    """`ptr = true`: each bound EIP's reverse DNS is its hostname (mail servers are judged by
    it). EC2 checks the forward record first, so this comes after the DNS upserts."""
    if not service.ptr:
        return []
    return [
        SetReverse(
            service=service.name,
            allocation_id=address.allocation_id,
            public_ip=address.public_ip,
            hostname=hostname,
            reason=f"its reverse DNS is {seen.reverse.get(address.allocation_id) or 'unset'}",
        )
        for hostname, address in sorted(bound.items())
        if seen.reverse.get(address.allocation_id, "") != hostname
    ]


def _backs(
    seen: Observation, service: ServiceConfig, holder: Instance | None, member_ids: set[str]
) -> bool:
    """HOLDER backs its EIP: a member of the service, not draining, and not judged failed
    (fail_after failed probes in a row, outside the switch grace: S6). An undecided holder
    keeps its address: one failed probe, or a switch still in flight, moves nothing."""
    if holder is None or holder.instance_id not in member_ids or TAG_DRAIN in holder.tags:
        return False
    grace = service.check.switch_grace if service.check else 0.0
    return not seen.failed(holder, grace)


def _bind(service: ServiceConfig, pool: list[Address], actions: list[Action]) -> dict[str, Address]:
    """Hostname -> EIP; untagged pool members take the free hostnames in config order."""
    bound: dict[str, Address] = {}
    loose: list[Address] = []
    hostnames = set(service.hostnames)
    for address in sorted(pool, key=lambda a: a.allocation_id):
        if address.hostname in hostnames and address.hostname not in bound:
            bound[address.hostname] = address
        elif not address.hostname:
            loose.append(address)
    free = [h for h in service.hostnames if h not in bound]
    for hostname, address in zip(free, loose, strict=False):
        actions.append(
            Bind(
                service=service.name,
                allocation_id=address.allocation_id,
                public_ip=address.public_ip,
                hostname=hostname,
                reason=f"pool member without a hostname; {hostname} is free",
            )
        )
        bound[hostname] = address
    return bound


def _replacement(
    config: Config,
    service: ServiceConfig,
    hostname: str,
    address: Address,
    holder: Instance | None,
    members: list[Instance],
) -> Launch | None:
    """A replacement for HOSTNAME's failed holder, unless one is already on its way."""
    if not service.replace_failed or service.burst is None:
        return None
    if any(
        i.tags.get(TAG_REPLACES) == hostname and i.state in ("pending", "running") for i in members
    ):
        return None  # launched in an earlier round: it takes the EIP once its check passes
    failed = holder.instance_id if holder else address.instance_id or "none"
    return Launch(
        service=service.name,
        launch_template=service.burst.launch_template,
        hostname=hostname,
        token=f"{config.owner}-{hostname}-{failed}"[:64],
        reason=f"{hostname}: {_why_unbacked(address, holder)}; no standby is free",
    )


def _why_unbacked(address: Address, holder: Instance | None) -> str:
    if not address.associated:
        return f"{address.public_ip} is on no instance"
    if holder is None:
        return (
            f"{address.public_ip} is on {address.instance_id}, which is gone or not in the service"
        )
    if not holder.running:
        return f"its holder {holder.label} is {holder.state}"
    if TAG_DRAIN in holder.tags:
        return f"its holder {holder.label} is draining"
    return f"its holder {holder.label} failed its check"


def _unbacked(
    service: ServiceConfig, hostname: str, address: Address, holder: Instance | None
) -> Finding:
    kind = "unbacked-mx" if service.mx else "unbacked-address"
    return Finding(
        kind,
        "warning",
        hostname,
        f"{hostname} ({address.public_ip}) is unbacked: {_why_unbacked(address, holder)}, "
        "and no healthy standby is free",
    )


def _mx(
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


# -- dynamic services ---------------------------------------------------------------------------


def _dynamic(
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
    wanted += _mx(
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


# -- DNS ----------------------------------------------------------------------------------------


def _stale(config: Config, zone: OwnedZone, wanted: list[Wanted]) -> list[Wanted]:
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


def _dns_units(
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


def _settle(
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


def iter_changes(plan_: Plan) -> Iterator[Change]:
    for action in plan_.actions:
        if isinstance(action, DnsUnit):
            yield from action.changes
