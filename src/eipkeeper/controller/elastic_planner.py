"""The planner's elastic services, pure: each hostname backed by a healthy member holding
its EIP, else a claim, a failover move, a replacement launch or a finding; the pool's hostname
bindings, reverse names and bursts (controller/bursts.py); then what DNS should say.
"""

from __future__ import annotations

from typing import Literal

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.bursts import plan_bursts
from eipkeeper.controller.dns_planner import Wanted, mx_wanted
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Action, Bind, Claim, Finding, Launch, Move, SetReverse
from eipkeeper.controller.spf_plan import in_spf
from eipkeeper.fleet import service_ttl, standby_candidates
from eipkeeper.model import TAG_DRAIN, TAG_REPLACES, Address, Instance
from eipkeeper.reputation import Reputation


def plan_elastic(
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
    wanted += mx_wanted(config, service, [h for h in service.hostnames if h in bound], backed)
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
