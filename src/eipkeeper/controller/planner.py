"""The planner: a pure function from (config, observation) to a Plan. No I/O, no clock.

Elastic services keep every non-burst pool EIP on a healthy instance (claim a free EIP for a
standby, move one off a failed holder) and publish each bound hostname's A record at its EIP,
which changes only when the pool does. Dynamic services publish the public IPs of their
healthy running instances. MX sets list this owner's hostnames beside anyone else's.
"""

from __future__ import annotations

from collections.abc import Iterator

from eipkeeper.config import Config
from eipkeeper.controller.dns_planner import Wanted, dns_units, plan_dynamic, settle, stale
from eipkeeper.controller.elastic_planner import plan_elastic
from eipkeeper.controller.estimate import apply_time_finding
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Action, DnsUnit, Finding, Move, Plan
from eipkeeper.controller.spf_plan import spf_units
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Change
from eipkeeper.model import Address, Instance


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
            acts, want, found = plan_elastic(config, service, members, seen)
        else:
            losing = {a.from_instance for a in actions if isinstance(a, Move)}
            kept = [i for i in members if i.instance_id not in losing]
            acts, want, found = plan_dynamic(config, service, kept, seen)
        actions += acts
        wanted += want
        findings += found
    zone = seen.zone
    managed = 0
    if zone is not None and config.dns is not None:
        wanted += stale(config, zone, wanted)
        units, found = dns_units(config, zone, wanted)
        spf, spf_found = spf_units(config, seen, zone)
        units += spf
        actions += units
        findings += found + spf_found
        actions += settle(config, seen, zone, units)
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


def iter_changes(plan_: Plan) -> Iterator[Change]:
    for action in plan_.actions:
        if isinstance(action, DnsUnit):
            yield from action.changes
