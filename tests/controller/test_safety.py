"""The safety check as a second line of defence: plans built by hand that break S1, S2, S3,
S6 and S7.

The planner does not produce such plans today (a release is the operator's); these tests
prove that `safety.check` stops them anyway, each at its boundary, naming the rule. Pure: no
cloud, no zone server.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from eipkeeper.config import Config
from eipkeeper.controller import safety
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Action, Claim, DnsUnit, Move, Plan, Release
from eipkeeper.dns.markers import RRsetClaim as Ownership
from eipkeeper.dns.markers import marker_name
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Change, Record, Zone
from eipkeeper.errors import SafetyRefusal
from eipkeeper.model import TAG_DRAIN, TAG_LEAVING_DNS, TAG_LEFT_DNS_AT, Address, Instance
from eipkeeper.tagtime import utc_stamp
from tests.support import builders
from tests.support.builders import OWNER, ZONE, eip, instance


def make_config(percent: float = 30) -> Config:
    return builders.config(
        builders.service("mx", f"mx1.{ZONE}", f"mx2.{ZONE}"),
        builders.service("relay", f"relay.{ZONE}", failover="false"),
        builders.SCAN,
        tables=f"[safety]\nmax_change_percent = {percent:g}\n",
        source="safety.toml",
    )


CONFIG = make_config()


def node(name: str, role: str, n: int, *, state: str = "running", **tags: str) -> Instance:
    """The Nth instance, its id made of its NAME so that refusals read which one it is."""
    return instance(name, role, n=n, instance_id=f"i-{name}", state=state, tags=tags)


MX1, MX2 = eip(1, instance="i-mx-a"), eip(2)
RELAY = eip(3, service="relay", instance="i-relay-a")
INSTANCES = (
    node("mx-a", "mx", 1),  # holds MX1, failed its check
    node("mx-b", "mx", 2),  # the healthy standby
    node("mx-sick", "mx", 3),  # running, failing its check
    node("mx-draining", "mx", 4, **{TAG_DRAIN: "started"}),
    node("mx-stopped", "mx", 5, state="stopped"),
    node("mx-named", "mx", 6),  # healthy, but a managed record names its own address
    node("scan-a", "scan", 7),  # healthy, of the dynamic service, published
    node("scan-b", "scan", 10),  # healthy, of the dynamic service, not (yet) published
    node("mx-new", "mx", 11),  # running, its check not decided yet
    node("relay-a", "relay", 8),  # holds RELAY, failed its check
    node("relay-b", "relay", 9),  # healthy standby of a service without failover
)
HEALTH: dict[str, bool | None] = {
    "i-mx-a": False,
    "i-mx-b": True,
    "i-mx-sick": False,
    "i-mx-draining": True,
    "i-mx-stopped": True,
    "i-mx-named": True,
    "i-scan-a": True,
    "i-scan-b": True,
    "i-mx-new": None,
    "i-relay-a": False,
    "i-relay-b": True,
}
LEGACY = Record(f"old.{ZONE}", "A", 300, ["127.2.0.6"])
"""A record of ours still naming mx-named's own dynamic address."""
SCAN = Record(f"scan.{ZONE}", "A", 60, ["127.2.0.7"])


def owned(*records: Record) -> tuple[Record, ...]:
    """RECORDS with ownership records listing their values as this owner's."""
    markers = [
        Record(marker_name(r.name, r.type), "TXT", r.ttl, [Ownership(OWNER, r.values).text()])
        for r in records
    ]
    return (*records, *markers)


def seen(*records: Record) -> Observation:
    zone = Zone(ZONE, 1, tuple(sorted(owned(LEGACY, SCAN, *records), key=lambda r: r.key)))
    return Observation(
        addresses=(MX1, MX2, RELAY),
        instances=INSTANCES,
        zone=OwnedZone.of(zone),
        health=HEALTH,
    )


def claim(instance: str, address: Address = MX2, service: str = "mx") -> Claim:
    return Claim(service, address.allocation_id, address.public_ip, instance, "by hand")


def move(instance: str, address: Address = MX1, service: str = "mx") -> Move:
    return Move(
        service, address.allocation_id, address.public_ip, address.instance_id, instance, "by hand"
    )


def a_record(name: str, *values: str) -> DnsUnit:
    new = Record(name, "A", 300, values)
    marker = Record(marker_name(name, "A"), "TXT", 300, [Ownership(OWNER, new.values).text()])
    return DnsUnit("mx", (Change.create(new), Change.create(marker)), "by hand")


