"""The safety check on a whole plan, before anything is applied (SPEC.md section 3).

S4 and S5 are enforced where changes are made (ownership records, prerequisites); this module
checks what can be judged on the plan: S1 (managed A records only hold held addresses), S6
(claims and moves only to healthy instances, moves only where failover is on), and S7 (the
blast radius) and S10 (the world is the one the zone describes). A refusal names the rule
and the objects. `--force` lifts S7 alone.
"""

from __future__ import annotations

from eipkeeper.config import Config
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import (
    Claim,
    Disassociate,
    DnsUnit,
    DrainStep,
    Move,
    Plan,
    Release,
)
from eipkeeper.dns.markers import parse_claim
from eipkeeper.dns.ownership import is_marker
from eipkeeper.dns.records import Record
from eipkeeper.durations import format_duration
from eipkeeper.errors import SafetyRefusal
from eipkeeper.fleet import service_of
from eipkeeper.model import TAG_BURST, TAG_LEAVING_DNS, TAG_SUCCESSOR_OF
from eipkeeper.tagtime import parse_stamp


def check(
    config: Config, seen: Observation, plan: Plan, *, force: bool = False, hold_spf: bool = False
) -> None:
    """Every rule that can be judged on the plan, in the order of SPEC section 3. --force
    lifts S7 alone. HOLD_SPF (a `run` round): the planner already left an SPF change past
    RFC 7208's limits out of the plan, and its `spf-lookups` finding says so; the rest of the
    plan (a failover above all) goes ahead."""
    check_s1(config, seen, plan)
    check_s1_targets(seen, plan)
    check_s2(config, seen, plan)
    check_s3(config, seen, plan)
    check_s4(config, seen, plan)
    check_s6(config, seen, plan)
    check_s10(config, seen, plan)
    if not hold_spf:
        check_spf(plan)
    if not force:
        check_s7(config, plan)


def check_spf(plan: Plan) -> None:
    """A change that would push a service's SPF policy past RFC 7208's limits is refused; the
    planner left it out and said why (`spf-lookups`)."""
    for finding in plan.findings:
        if finding.kind == "spf-lookups":
            raise SafetyRefusal(
                "RFC 7208", finding.message.removeprefix("refused by RFC 7208: "), [finding.subject]
            )


def check_s1_targets(seen: Observation, plan: Plan) -> None:
    """An association takes the target's dynamic public IP away for good: refused while any
    record of the zone names it, since that record would then point at an address the account
    no longer holds (S1; the sandbox's stranger takes it within seconds)."""
    for action in plan.actions:
        if not isinstance(action, Claim | Move):
            continue
        target = seen.instance(action.instance_id)
        if target is None or not target.public_ip:
            continue
        if any(a.public_ip == target.public_ip for a in seen.addresses):
            continue  # its address is an EIP of ours: that stays held
        names = seen.references(target.public_ip)
        if names:
            raise SafetyRefusal(
                "S1",
                f"{action.describe()}: {target.label}'s own address {target.public_ip} would go "
                "back to the cloud while DNS still names it",
                names,
            )


def check_s2(config: Config, seen: Observation, plan: Plan) -> None:
    """DNS before address: no release while associated or referenced; no drain that stops or
    terminates a dynamic instance whose address DNS names without withdrawing it first."""
    for action in plan.actions:
        if isinstance(action, Release):
            address = seen.address(action.allocation_id)
            if address is not None and address.associated:
                holder = address.instance_id or address.network_interface_id
                raise SafetyRefusal(
                    "S2",
                    f"{address.public_ip} is associated with {holder}; disassociate it first",
                    [address.allocation_id],
                )
            names = seen.references(action.public_ip)
            if names:
                raise SafetyRefusal("S2", f"managed DNS still refers to {action.public_ip}", names)
        elif isinstance(action, DrainStep) and action.step in ("stop", "terminate"):
            _s2_drain(config, seen, plan, action)


def _s2_drain(config: Config, seen: Observation, plan: Plan, action: DrainStep) -> None:
    """A drain stops or terminates a dynamic instance only once DNS no longer names its
    address, or the same plan takes it out first."""
    instance = seen.instance(action.instance_id)
    service = service_of(config, instance) if instance is not None else None
    if instance is None or service is None or service.addresses != "dynamic":
        return
    ip = instance.public_ip
    withdrawn = any(isinstance(a, DnsUnit) and ip in a.removed_addresses for a in plan.actions)
    names = seen.references(ip)
    if names and not withdrawn:
        raise SafetyRefusal(
            "S2",
            f"{action.describe()}: DNS still names {ip} and the drain would not take it out first",
            names,
        )


