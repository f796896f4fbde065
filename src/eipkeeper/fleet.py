"""What the fleet looks like to eipkeeper: service membership, address status, cost, lookups.

Pure functions over the values of `eipkeeper.model`; no I/O. `FleetView` holds one read of the
addresses and instances so that a command resolves names without further API calls.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.errors import NotFoundError, UsageError
from eipkeeper.model import TAG_ASSOCIATED_AT, TAG_BURST, TAG_DRAIN, Address, Instance
from eipkeeper.tagtime import parse_stamp

HOURS_PER_MONTH = 730  # AWS prices a month as 730 hours


def monthly_cost(hourly: float) -> float:
    return round(hourly * HOURS_PER_MONTH, 2)


def selects(service: ServiceConfig, instance: Instance) -> bool:
    return all(instance.tags.get(k) == v for k, v in service.select.tags.items())


def service_of(config: Config, instance: Instance) -> ServiceConfig | None:
    for service in config.services:
        if selects(service, instance):
            return service
    return None


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class FleetView:
    """One read of the account's EIPs and the instances that matter."""

    addresses: Sequence[Address]
    instances: Sequence[Instance]

    def instance_by_id(self, instance_id: str) -> Instance | None:
        for instance in self.instances:
            if instance.instance_id == instance_id:
                return instance
        return None

    def address_status(self, address: Address) -> str:
        """`idle` (held, on no instance), `on-stopped-instance`, or `in-use`."""
        if not address.associated:
            return "idle"
        instance = self.instance_by_id(address.instance_id)
        if instance is not None and instance.state in ("stopped", "stopping"):
            return "on-stopped-instance"
        return "in-use"

    def elastic_ips(self) -> frozenset[str]:
        return frozenset(a.public_ip for a in self.addresses)

    def dynamic_ip(self, instance: Instance) -> str:
        """INSTANCE's public IP when it is not an EIP of the account: the one an EIP would take."""
        if instance.public_ip and instance.public_ip not in self.elastic_ips():
            return instance.public_ip
        return ""

    def held_by(self, instance: Instance) -> list[Address]:
        return [a for a in self.addresses if a.instance_id == instance.instance_id]

    def resolve_address(self, text: str) -> Address:
        """ADDRESS as the user wrote it: a public IP, an allocation id or a bound hostname."""
        wanted = text.strip().lower().rstrip(".")
        if not wanted:
            # An unbound EIP's hostname is empty too: blank must never match it (S10).
            raise UsageError("ADDRESS is empty; name one")
        for address in self.addresses:
            if wanted in (address.public_ip, address.allocation_id.lower()):
                return address
        bound = [a for a in self.addresses if a.hostname == wanted]
        if len(bound) == 1:
            return bound[0]
        if len(bound) > 1:
            ids = ", ".join(a.allocation_id for a in bound)
            raise UsageError(f"{text} is bound to several Elastic IPs ({ids}); name one by id")
        kind = "public IP" if is_ip(wanted) else "allocation id or bound hostname"
        raise NotFoundError(f"no Elastic IP of this account has the {kind} {text}")

    def resolve_instance(self, text: str) -> Instance:
        """INSTANCE as the user wrote it: an instance id or its Name tag."""
        text = text.strip()
        if not text:
            raise UsageError("INSTANCE is empty; name one")
        for instance in self.instances:
            if instance.instance_id == text:
                return instance
        named = [i for i in self.instances if i.name == text]
        if len(named) == 1:
            return named[0]
        if len(named) > 1:
            ids = ", ".join(i.instance_id for i in named)
            raise UsageError(f"several instances are named {text} ({ids}); name one by id")
        raise NotFoundError(f"no instance with id or Name {text} (terminated ones are not listed)")


def service_instances(config: Config, instances: Iterable[Instance]) -> list[Instance]:
    return [i for i in instances if service_of(config, i) is not None]


def service_ttl(config: Config, service: ServiceConfig) -> int:
    """The TTL a service's records get: its own, capped by `dns.max_ttl`."""
    return min(service.ttl, config.dns.max_ttl) if config.dns else service.ttl


def standby_candidates(
    members: Sequence[Instance],
    addresses: Sequence[Address],
    *,
    burst: bool,
    named: Callable[[str], bool],
    excluding: str = "",
) -> list[Instance]:
    """Who may take a pool EIP, oldest first: running, not draining, holding no EIP, of the
    same kind (burst or not) as the EIP's hostname, and with no record NAMED on its own public
    IP (the association would take that IP away for good, leaving the record dangling: S1).
    The one standby choice of the planner (failover) and the drain; health is theirs to add."""
    holders = {a.instance_id for a in addresses if a.instance_id}
    return [
        member
        for member in sorted(members, key=lambda i: (i.launch_time, i.instance_id))
        if member.instance_id != excluding
        and member.running
        and TAG_DRAIN not in member.tags
        and member.instance_id not in holders
        and (TAG_BURST in member.tags) == burst
        and not (member.public_ip and named(member.public_ip))
    ]


def last_association(addresses: Iterable[Address], instance: Instance) -> float | None:
    """When eipkeeper last associated one of INSTANCE's EIPs (its `associated-at` tag), if it
    said so: the start of the switch grace (S6)."""
    stamps = [
        at
        for a in addresses
        if a.instance_id == instance.instance_id
        and (at := parse_stamp(a.tags.get(TAG_ASSOCIATED_AT, ""))) is not None
    ]
    return max(stamps, default=None)


def switch_grace_left(at: float | None, grace: float, *, now: float) -> float:
    """Seconds until a switch grace that started AT (an `associated-at` stamp) ends: 0 when
    there is none or it is over. The one reckoning of S6's grace, for the planner's holders
    and for the probes a one-shot command waits for."""
    return max(0.0, at + grace - now) if at is not None else 0.0


def health_label(
    instance: Instance,
    *,
    checked: bool,
    ok: bool | None,
    detail: str = "",
    associated_at: float | None = None,
    switch_grace: float = 0.0,
    now: float,
) -> str:
    """What `instances` shows as HEALTH, most telling first.

    A draining instance is out of service whatever its check says (`run` never puts it back),
    so its drain phase comes first. A holder whose check fails within SWITCH_GRACE of its
    EIP's last association is `switching`, not `unhealthy`: EC2's data plane may still send
    the address to the old holder, and no command judges it failed yet (S6). OK is None when
    the instance was not probed (not running).
    """
    phase = instance.tags.get(TAG_DRAIN, "").split()
    if phase:
        return "drained" if phase[0] == "done" else f"draining (phase: {phase[0]})"
    if not checked:
        return "no check"
    if ok is None:
        return f"unhealthy ({instance.state})"
    if ok:
        return "healthy"
    if associated_at is not None and now - associated_at < switch_grace:
        since = max(0.0, now - associated_at)
        return f"switching (associated {since:.0f}s ago; {detail})"
    return f"unhealthy ({detail})"
