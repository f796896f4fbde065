"""`audit`: what is wrong or wasteful in the zone and the account, as findings.

A pure function of one read (the controller's `Observation`, every live instance of the
account, the cloud's address ranges); the CLI does the reading. Each finding names the record
or address, says why it matters and what to do. The kinds are SPEC.md section 4's, plus
`cloud-ranges-unavailable` (nothing could be judged dangling) and `unjudged-address` (an
IPv6 address in the cloud's ranges: the account's IPv6 addresses are not read, so whether it
is held cannot be told, and guessing "dangling" would make every IPv6 host critical).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from eipkeeper.audit_mail import mail_findings
from eipkeeper.audit_mta_sts import mta_sts_findings
from eipkeeper.audit_reverse import reverse_findings
from eipkeeper.cloud.ranges import CloudRanges, Network, Ranges, Unavailable
from eipkeeper.config import Config
from eipkeeper.controller.observation import Observation
from eipkeeper.dns.inventory import ADDRESS_TYPES, AccountAddresses, mx_target, target_addresses
from eipkeeper.dns.markers import is_marker, marker_name
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Record
from eipkeeper.dns.references import spf_entries
from eipkeeper.fleet import monthly_cost
from eipkeeper.model import Address, Instance

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")
DEFAULT_MAX_TTL = 300
STOPPED_STATES = ("stopping", "stopped")


@dataclass(frozen=True)
class AuditFinding:
    kind: str
    severity: Severity
    subject: str
    """The record (`A www.example.com`) or address (`192.0.2.1 (eipalloc-1)`) concerned."""
    detail: str
    why: str
    fix: str
    monthly_cost: float | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "subject": self.subject,
            "detail": self.detail,
            "why": self.why,
            "fix": self.fix,
            "monthly_cost": self.monthly_cost,
        }


@dataclass(frozen=True)
class Scene:
    """What the audit looks at."""

    observation: Observation
    instances: tuple[Instance, ...]
    """Every live instance of the account, not only the services': any of them may hold an
    address a record points at, or an EIP."""
    ranges: Ranges
    policies: Mapping[str, str] = field(default_factory=dict)
    """Service name -> its MTA-STS policy file's text (`mta_sts`), read by the CLI."""


@dataclass(frozen=True)
class Report:
    findings: tuple[AuditFinding, ...]
    ranges: str
    """Where the cloud's ranges came from, or why there are none."""
    zone: str = ""
    """The zone audited; empty without [dns] (then no record was looked at)."""

    @property
    def idle_monthly_cost(self) -> float:
        return round(
            sum(f.monthly_cost or 0.0 for f in self.findings if f.kind == "idle-address"), 2
        )

    def reaches(self, level: Severity) -> bool:
        floor = SEVERITIES.index(level)
        return any(SEVERITIES.index(f.severity) >= floor for f in self.findings)

    @property
    def summary(self) -> str:
        counts = [
            f"{sum(f.severity == s for f in self.findings)} {s}" for s in reversed(SEVERITIES)
        ]
        idle = sum(f.kind == "idle-address" for f in self.findings)
        return (
            f"{_plural(len(self.findings), 'finding')} ({', '.join(counts)}); "
            f"{_plural(idle, 'idle address')} costing ${self.idle_monthly_cost:.2f} a month; "
            f"zone: {self.zone or 'none ([dns] is not configured)'}; cloud ranges: {self.ranges}"
        )


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "es" if noun.endswith("s") else "s")