def check_s3(config: Config, seen: Observation, plan: Plan) -> None:
    """Quarantine: an EIP that left DNS is released only after release_quarantine."""
    for action in plan.actions:
        if not isinstance(action, Release):
            continue
        address = seen.address(action.allocation_id)
        if address is None:
            continue
        if address.tags.get(TAG_LEAVING_DNS):
            raise SafetyRefusal(
                "S3",
                f"{address.public_ip} is still leaving DNS (its removal is not yet confirmed)",
                [address.allocation_id],
            )
        left = quarantine_left(config, address.left_dns_at, now=seen.now)
        if left > 0:
            raise SafetyRefusal(
                "S3",
                f"{address.public_ip} left DNS at {address.left_dns_at}; quarantine "
                f"({format_duration(config.safety.release_quarantine)}) ends in "
                f"{format_duration(left)}",
                [address.allocation_id],
            )


def quarantine_left(config: Config, left_dns_at: str, *, now: float) -> float:
    """Seconds until an EIP that left DNS at LEFT_DNS_AT may be released; 0 if it never was
    in DNS. A stamp that cannot be read counts from now: it must not shorten the quarantine."""
    if not left_dns_at:
        return 0.0
    left = parse_stamp(left_dns_at)
    return max(0.0, (now if left is None else left) + config.safety.release_quarantine - now)


def check_s4(config: Config, seen: Observation, plan: Plan) -> None:
    """An EIP not marked with this owner is never associated, moved, disassociated or
    released (DNS ownership is enforced where records are written)."""
    for action in plan.actions:
        if not isinstance(action, Claim | Move | Disassociate | Release):
            continue
        address = seen.address(action.allocation_id)
        if address is None or address.owner == config.owner:
            continue
        whose = f"owner {address.owner!r}" if address.owner else "no owner"
        verb = type(action).__name__.lower()
        raise SafetyRefusal(
            "S4",
            f"will not {verb} {address.public_ip}: it is marked with {whose}, not {config.owner!r}",
            [address.allocation_id],
        )


def check_s1(config: Config, seen: Observation, plan: Plan) -> None:
    """Every value this owner writes into an A/AAAA record is an address the account holds.
    A value someone else keeps in a shared RRset (by hand, another tool: S4) is theirs; the
    plan carries it over unchanged and S1 does not judge it (`audit` does)."""
    held = seen.held_addresses(config)
    stray: list[str] = []
    for action in plan.actions:
        if not isinstance(action, DnsUnit):
            continue
        for change in action.changes:
            new = change.new
            if new is None or new.type not in ("A", "AAAA") or is_marker(new):
                continue
            allowed = held | _values_of_others(config, seen, new.name, new.type)
            stray += [f"{new.name} -> {v}" for v in new.values if v not in allowed]
    if stray:
        raise SafetyRefusal("S1", "a managed record would point at an address not held", stray)


def _values_of_others(config: Config, seen: Observation, name: str, rdtype: str) -> set[str]:
    """The values of the RRset as observed that this owner does not manage."""
    current = seen.zone.get(name, rdtype) if seen.zone is not None else None
    if current is None:
        return set()
    return {v for v in current.record.values if current.owner_of(v) != config.owner}


def check_s6(config: Config, seen: Observation, plan: Plan) -> None:
    for action in plan.actions:
        if not isinstance(action, Claim | Move):
            continue
        target = seen.instance(action.instance_id)
        if target is None:
            raise SafetyRefusal(
                "S6", f"{action.describe()}: the target is gone", [action.instance_id]
            )
        # `associate` claims a free address for an instance the operator names, which may
        # still be booting: it waits for the answer instead. Every other claim, and every
        # move, goes only to an instance whose check passed.
        operator_claim = isinstance(action, Claim) and action.by_operator
        if not operator_claim and not seen.healthy(target):
            detail = seen.health_detail.get(target.instance_id, "")
            why = (
                f"{target.label} is {target.state}"
                if not target.running
                else (f"{target.label} did not pass its check" + (f" ({detail})" if detail else ""))
            )
            raise SafetyRefusal(
                "S6", f"{action.describe()}: the target is not healthy: {why}", [action.instance_id]
            )
        _same_service(config, seen, action)
        _reserved_for_bursts(config, seen, action)
        _no_displacement(seen, plan, action)
        if (
            isinstance(action, Move)
            and not action.by_operator
            and not config.service(action.service).failover
        ):
            raise SafetyRefusal(
                "S6",
                f"{action.describe()}: service {action.service} has failover = false",
                [action.allocation_id],
            )


def _reserved_for_bursts(config: Config, seen: Observation, action: Claim | Move) -> None:
    """A pool EIP whose hostname is in burst.hostnames is reserved for bursts (and for a
    `replace` successor taking mail on it): `associate mx3... mx-c` gave it to a standby."""
    if not action.by_operator or not action.service:
        return
    address = seen.address(action.allocation_id)
    target = seen.instance(action.instance_id)
    service = next((s for s in config.services if s.name == action.service), None)
    reserved = service.burst_hostnames if service is not None else frozenset()
    if address is None or target is None or address.hostname not in reserved:
        return
    if TAG_BURST in target.tags or TAG_SUCCESSOR_OF in target.tags:
        return
    raise SafetyRefusal(
        "S6",
        f"{action.describe()}: {address.hostname} is reserved for bursts (burst.hostnames) "
        f"and {target.label} is no burst instance",
        [action.allocation_id, action.instance_id],
    )


