"""What one round sees: the account's EIPs, the services' instances, the zone, the health.

`observe` is the only function here that does I/O: one DescribeAddresses, one paginated
DescribeInstances for every service at once, one zone read. Everything after it is pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from eipkeeper.cloud.cloudwatch import CloudWatch
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import Config
from eipkeeper.dns.ownership import OwnedZone, Registry
from eipkeeper.fleet import service_of
from eipkeeper.model import TAG_BURST, TAG_DRAIN, Address, Instance


class HealthSource(Protocol):
    """Health results by instance id: True when the instance's check passes."""

    def health(self, instances: Sequence[Instance]) -> Mapping[str, bool]: ...


class RunningIsHealthy:
    """The seam before checks run: an instance counts as healthy when it is running."""

    def health(self, instances: Sequence[Instance]) -> Mapping[str, bool]:
        return {i.instance_id: i.running for i in instances}


@dataclass(frozen=True)
class Observation:
    addresses: tuple[Address, ...]
    instances: tuple[Instance, ...]
    """Live (not terminated) instances of the configured services."""
    zone: OwnedZone | None
    health: Mapping[str, bool] = field(default_factory=dict)
    now: float = 0.0
    load: Mapping[str, float | None] = field(default_factory=dict)
    """Each burst service's recent load metric (None: not reported)."""

    @cached_property
    def _by_id(self) -> dict[str, Instance]:
        return {i.instance_id: i for i in self.instances}

    def instance(self, instance_id: str) -> Instance | None:
        return self._by_id.get(instance_id)

    def healthy(self, instance: Instance) -> bool:
        """Running, passing its check, and not draining (a draining instance never returns)."""
        return (
            instance.running
            and self.health.get(instance.instance_id, False)
            and TAG_DRAIN not in instance.tags
        )

    @staticmethod
    def is_burst(instance: Instance) -> bool:
        return TAG_BURST in instance.tags

    def held_addresses(self, config: Config) -> frozenset[str]:
        """What S1 allows a managed A record to hold: the account's EIPs and the public IPs of
        running instances of dynamic services."""
        held = {a.public_ip for a in self.addresses}
        for instance in self.instances:
            service = service_of(config, instance)
            dynamic = service is not None and service.addresses == "dynamic"
            if dynamic and instance.running and instance.public_ip:
                held.add(instance.public_ip)
        return frozenset(held)


def service_filters(config: Config) -> list[dict[str, object]]:
    """One server-side filter that every service's instances pass: their select tag keys."""
    keys = sorted({key for s in config.services for key in s.select.tags})
    return [{"Name": "tag-key", "Values": keys}] if keys else []


def observe(
    *,
    config: Config,
    ec2: Ec2,
    registry: Registry | None,
    health: HealthSource,
    now: float,
    cloudwatch: CloudWatch | None = None,
) -> Observation:
    addresses = tuple(ec2.addresses())
    candidates = ec2.instances(filters=service_filters(config)) if config.services else []
    instances = tuple(i for i in candidates if service_of(config, i) is not None)
    zone = registry.read() if registry is not None else None
    load: dict[str, float | None] = {}
    for service in config.services:
        metric = service.burst.metric if service.burst else None
        if metric is not None and cloudwatch is not None:
            load[service.name] = cloudwatch.recent(metric, now=now)
    return Observation(
        addresses=addresses,
        instances=instances,
        zone=zone,
        health=dict(health.health(instances)),
        now=now,
        load=load,
    )