def audit(config: Config, scene: Scene) -> Report:
    seen = scene.observation
    account = AccountAddresses.of(seen.addresses, scene.instances)
    findings = [*_idle(config, seen.addresses), *_on_stopped(config, seen.addresses, scene)]
    findings += _unbacked_mx(config, seen)
    findings += [
        AuditFinding(f.kind, "warning", f.subject, f.detail, f.why, f.fix)
        for f in reverse_findings(config, seen)
    ]
    findings += [AuditFinding(*f) for f in mail_findings(config, seen)]
    findings += [
        AuditFinding(kind, "critical", subject, detail, why, fix)
        for kind, subject, detail, why, fix in mta_sts_findings(config, seen, scene.policies)
    ]
    if seen.zone is not None:
        findings += _zone_findings(config, seen.zone, account, scene.ranges)
    if isinstance(scene.ranges, Unavailable):
        findings.append(_no_ranges(scene.ranges))
    source = scene.ranges.source if isinstance(scene.ranges, CloudRanges) else "unavailable"
    order = sorted(findings, key=lambda f: (-SEVERITIES.index(f.severity), f.kind, f.subject))
    zone = seen.zone.zone.name if seen.zone is not None else ""
    return Report(findings=tuple(order), ranges=source, zone=zone)


def _no_ranges(unavailable: Unavailable) -> AuditFinding:
    return AuditFinding(
        "cloud-ranges-unavailable",
        "info",
        "ip-ranges.json",
        unavailable.reason,
        "without the cloud's ranges no address can be told dangling from on-premises, so "
        "none was judged",
        "name a local copy of ip-ranges.json in [audit] cloud_ranges",
    )


def _zone_findings(
    config: Config, zone: OwnedZone, account: AccountAddresses, ranges: Ranges
) -> list[AuditFinding]:
    max_ttl = config.dns.max_ttl if config.dns is not None else DEFAULT_MAX_TTL
    found = _foreign(config, zone)
    for record in zone.zone.records:
        if is_marker(record):
            continue
        if record.type in ADDRESS_TYPES:
            found += _long_ttl(record, account, max_ttl)
            if isinstance(ranges, CloudRanges):
                found += _address_values(record, account, ranges)
        elif record.type == "MX":
            found += _mx_on_dynamic(record, zone, account)
        if isinstance(ranges, CloudRanges):
            found += _spf(record, account, ranges)
    return found


# -- addresses in DNS ----------------------------------------------------------------------------


def _label(record: Record) -> str:
    return f"{record.type} {record.name}"


def _address_values(
    record: Record, account: AccountAddresses, ranges: CloudRanges
) -> Iterator[AuditFinding]:
    for value in record.values:
        if account.holds(value):
            continue
        if not ranges.contains(value):
            yield _external(record, value, ranges)
        elif ipaddress.ip_address(value).version == 6:
            yield _unjudged(record, value)
        else:
            yield AuditFinding(
                "dangling-record",
                "critical",
                _label(record),
                f"{record.name} points at {value}, inside the cloud's ranges, which this "
                "account does not hold",
                "the address was given back to the cloud (or never held): another customer "
                "can be handed it and then receives this name's traffic and mail",
                f"remove {value} from {record.name} now (or point it at an address the "
                "account holds); an EIP released by mistake can sometimes be recovered: "
                f"`aws ec2 allocate-address --address {value}`",
            )


def _external(record: Record, value: str, ranges: CloudRanges) -> AuditFinding:
    return AuditFinding(
        "external-address",
        "info",
        _label(record),
        f"{record.name} refers to {value}, outside the cloud's ranges ({ranges.source})",
        "not an address the cloud hands out, so it cannot dangle here; not judged",
        "nothing, if it is yours (on-premises, another provider); check it otherwise",
    )


def _unjudged(record: Record, value: str) -> AuditFinding:
    return AuditFinding(
        "unjudged-address",
        "info",
        _label(record),
        f"{record.name} refers to {value}, inside the cloud's IPv6 ranges",
        "eipkeeper does not read the account's IPv6 addresses, so it cannot tell whether "
        "the account still holds this one",
        f"check that an instance of the account has {value} "
        "(aws ec2 describe-network-interfaces --filters Name=ipv6-addresses.ipv6-address,"
        f"Values={value})",
    )


