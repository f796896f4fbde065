"""1. Observe: the engine's one read of the world (controller/engine.py's first step).

DescribeAddresses, one paginated DescribeInstances for every service at once, one zone read,
the health of each instance (judged fairly: S6), the load metrics, the reverse names and the
blocklist verdicts; plus what an intent names, so that a command resolves and reports without
more calls. Everything after it is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from eipkeeper.cloud.cloudwatch import CloudWatch
from eipkeeper.cloud.ec2 import LIVE_STATES, Ec2
from eipkeeper.config import Config
from eipkeeper.controller.observation import (
    HealthSource,
    Observation,
    ReputationSource,
    RunningIsHealthy,
    service_filters,
)
from eipkeeper.dns.ownership import Registry
from eipkeeper.errors import NotFoundError
from eipkeeper.fleet import service_of, switch_grace_left
from eipkeeper.model import TAG_ASSOCIATED_AT, Address, Instance
from eipkeeper.reputation import Reputation
from eipkeeper.tagtime import parse_stamp


def observe(
    *,
    config: Config,
    ec2: Ec2,
    registry: Registry | None,
    health: HealthSource,
    now: float,
    cloudwatch: CloudWatch | None = None,
    named: Sequence[str] = (),
    holders: bool = False,
    reputation: ReputationSource | None = None,
    terminated: bool = False,
) -> Observation:
    """One read: DescribeAddresses, one paginated DescribeInstances for every service, one
    zone read, the load metrics; plus the instances NAMED (ids or Name tags) that are not
    among them (TERMINATED: terminated ones too, apart) and the holders of EIPs outside the
    services, so that a command resolves and reports without more calls."""
    addresses = tuple(ec2.addresses())
    found, gone = _instances(config, ec2, addresses, named, holders=holders, terminated=terminated)
    zone = registry.read() if registry is not None else None
    published = (
        {v for r in zone.zone.records if r.type in ("A", "AAAA") for v in r.values}
        if zone is not None
        else set()
    )
    judged = _judged(config, addresses, found, published, now=now)
    return Observation(
        addresses=addresses,
        instances=found,
        gone=gone,
        zone=zone,
        health=dict(health.health(found, judged=judged)),
        health_detail=_details(health),
        probe_ok=_passed(health),
        reverse=_reverse(config, ec2, addresses),
        now=now,
        load=_load(config, cloudwatch, now=now),
        reputation=_reputations(config, addresses, reputation, now=now),
    )


ListingKind = Literal["addresses", "instances"]


def survey(
    *,
    config: Config,
    ec2: Ec2,
    registry: Registry | None,
    health: HealthSource,
    now: float,
    listing: ListingKind,
) -> Observation:
    """`observe` narrowed to what a listing shows, and never waiting: DescribeAddresses and
    one zone read, then for `addresses` the EIPs' holders by id (one DescribeInstances) and,
    where a service keeps `ptr`, every EIP's reverse name (not only the pools'); for
    `instances` the services' instances (one paginated DescribeInstances) and one round of
    health probes. No plan follows, so nothing is judged (S6's probing until decided is for
    a decision) and neither the load nor the blocklists are read."""
    addresses = tuple(ec2.addresses())
    if listing == "addresses":
        held = sorted({a.instance_id for a in addresses if a.instance_id})
        found = tuple(_by_ids(ec2, held)) if held else ()
        verdicts: Mapping[str, bool | None] = {}
        keeps_ptr = any(s.ptr for s in config.services)
        reverse = ec2.reverse_names([a.allocation_id for a in addresses]) if keeps_ptr else {}
    else:
        found, _ = _instances(config, ec2, addresses, (), holders=False, terminated=False)
        verdicts = dict(health.health(found))  # judged: none, so each is probed once
        reverse = {}
    return Observation(
        addresses=addresses,
        instances=found,
        zone=registry.read() if registry is not None else None,
        health=verdicts,
        health_detail=_details(health),
        probe_ok=_passed(health),
        reverse=reverse,
        now=now,
    )


def _instances(
    config: Config,
    ec2: Ec2,
    addresses: Sequence[Address],
    named: Sequence[str],
    *,
    holders: bool,
    terminated: bool,
) -> tuple[tuple[Instance, ...], tuple[Instance, ...]]:
    """The services' instances, those NAMED that are not among them, the EIP holders outside
    them (HOLDERS); and apart, the terminated ones NAMED (TERMINATED: a drain's)."""
    candidates = ec2.instances(filters=service_filters(config)) if config.services else []
    instances = {i.instance_id: i for i in candidates if service_of(config, i) is not None}
    known = {text for i in instances.values() for text in (i.instance_id, i.name)}
    gone: list[Instance] = []
    asked = [text for text in named if text not in known]
    for extra in _named_instances(ec2, asked, terminated=terminated) if asked else []:
        if extra.state == "terminated":
            gone.append(extra)
        else:
            instances.setdefault(extra.instance_id, extra)
    if holders:
        others = sorted({a.instance_id for a in addresses if a.instance_id} - set(instances))
        for holder in _by_ids(ec2, others) if others else []:
            instances.setdefault(holder.instance_id, holder)
    return tuple(instances.values()), tuple(gone)


def _load(config: Config, cloudwatch: CloudWatch | None, *, now: float) -> dict[str, float | None]:
    load: dict[str, float | None] = {}
    for service in config.services:
        metric = service.burst.metric if service.burst else None
        if metric is not None and cloudwatch is not None:
            load[service.name] = cloudwatch.recent(metric, now=now)
    return load


def _reverse(config: Config, ec2: Ec2, addresses: Sequence[Address]) -> Mapping[str, str]:
    # FCrDNS is judged from the PTR EC2 serves for the address (and the zone's A records).
    ptr_pools = {s.name for s in config.services if s.ptr or (s.reputation and s.reputation.fcrdns)}
    return ec2.reverse_names(
        [a.allocation_id for a in addresses if a.service in ptr_pools and a.owner == config.owner]
    )


def _reputations(
    config: Config,
    addresses: Sequence[Address],
    source: ReputationSource | None,
    *,
    now: float,
) -> Mapping[str, Reputation]:
    """Blocklist verdicts of this owner's pool EIPs in services with `reputation`."""
    checked = {s.name for s in config.services if s.reputation is not None}
    pairs = [
        (a.public_ip, a.service)
        for a in addresses
        if a.service in checked and a.owner == config.owner and a.public_ip
    ]
    if not pairs:
        return {}
    if source is None:
        from eipkeeper.dns.dnsbl import ReputationWatch

        source = ReputationWatch(config=config)
    # Unheld addresses are the ones a claim (pool, burst, replace) may take next: judged now.
    unheld = frozenset(a.public_ip for a in addresses if not a.associated)
    return source.reputations(pairs, now=now, fresh=unheld)


def _judged(
    config: Config,
    addresses: Sequence[Address],
    instances: Sequence[Instance],
    published: set[str],
    *,
    now: float,
) -> frozenset[str]:
    """The instances whose failure would change something, so that a one-shot command probes
    them until decided: EIP holders outside their switch grace (inside it they cannot be
    judged failed: S6), and instances whose address DNS names."""
    grace = {s.name: s.check.switch_grace for s in config.services if s.check}
    judged = {i.instance_id for i in instances if i.public_ip in published}
    switching = set()
    for address in addresses:
        if not address.instance_id:
            continue
        at = parse_stamp(address.tags.get(TAG_ASSOCIATED_AT, ""))
        if switch_grace_left(at, grace.get(address.service, 0.0), now=now) > 0:
            switching.add(address.instance_id)
        else:
            judged.add(address.instance_id)
    return frozenset(judged - switching)


def _details(health: HealthSource) -> dict[str, str]:
    return {key: result.detail for key, result in _last_probes(health).items()}


def _passed(health: HealthSource) -> dict[str, bool]:
    return {key: result.ok for key, result in _last_probes(health).items()}


def _last_probes(health: HealthSource) -> dict[str, Any]:
    """Each probed instance's latest ProbeResult (a HealthMonitor's; none for the others)."""
    statuses = getattr(health, "statuses", None)
    if statuses is None:
        return {}
    return {key: state.last for key, state in statuses().items() if state.last is not None}


def _by_ids(ec2: Ec2, ids: Sequence[str], states: Sequence[str] = LIVE_STATES) -> list[Instance]:
    try:
        return ec2.instances(instance_ids=list(ids), states=states)
    except NotFoundError:
        return []  # gone meanwhile: reports name it by id


def _named_instances(ec2: Ec2, texts: Sequence[str], *, terminated: bool) -> list[Instance]:
    states = (*LIVE_STATES, "terminated") if terminated else LIVE_STATES
    ids = [t for t in texts if t.startswith("i-")]
    names = [t for t in texts if not t.startswith("i-")]
    found = _by_ids(ec2, ids, states) if ids else []
    if names:
        found += ec2.instances(filters=[{"Name": "tag:Name", "Values": names}], states=states)
    return found


def health_source(config: Config, **monitor_options: Any) -> HealthSource:
    """The services' checks (probed here, or by `run`'s monitor); the running state where
    no service has a check."""
    if any(service.check for service in config.services):
        from eipkeeper.health.monitor import HealthMonitor

        return HealthMonitor(config=config, **monitor_options)
    return RunningIsHealthy()