def _no_displacement(seen: Observation, plan: Plan, action: Claim | Move) -> None:
    """An instance holds one EIP on its primary private address: associating another one
    displaces the first (EC2 does it silently), which would leave that hostname unbacked and
    make the target hold two roles. Refused, unless the same plan takes the other EIP off the
    target first (`replace` gives its reserved address back so)."""
    freed = {a.allocation_id for a in plan.actions if isinstance(a, Disassociate)}
    held = [
        a
        for a in seen.addresses
        if a.instance_id == action.instance_id
        and a.allocation_id != action.allocation_id
        and a.allocation_id not in freed
    ]
    if held:
        raise SafetyRefusal(
            "S6",
            f"{action.describe()}: {action.instance_id} already holds {held[0].public_ip}, "
            "which EC2 would displace",
            [a.allocation_id for a in held],
        )


def _same_service(config: Config, seen: Observation, action: Claim | Move) -> None:
    """A pool EIP serves only instances of its own service (an MX address on a spam scanner
    would serve nobody's mail)."""
    target = seen.instance(action.instance_id)
    if not action.service or target is None:
        return
    theirs = service_of(config, target)
    if theirs is None or theirs.name != action.service:
        where = f"service {theirs.name}" if theirs else "no configured service"
        raise SafetyRefusal(
            "S6",
            f"{action.describe()}: {target.label} is in {where}, not in {action.service}",
            [action.instance_id],
        )


def changed_records(plan: Plan) -> list[str]:
    """Existing managed RRsets the plan updates or deletes (ownership records not counted)."""
    touched = []
    for action in plan.actions:
        changes = action.changes if isinstance(action, DnsUnit) else ()
        for change in changes:
            if change.old is not None and not is_marker(change.old):
                touched.append(f"{change.kind} {change.old.type} {change.old.name}")
    return touched


def check_s7(config: Config, plan: Plan) -> None:
    existing = plan.managed_records
    if existing < 10:
        return
    touched = changed_records(plan)
    percent = 100.0 * len(touched) / existing
    if percent > config.safety.max_change_percent:
        raise SafetyRefusal(
            "S7",
            f"the plan changes {len(touched)} of {existing} managed records ({percent:.0f}%, "
            f"more than max_change_percent = {config.safety.max_change_percent:g}); "
            "review it and pass --force if it is meant",
            touched[:10] + ([f"... {len(touched) - 10} more"] if len(touched) > 10 else []),
        )


def check_s10(config: Config, seen: Observation, plan: Plan) -> None:
    """A plan that would empty every managed record of a service while the cloud read shows
    nothing of the owner (no EIP marked with it, no instance of a service) read the wrong
    world: a wrong --region, account or credentials, not a fleet that is gone. Refused even
    with --force: a fleet really gone leaves its records to `drain` or by hand."""
    zone = seen.zone
    if zone is None or _owner_seen(config, seen):
        return
    emptied = _emptied(config, plan)
    for service in config.services:
        names = set(service.hostnames) | ({service.mx.domain} if service.mx else set())
        managed = [
            o.record
            for o in zone.owned_by(config.owner)
            if o.record.name in names and not is_marker(o.record)
        ]
        if managed and all(r.key in emptied for r in managed):
            raise SafetyRefusal(
                "S10",
                f"the plan deletes every managed record of service {service.name}, but the "
                f"cloud shows nothing of owner {config.owner} in {zone.here.label}: wrong "
                "region, account or credentials?",
                [f"{r.type} {r.name}" for r in managed],
            )


def _owner_seen(config: Config, seen: Observation) -> bool:
    return any(a.owner == config.owner for a in seen.addresses) or any(
        service_of(config, i) is not None for i in seen.instances
    )


def _emptied(config: Config, plan: Plan) -> set[tuple[str, str]]:
    """The RRsets the plan deletes, or leaves with none of this owner's values (its claim
    dropped from the ownership record)."""
    keys: set[tuple[str, str]] = set()
    for action in plan.actions:
        if not isinstance(action, DnsUnit):
            continue
        for change in action.changes:
            if change.old is None:
                continue
            if not is_marker(change.old) and change.new is None:
                keys.add(change.old.key)
            elif is_marker(change.old) and not _claims_of(config, change.new):
                keys.add(_marked(change.old.name))
    return keys


def _claims_of(config: Config, marker: Record | None) -> bool:
    claims = [parse_claim(v) for v in marker.values] if marker is not None else []
    return any(c is not None and c.owner == config.owner for c in claims)


def _marked(marker: str) -> tuple[str, str]:
    """(name, type) of the RRset whose ownership record is at MARKER."""
    _, rdtype, name = marker.split(".", 2)
    return name, rdtype.upper()