def _spf(record: Record, account: AccountAddresses, ranges: CloudRanges) -> Iterator[AuditFinding]:
    for mechanism, network in spf_entries(record):
        in_cloud = ranges.covered(network)
        if not in_cloud:
            yield _external(record, mechanism, ranges)
        elif network.version == 6:
            yield _unjudged(record, mechanism)
        elif (strangers := in_cloud - _held_in(network, account, ranges)) > 0:
            yield AuditFinding(
                "spf-address-not-held",
                "critical",
                _label(record),
                f"the SPF policy of {record.name} allows {mechanism}, which covers "
                f"{_count(strangers)} in the cloud's ranges that this account does not hold",
                "whoever the cloud hands such an address can send mail that passes SPF as "
                f"{record.name}",
                f"remove {mechanism} from the policy, or narrow it to addresses the account "
                "holds (its EIPs)",
            )


def _held_in(network: Network, account: AccountAddresses, ranges: CloudRanges) -> int:
    held = (*account.eips, *account.dynamic)
    return sum(
        1
        for address in held
        if (ip := ipaddress.ip_address(address)).version == network.version
        and ip in network
        and ranges.contains(address)
    )


def _count(n: int) -> str:
    return "1 address" if n == 1 else f"{n} addresses"


def _mx_on_dynamic(
    record: Record, zone: OwnedZone, account: AccountAddresses
) -> Iterator[AuditFinding]:
    for value in record.values:
        host = mx_target(value)
        dynamic = [a for a in target_addresses(zone.zone, host) if a in account.dynamic]
        if not dynamic:
            continue
        holders = ", ".join(f"{a} ({account.dynamic[a].label})" for a in dynamic)
        yield AuditFinding(
            "mx-on-dynamic-ip",
            "warning",
            _label(record),
            f"MX {value} of {record.name}: {host} has the dynamic public IP {holders}",
            "a dynamic IP goes back to the cloud when the instance stops or takes an EIP; "
            "senders' caches keep the old address and their mail may reach a stranger",
            f"give {host} an Elastic IP (an elastic service), or take it out of the MX set",
        )


def _long_ttl(record: Record, account: AccountAddresses, max_ttl: int) -> Iterator[AuditFinding]:
    dynamic = [v for v in record.values if v in account.dynamic]
    if not dynamic or record.ttl <= max_ttl:
        return
    yield AuditFinding(
        "long-ttl-on-dynamic-ip",
        "warning",
        _label(record),
        f"{record.name} (TTL {record.ttl} s) points at the dynamic public IP "
        + ", ".join(f"{a} of {account.dynamic[a].label}" for a in dynamic),
        "resolvers keep the address for the whole TTL after the instance gives it up, so "
        "a removal takes that long to be safe",
        f"lower the TTL to {max_ttl} s or less (dns.max_ttl), or use an Elastic IP",
    )


# -- ownership -----------------------------------------------------------------------------------


def _wanted(config: Config) -> list[tuple[str, str]]:
    keys = [(h, "A") for s in config.services for h in s.hostnames]
    keys += [(s.mx.domain, "MX") for s in config.services if s.mx is not None]
    return sorted(set(keys))


def _foreign(config: Config, zone: OwnedZone) -> list[AuditFinding]:
    found = []
    for name, rdtype in _wanted(config):
        owned = zone.get(name, rdtype)
        if owned is None or (
            not owned.foreign_marker and any(c.who == config.owner for c in owned.claims)
        ):
            continue
        others = sorted({c.who for c in owned.claims})
        whose = (
            "an unreadable ownership record"
            if owned.foreign_marker
            else f"owner {', '.join(others)}"
            if others
            else "nobody (no ownership record)"
        )
        found.append(
            AuditFinding(
                "foreign-owner",
                "info",
                f"{rdtype} {name}",
                f"the config wants {rdtype} {name}, which is marked by {whose}",
                f"eipkeeper never changes a record that is not marked with owner "
                f"{config.owner} (S4), so this name is not kept in step with the fleet",
                f"if the record is yours, mark it: TXT {marker_name(name, rdtype)} "
                f'"owner={config.owner}"; otherwise take {name} out of the config',
            )
        )
    return found