def refused(plan: Plan, *, force: bool = False, config: Config = CONFIG) -> SafetyRefusal:
    with pytest.raises(SafetyRefusal) as caught:
        safety.check(config, seen(), plan, force=force)
    return caught.value


def plan(*actions: Action, managed: int = 0) -> Plan:
    return Plan(actions=actions, managed_records=managed)


def test_a_plan_that_keeps_every_rule_passes() -> None:
    """The baseline: each refusal below comes from the one thing its plan breaks."""
    ok = plan(
        move("i-mx-b"),
        claim("i-relay-b", RELAY, "relay"),
        a_record(f"mx2.{ZONE}", MX2.public_ip),
        a_record(f"scan2.{ZONE}", "127.2.0.7"),
    )
    safety.check(CONFIG, seen(), ok)


# -- S1: a managed A record only ever holds an address the account holds --------------------


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("127.9.9.9", "an address nobody in the account has"),
        ("127.2.0.2", "the dynamic address of an instance of an elastic service"),
    ],
)
def test_s1_an_a_value_not_held_is_refused(value: str, what: str) -> None:
    refusal = refused(plan(a_record(f"mx2.{ZONE}", MX2.public_ip, value)))
    assert refusal.rule == "S1", what
    assert refusal.objects == (f"mx2.{ZONE} -> {value}",)


def test_s1_holds_for_updates_too_and_markers_are_not_addresses() -> None:
    old = Record(f"scan.{ZONE}", "A", 60, ["127.2.0.7"])
    unit = DnsUnit(
        "scan",
        (Change.update(old, Record(old.name, "A", 60, ["127.2.0.7", "127.2.0.5"])),),
        "by hand",
    )
    # 127.2.0.5 is mx-stopped's: a stopped instance gave its dynamic address back.
    assert refused(plan(unit)).objects == (f"scan.{ZONE} -> 127.2.0.5",)


def shared_scan(foreign: str) -> Observation:
    """The zone with FOREIGN added by hand to scan's A set: the marker lists only ours."""
    shared = Record(SCAN.name, "A", 60, [*SCAN.values, foreign])
    marker = Record(marker_name(SCAN.name, "A"), "TXT", 60, [Ownership(OWNER, SCAN.values).text()])
    zone = Zone(ZONE, 1, tuple(sorted((*owned(LEGACY), shared, marker), key=lambda r: r.key)))
    return Observation(
        addresses=(MX1, MX2, RELAY), instances=INSTANCES, zone=OwnedZone.of(zone), health=HEALTH
    )


def test_s1_judges_our_values_not_one_someone_keeps_in_a_shared_set() -> None:
    """S4 keeps a value added by hand (here outside the cloud's ranges, as an on-premises
    host); a plan that adds scan-b beside it carries it over, and S1 does not refuse it. A
    value of ours not held, in the same set, is still refused, and alone named."""
    by_hand = "192.0.2.217"
    before = Record(SCAN.name, "A", 60, [*SCAN.values, by_hand])
    add_scan_b = Record(SCAN.name, "A", 60, [*SCAN.values, by_hand, "127.2.0.10"])
    ok = DnsUnit("scan", (Change.update(before, add_scan_b),), "scan-b is healthy")
    safety.check(CONFIG, shared_scan(by_hand), plan(ok))

    stray = Record(SCAN.name, "A", 60, [*SCAN.values, by_hand, "127.9.9.9"])
    bad = DnsUnit("scan", (Change.update(before, stray),), "by hand")
    with pytest.raises(SafetyRefusal) as caught:
        safety.check(CONFIG, shared_scan(by_hand), plan(bad))
    assert caught.value.rule == "S1"
    assert caught.value.objects == (f"scan.{ZONE} -> 127.9.9.9",)


# -- S6: healthy targets of the EIP's own service ---------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["i-mx-sick", "i-mx-new", "i-mx-draining", "i-mx-stopped", "i-gone"],
    ids=["failing-check", "undecided", "draining", "stopped", "unknown"],
)
@pytest.mark.parametrize("kind", ["claim", "move"])
def test_s6_no_claim_or_move_to_an_unhealthy_instance(target: str, kind: str) -> None:
    action = claim(target) if kind == "claim" else move(target)
    refusal = refused(plan(action))
    assert refusal.rule == "S6"
    said = "the target is gone" if target == "i-gone" else "the target is not healthy"
    assert said in refusal.message and refusal.objects == (target,)


