"""Pure: the DNS units that keep each sending service's SPF policy in step with its pool.

The addresses are the pool EIPs bound to the service's hostnames (reserved burst ones
included, so a burst sends from an address already in SPF), minus those leaving DNS: a
retired address leaves SPF in the same round its A record goes, and S2 keeps it from being
released until that removal is served and waited out.
"""

from __future__ import annotations

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import ApplyPhase, DnsUnit, Finding
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Change, Record
from eipkeeper.errors import SafetyRefusal
from eipkeeper.fleet import service_ttl
from eipkeeper.model import TAG_LEAVING_DNS
from eipkeeper.spf import RULE, mechanisms, plan_spf, policy_of


def spf_addresses(config: Config, service: ServiceConfig, seen: Observation) -> list[str]:
    hostnames = set(service.hostnames)
    return [
        a.public_ip
        for a in seen.pool(service, config.owner)
        if a.hostname in hostnames and not a.tags.get(TAG_LEAVING_DNS)
    ]


def spf_units(
    config: Config, seen: Observation, zone: OwnedZone
) -> tuple[list[DnsUnit], list[Finding]]:
    units: list[DnsUnit] = []
    findings: list[Finding] = []
    for service in config.services:
        if service.spf is None or service.addresses != "elastic":
            continue
        addresses = spf_addresses(config, service, seen)
        reason = f"SPF of {service.spf}: one ip4: per address of {service.name}"
        try:
            changes = plan_spf(
                zone,
                owner=config.owner,
                name=service.spf,
                ttl=service_ttl(config, service),
                addresses=addresses,
                reason=reason,
            )
        except SafetyRefusal as refusal:
            if refusal.rule == RULE:
                findings.append(Finding("spf-lookups", "critical", service.spf, refusal.message))
            else:
                findings.append(Finding("foreign-owner", "info", service.spf, refusal.message))
            continue
        if changes:
            # An address enters SPF before it sends (claims wait for it); one leaves after.
            adds = _adds(changes)
            phase: ApplyPhase = "dns-upsert" if adds else "dns-delete"
            units.append(DnsUnit(service.name, changes, reason, phase=phase))
    return units, findings


def _adds(changes: tuple[Change, ...]) -> bool:
    main = [c for c in changes if not c.record.name.startswith("_eipkeeper.")]
    old = {t for c in main if c.old is not None for t in _terms(c.old)}
    new = {t for c in main if c.new is not None for t in _terms(c.new)}
    return bool(new - old)


def _terms(record: Record) -> set[str]:
    return {t for v in record.values if (p := policy_of(v)) is not None for t in p.split()}


def in_spf(config: Config, service: ServiceConfig, seen: Observation, public_ip: str) -> bool:
    """PUBLIC_IP is in the service's published SPF policy (True without `spf`, or when the
    record is someone else's): a claim waits for it, so an address enters SPF before it
    sends."""
    if service.spf is None or seen.zone is None:
        return True
    owned = seen.zone.get(service.spf, "TXT")
    if owned is not None and owned.listed_by(config.owner) is None:
        return True  # someone else's record (S4): it is never written, so nothing waits for it
    record = owned.record if owned is not None else None
    wanted = mechanisms([public_ip])
    for value in record.values if record is not None else ():
        policy = policy_of(value)
        if policy is not None and set(wanted) <= {t.lower() for t in policy.split()}:
            return True
    return False
