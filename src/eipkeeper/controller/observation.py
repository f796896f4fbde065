"""What one round sees: the account's EIPs, the services' instances, the zone, the health.

A value, pure: `eipkeeper.controller.reading.observe` makes it with one DescribeAddresses, one
paginated DescribeInstances for every service at once and one zone read; everything after it
is pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.references import references
from eipkeeper.fleet import last_association, selects, service_of, switch_grace_left
from eipkeeper.model import TAG_BURST, TAG_DRAIN, Address, Instance
from eipkeeper.reputation import Reputation


class ReputationSource(Protocol):
    """Blocklist verdicts of (public IP, service) pairs, each no older than its `recheck`;
    the addresses in `fresh` (those a round may claim) are looked up again every time."""

    def reputations(
        self,
        addresses: Iterable[tuple[str, str]],
        *,
        now: float,
        fresh: frozenset[str] = frozenset(),
    ) -> Mapping[str, Reputation]: ...


class HealthSource(Protocol):
    """Health by instance id: True when the instance's check passes, False when it is judged
    failed (`fail_after` failed probes in a row, S6), None while undecided."""

    def health(
        self, instances: Sequence[Instance], *, judged: frozenset[str] = frozenset()
    ) -> Mapping[str, bool | None]:
        """JUDGED: the instances whose failure would change something (EIP holders, published
        addresses); a one-shot source probes those until decided, the others once."""
        ...


class RunningIsHealthy:
    """The seam before checks run: an instance counts as healthy when it is running."""

    def health(
        self, instances: Sequence[Instance], *, judged: frozenset[str] = frozenset()
    ) -> Mapping[str, bool | None]:
        return {i.instance_id: i.running for i in instances}


@dataclass(frozen=True)
class Observation:
    addresses: tuple[Address, ...]
    instances: tuple[Instance, ...]
    """Live (not terminated) instances of the configured services, and those an intent
    names."""
    zone: OwnedZone | None
    gone: tuple[Instance, ...] = ()
    """Terminated instances a drain names: the drain to resume or report."""
    health: Mapping[str, bool | None] = field(default_factory=dict)
    """True: passes its check; False: judged failed; None (or absent): undecided."""
    health_detail: Mapping[str, str] = field(default_factory=dict)
    """The latest probe's answer or error per instance, for the messages that name it."""
    probe_ok: Mapping[str, bool] = field(default_factory=dict)
    """Whether the latest probe passed, per instance probed: what `instances` shows, judged
    or not (`health` is the S6 verdict)."""
    now: float = 0.0
    reverse: Mapping[str, str] = field(default_factory=dict)
    """Allocation id -> the EIP's reverse DNS name, for the pools of `ptr` services."""
    load: Mapping[str, float | None] = field(default_factory=dict)
    """Each burst service's recent load metric (None: not reported)."""
    reputation: Mapping[str, Reputation] = field(default_factory=dict)
    """Public IP -> its blocklist verdicts, for the pools of services with `reputation`."""

    def unfit(self, config: Config, address: Address) -> Reputation | None:
        """The verdict that keeps ADDRESS from being claimed for its service (listed, or a
        zone gave no verdict: never read as clean); None when it may carry mail. An address
        nobody looked up (a service without `reputation`) is not judged."""
        service = next((s for s in config.services if s.name == address.service), None)
        if service is None or service.reputation is None:
            return None
        verdict = self.reputation.get(address.public_ip)
        return verdict if verdict is not None and not verdict.clean else None

    @cached_property
    def _by_id(self) -> dict[str, Instance]:
        return {i.instance_id: i for i in self.instances}

    def instance(self, instance_id: str) -> Instance | None:
        return self._by_id.get(instance_id)

    def healthy(self, instance: Instance) -> bool:
        """Running, passing its check, and not draining (a draining instance never returns)."""
        return (
            instance.running
            and self.health.get(instance.instance_id) is True
            and TAG_DRAIN not in instance.tags
        )

    def switching(self, instance: Instance, grace: float) -> bool:
        """INSTANCE holds an EIP associated less than GRACE seconds ago (the tag every process
        and replica reads): the data plane may still send its address elsewhere (S6)."""
        return self.grace_left(instance, grace) > 0

    def grace_left(self, instance: Instance, grace: float) -> float:
        """Seconds until the switch grace of INSTANCE's latest association ends (0: none)."""
        at = last_association(self.addresses, instance)
        return switch_grace_left(at, grace, now=self.now)

    def unproven_in_grace(self, instance: Instance, grace: float) -> float:
        """Seconds until a holder that does not pass its check (failed, or undecided: a
        one-shot command does not probe a holder it cannot judge yet) is judged, its switch
        grace over (0: it is not such a holder). The controller plans again then, not at its
        next interval: a failover waits out the grace, and no more."""
        if not instance.running or self.health.get(instance.instance_id) is True:
            return 0.0
        return self.grace_left(instance, grace)

    def failed(self, instance: Instance, grace: float = 0.0) -> bool:
        """Judged failed as a holder: not running, or its check failed `fail_after` times in a
        row outside the switch grace. Undecided is not failed (S6, judged fairly)."""
        if not instance.running:
            return True
        if self.health.get(instance.instance_id) is not False:
            return False
        return not self.switching(instance, grace)

    @staticmethod
    def is_burst(instance: Instance) -> bool:
        return TAG_BURST in instance.tags

    @cached_property
    def published(self) -> frozenset[str]:
        """Every A/AAAA value in the zone (an MX target's address is one of them)."""
        if self.zone is None:
            return frozenset()
        values = {v for r in self.zone.zone.records if r.type in ("A", "AAAA") for v in r.values}
        return frozenset(values)

    def members(self, service: ServiceConfig) -> list[Instance]:
        """SERVICE's instances, by its select tags (the one test of membership)."""
        return [i for i in self.instances if selects(service, i)]

    def pool(self, service: ServiceConfig, owner: str) -> list[Address]:
        """SERVICE's pool EIPs marked with OWNER (S4: the others are left alone)."""
        return [a for a in self.addresses if a.service == service.name and a.owner == owner]

    def address(self, allocation_id: str) -> Address | None:
        return next((a for a in self.addresses if a.allocation_id == allocation_id), None)

    def references(self, ip: str) -> list[str]:
        """Every record of the zone that refers to IP (A/AAAA value, MX target, SPF): S1, S2."""
        if self.zone is None or not ip:
            return []
        return [str(ref) for ref in references(self.zone.zone, ip)]

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