def test_s6_an_operators_associate_may_name_a_booting_instance_but_not_another_service() -> None:
    """`associate` waits for the answer of an instance still booting instead of refusing it;
    the other conditions of S6 hold for it all the same."""
    booting = Claim("mx", MX2.allocation_id, MX2.public_ip, "i-mx-new", "asked", by_operator=True)
    safety.check(CONFIG, seen(), plan(booting))
    elsewhere = Claim("mx", MX2.allocation_id, MX2.public_ip, "i-scan-b", "asked", by_operator=True)
    assert refused(plan(elsewhere)).rule == "S6"


@pytest.mark.parametrize("kind", ["claim", "move"])
def test_s6_never_an_instance_of_another_service(kind: str) -> None:
    action = claim("i-scan-b") if kind == "claim" else move("i-scan-b")
    refusal = refused(plan(action))
    assert refusal.rule == "S6"
    assert "i-scan-b (scan-b) is in service scan, not in mx" in refusal.message
    assert refusal.objects == ("i-scan-b",)


@pytest.mark.parametrize("kind", ["claim", "move"])
def test_never_an_instance_whose_own_address_dns_names(kind: str) -> None:
    """SPEC S6: "nor one whose own address a managed record names (that would break S1)";
    the engine names the rule that would break, S1, and judges every record of the zone."""
    action = claim("i-mx-named") if kind == "claim" else move("i-mx-named")
    refusal = refused(plan(action))
    assert refusal.rule == "S1"
    assert "i-mx-named (mx-named)'s own address 127.2.0.6 would go back" in refusal.message
    assert refusal.objects == (f"A old.{ZONE} (A value)",)


def test_a_record_of_someone_else_naming_the_address_counts_too() -> None:
    """An unmarked record naming the target's own address would dangle just the same."""
    unmarked = Record(f"www.{ZONE}", "A", 300, ["127.2.0.2"])
    zone = Zone(ZONE, 1, tuple(sorted((*owned(SCAN), unmarked), key=lambda r: r.key)))
    observed = Observation(
        addresses=(MX1, MX2, RELAY), instances=INSTANCES, zone=OwnedZone.of(zone), health=HEALTH
    )
    with pytest.raises(SafetyRefusal) as caught:
        safety.check(CONFIG, observed, plan(claim("i-mx-b")))
    assert caught.value.rule == "S1" and caught.value.objects == (f"A www.{ZONE} (A value)",)


def test_s6_no_move_where_the_service_does_not_fail_over() -> None:
    refusal = refused(plan(move("i-relay-b", RELAY, "relay")))
    assert refusal.rule == "S6"
    assert "failover = false" in refusal.message and refusal.objects == (RELAY.allocation_id,)
    # `move` by name is the operator's deliberate act: failover = false does not stop it.
    by_hand = Move(
        "relay",
        RELAY.allocation_id,
        RELAY.public_ip,
        "i-relay-a",
        "i-relay-b",
        "by hand",
        by_operator=True,
    )
    safety.check(CONFIG, seen(), plan(by_hand))


# -- S2: DNS before address: no release while associated or named ------------------------------

NOW = 1_900_000_000.0
IDLE = eip(4)
"""An address of the mx pool, on no instance and named by no record."""


def released(address: Address, *records: Record, tags: dict[str, str] | None = None) -> None:
    """Check a plan that releases ADDRESS (with TAGS added) in a zone with RECORDS more."""
    address = replace(address, tags={**address.tags, **(tags or {})})
    zone = Zone(ZONE, 1, tuple(sorted((*owned(SCAN), *records), key=lambda r: r.key)))
    observed = Observation(
        addresses=(MX1, MX2, RELAY, address),
        instances=INSTANCES,
        zone=OwnedZone.of(zone),
        health=HEALTH,
        now=NOW,
    )
    release = Release("mx", address.allocation_id, address.public_ip, "by hand")
    safety.check(CONFIG, observed, plan(release))


def refusal_of(address: Address, *records: Record, **tags: str) -> SafetyRefusal | None:
    """The refusal of a plan that releases ADDRESS, or None when the plan passes."""
    try:
        released(address, *records, tags=tags)
    except SafetyRefusal as refusal:
        return refusal
    return None


def refused_release(address: Address, *records: Record, **tags: str) -> SafetyRefusal:
    refusal = refusal_of(address, *records, **tags)
    assert refusal is not None, "the release was not refused"
    return refusal


def test_s2_an_idle_address_no_record_names_may_be_released() -> None:
    assert refusal_of(IDLE) is None


def test_s2_no_release_while_the_address_is_associated() -> None:
    held = replace(IDLE, association_id="eipassoc-0004", instance_id="i-mx-b")
    refusal = refused_release(held)
    assert refusal.rule == "S2"
    assert f"{IDLE.public_ip} is associated with i-mx-b; disassociate it first" in refusal.message
    assert refusal.objects == (IDLE.allocation_id,)