# -- the account's addresses ---------------------------------------------------------------------


def _address_label(address: Address) -> str:
    return f"{address.public_ip} ({address.allocation_id})"


def _idle(config: Config, addresses: tuple[Address, ...]) -> Iterator[AuditFinding]:
    cost = monthly_cost(config.cost.ipv4_hourly)
    reserved = {h for s in config.services for h in s.burst_hostnames}
    for address in addresses:
        if address.associated:
            continue
        burst = address.hostname in reserved
        yield AuditFinding(
            "idle-address",
            "info" if burst else "warning",
            _address_label(address),
            f"{address.public_ip} is on no instance"
            + (f" (reserved for bursts as {address.hostname})" if burst else ""),
            f"an Elastic IP costs ${config.cost.ipv4_hourly}/hour in use or idle"
            + ("; a burst reserve is idle by design" if burst else ""),
            f"nothing while {address.hostname} is meant to have burst capacity; otherwise "
            "take it out of burst.hostnames"
            if burst
            else "associate it with an instance that needs it, or take it out of DNS and "
            f"release it (`eipkeeper release {address.public_ip}`)",
            monthly_cost=cost,
        )


def _on_stopped(
    config: Config, addresses: tuple[Address, ...], scene: Scene
) -> Iterator[AuditFinding]:
    states = {i.instance_id: i for i in scene.instances}
    for address in addresses:
        holder = states.get(address.instance_id) if address.instance_id else None
        if holder is None or holder.state not in STOPPED_STATES:
            continue
        yield AuditFinding(
            "address-on-stopped-instance",
            "warning",
            _address_label(address),
            f"{address.public_ip} is on {holder.label}, which is {holder.state}",
            "nothing answers on it while it keeps costing "
            f"${config.cost.ipv4_hourly}/hour; a service behind it is down",
            f"start {holder.instance_id}, or move the address to a running instance "
            f"(`eipkeeper move {address.public_ip} --to INSTANCE`)",
            monthly_cost=monthly_cost(config.cost.ipv4_hourly),
        )


def _unbacked_mx(config: Config, seen: Observation) -> Iterator[AuditFinding]:
    for service in config.services:
        if service.addresses != "elastic" or service.mx is None:
            continue
        for hostname in service.hostnames:
            if hostname in service.burst_hostnames:
                continue  # a burst reserve is unbacked by design
            bound = [a for a in seen.addresses if a.hostname == hostname]
            holder = seen.instance(bound[0].instance_id) if bound and bound[0].instance_id else None
            if holder is not None and seen.healthy(holder):
                continue
            yield AuditFinding(
                "unbacked-mx",
                "warning",
                hostname,
                f"MX host {hostname} of {service.name}: {_why_unbacked(bound, holder)}",
                "senders that try this MX host get no answer and fall back to the others (or "
                "queue the mail): capacity is lost without anyone noticing",
                "run `eipkeeper apply` (or keep `eipkeeper run` going) to move the address to a "
                "healthy standby, or start a healthy instance of the service",
            )


def _why_unbacked(bound: list[Address], holder: Instance | None) -> str:
    if not bound:
        return "no Elastic IP is bound to it"
    address = bound[0]
    if not address.instance_id:
        return f"its Elastic IP {address.public_ip} is on no instance"
    if holder is None:
        return f"its Elastic IP {address.public_ip} is on {address.instance_id}, not in the service"
    if not holder.running:
        return f"its Elastic IP {address.public_ip} is on {holder.label}, which is {holder.state}"
    return f"its Elastic IP {address.public_ip} is on {holder.label}, which failed its check"