@pytest.mark.parametrize(
    ("record", "named"),
    [
        (Record(f"mx2.{ZONE}", "A", 300, [IDLE.public_ip]), f"A mx2.{ZONE} (A value)"),
        (Record(ZONE, "TXT", 300, [f'"v=spf1 ip4:{IDLE.public_ip} -all"']), f"TXT {ZONE} (SPF"),
    ],
    ids=["a-record", "spf"],
)
def test_s2_no_release_while_any_record_names_the_address(record: Record, named: str) -> None:
    """Ours or not (these carry no ownership record): a record left naming a released address
    points at whoever AWS gives it to next."""
    refusal = refused_release(IDLE, record)
    assert refusal.rule == "S2"
    assert f"managed DNS still refers to {IDLE.public_ip}" in refusal.message
    assert [o for o in refusal.objects if o.startswith(named)], refusal.objects


# -- S3: quarantine after leaving DNS ------------------------------------------------------------

QUARANTINE = CONFIG.safety.release_quarantine


def test_s3_no_release_while_the_address_is_still_leaving_dns() -> None:
    refusal = refused_release(IDLE, **{TAG_LEAVING_DNS: "mx1.example.test"})
    assert refusal.rule == "S3"
    assert "is still leaving DNS" in refusal.message and refusal.objects == (IDLE.allocation_id,)


def test_s3_no_release_until_the_quarantine_has_passed_to_the_second() -> None:
    inside = refused_release(IDLE, **{TAG_LEFT_DNS_AT: utc_stamp(NOW - QUARANTINE + 1)})
    assert inside.rule == "S3" and inside.objects == (IDLE.allocation_id,)
    assert "quarantine (1d) ends in 1s" in inside.message
    released(IDLE, tags={TAG_LEFT_DNS_AT: utc_stamp(NOW - QUARANTINE)})


def test_s3_a_stamp_that_does_not_read_counts_from_now() -> None:
    """A garbled tag must not shorten the quarantine: the full quarantine is still ahead."""
    refusal = refused_release(IDLE, **{TAG_LEFT_DNS_AT: "yesterday"})
    assert refusal.rule == "S3" and "ends in 1d" in refusal.message


# -- S7: the blast radius ----------------------------------------------------------------------


def deletes(n: int) -> list[DnsUnit]:
    """N units, each deleting one managed A record with its ownership record (the ownership
    records must not count: with them, 3 units would be 6 changes)."""
    units = []
    for i in range(n):
        record = Record(f"h{i}.{ZONE}", "A", 300, [MX2.public_ip])
        marker = Record(marker_name(record.name, "A"), "TXT", 300, ['"owner=mail-prod"'])
        units.append(DnsUnit("mx", (Change.delete(record), Change.delete(marker)), "by hand"))
    return units


def test_s7_exactly_max_change_percent_is_allowed() -> None:
    safety.check(CONFIG, seen(), plan(*deletes(3), managed=10))  # 30% of 10


def test_s7_one_record_above_is_refused_naming_the_numbers() -> None:
    refusal = refused(plan(*deletes(4), managed=10))
    assert refusal.rule == "S7"
    assert "changes 4 of 10 managed records (40%" in refusal.message
    assert "max_change_percent = 30" in refusal.message
    assert refusal.objects == tuple(f"delete A h{i}.{ZONE}" for i in range(4))


def test_s7_follows_the_configured_threshold() -> None:
    half = make_config(50)
    safety.check(half, seen(), plan(*deletes(10), managed=20))
    assert refused(plan(*deletes(11), managed=20), config=half).rule == "S7"


def test_s7_fewer_than_ten_managed_records_are_never_refused() -> None:
    safety.check(CONFIG, seen(), plan(*deletes(9), managed=9))


def test_force_lifts_s7_alone() -> None:
    safety.check(CONFIG, seen(), plan(*deletes(10), managed=10), force=True)
    with_s1 = plan(*deletes(10), a_record(f"mx2.{ZONE}", "127.9.9.9"), managed=10)
    assert refused(with_s1, force=True).rule == "S1"
    for breaking in (move("i-mx-sick"), move("i-scan-b"), move("i-relay-b", RELAY, "relay")):
        assert refused(plan(*deletes(10), breaking, managed=10), force=True).rule == "S6"
    assert refused(plan(*deletes(10), move("i-mx-named"), managed=10), force=True).rule == "S1"
