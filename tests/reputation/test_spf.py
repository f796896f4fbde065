"""SPF kept in step with a sending service's pool (pure: the planner on a model world), each
policy judged by pyspf, an SPF evaluator from PyPI, never by parsing it here."""

from __future__ import annotations

import pytest
import spf as pyspf

from eipkeeper.cli.main import exit_code
from eipkeeper.config import Config
from eipkeeper.controller import planner, safety
from eipkeeper.controller.plan import Claim
from eipkeeper.dns.ownership import OwnedZone
from eipkeeper.dns.records import Record, Zone, txt_strings
from eipkeeper.errors import SafetyRefusal
from eipkeeper.spf import plan_spf, policy_of
from tests.controller.world import World
from tests.support import builders
from tests.support.builders import MX_HOSTNAMES, SCAN, ZONE, eip, instance, mx

HAND = "ip4:192.0.2.10 ip4:198.51.100.0/24"


def config(*, shrunk: bool = False) -> Config:
    if shrunk:  # mx3 left the config: its address is retired from the service
        return builders.config(mx(*MX_HOSTNAMES[:2], spf=f'"{ZONE}"'), SCAN)
    return builders.config(mx(*MX_HOSTNAMES, burst=builders.BURST, spf=f'"{ZONE}"'), SCAN)


def world() -> World:
    return World(
        addresses=[eip(n, hostname=f"mx{n}.{ZONE}") for n in (1, 2, 3)],
        instances=[instance("mx-a", "mx", n=1), instance("mx-b", "mx", n=2)],
    )


def policy(w: World) -> str:
    record = w.records[(ZONE, "TXT")]
    found = [p for v in record.values if (p := policy_of(v)) is not None]
    assert len(found) == 1, record.values
    return found[0]


def verdict(w: World, ip: str) -> str:
    query = pyspf.query(i=ip, s=f"postmaster@{ZONE}", h=f"mx1.{ZONE}")
    return str(query.check(spf=policy(w))[0])


def converge(w: World, rounds: int = 3, *, shrunk: bool = False) -> None:
    for _ in range(rounds):
        w.apply(planner.plan(config(shrunk=shrunk), w.observe()))


def test_apply_publishes_every_pool_address_in_spf_before_claiming_it() -> None:
    w = world()
    first = planner.plan(config(), w.observe())
    assert not [a for a in first.actions if isinstance(a, Claim)], "SPF first, then claims"
    assert {f.kind for f in first.findings} >= {"spf-pending"}
    converge(w)
    assert all(a.instance_id for a in w.addresses[:2]), "claimed once in SPF"
    for address in w.addresses:
        assert verdict(w, address.public_ip) == "pass"
    assert verdict(w, "127.9.9.9") == "softfail"


def test_a_hand_written_mechanism_is_kept_and_a_retired_address_leaves() -> None:
    w = world()
    converge(w)
    record = w.records[(ZONE, "TXT")]
    text = policy(w).replace(" ~all", f" {HAND} ~all")
    w.records[record.key] = Record(record.name, "TXT", record.ttl, [f'"{text}"'])
    retired = w.addresses[2]
    converge(w, shrunk=True)
    assert verdict(w, "192.0.2.10") == "pass"
    assert verdict(w, "198.51.100.7") == "pass"
    assert verdict(w, retired.public_ip) == "softfail"
    assert verdict(w, w.addresses[0].public_ip) == "pass"


def test_many_addresses_split_into_strings_of_at_most_255_octets() -> None:
    addresses = [f"127.1.{n}.{n}" for n in range(1, 22)]
    zone = OwnedZone.of(Zone(ZONE, 1, ()))
    changes = plan_spf(zone, owner="o", name=ZONE, ttl=300, addresses=addresses, reason="t")
    record = changes[0].new
    assert record is not None
    strings = txt_strings(record.values[0])
    assert len(strings) >= 2 and all(len(s) <= 255 for s in strings)
    w = world()
    w.add(record)
    for ip in addresses:
        assert verdict(w, ip) == "pass"


def test_a_change_past_450_octets_or_10_lookups_is_refused_naming_the_rule() -> None:
    zone = OwnedZone.of(Zone(ZONE, 1, ()))
    many = [f"127.1.{n}.{n}" for n in range(1, 30)]
    with pytest.raises(SafetyRefusal) as caught:
        plan_spf(zone, owner="o", name=ZONE, ttl=300, addresses=many, reason="t")
    assert caught.value.rule == "RFC 7208" and "octets" in caught.value.message

    w = world()
    converge(w)
    record = w.records[(ZONE, "TXT")]
    includes = " ".join(f"include:_s{n}.example.net" for n in range(11))
    text = policy(w).replace(" ~all", f" {includes} ~all")
    w.records[record.key] = Record(record.name, "TXT", record.ttl, [text])  # bare: one string
    quiet = planner.plan(config(), w.observe())
    assert not [f for f in quiet.findings if f.kind == "spf-lookups"], "no change of ours"
    plan = planner.plan(config(shrunk=True), w.observe())
    assert [f.severity for f in plan.findings if f.kind == "spf-lookups"] == ["critical"]
    with pytest.raises(SafetyRefusal) as refused:
        safety.check(config(shrunk=True), w.observe(), plan)
    assert exit_code(refused.value) == 4
    assert "RFC 7208" in str(refused.value) and "11 mechanisms that cost a DNS lookup" in str(
        refused.value
    )


def test_audit_says_spf_lookups_for_a_policy_past_the_limit() -> None:
    from eipkeeper.audit import Scene, audit
    from eipkeeper.cloud.ranges import Unavailable

    w = world()
    converge(w)
    record = w.records[(ZONE, "TXT")]
    includes = " ".join(f"include:_s{n}.example.net" for n in range(11))
    text = policy(w).replace(" ~all", f" {includes} ~all")
    w.records[record.key] = Record(record.name, "TXT", record.ttl, [text])
    scene = Scene(observation=w.observe(), instances=(), ranges=Unavailable("test"))
    found = [f for f in audit(config(), scene).findings if f.kind == "spf-lookups"]
    assert [(f.severity, f.subject) for f in found] == [("critical", f"TXT {ZONE}")]
    assert "11 mechanisms that cost a DNS lookup" in found[0].detail


def test_a_txt_record_eipkeeper_does_not_own_is_left_alone_and_blocks_no_claim() -> None:
    w = world()
    w.add(Record(ZONE, "TXT", 300, ['"v=spf1 ip4:192.0.2.10 -all"']))
    plan = planner.plan(config(), w.observe())
    assert [f.kind for f in plan.findings if f.subject == ZONE] == ["foreign-owner"]
    assert len([a for a in plan.actions if isinstance(a, Claim)]) == 2, "claims go ahead"
    w.apply(plan)
    assert policy(w) == "v=spf1 ip4:192.0.2.10 -all", "S4: not written"


def test_records_shows_the_spf_policy_as_ours_and_another_txt_value_as_nobodys() -> None:
    from eipkeeper.dns.inventory import by_owner

    w = world()
    converge(w)
    record = w.records[(ZONE, "TXT")]
    w.records[record.key] = Record(ZONE, "TXT", record.ttl, [*record.values, '"verify=abc"'])
    owned = w.observe().zone
    assert owned is not None
    rows = by_owner(owned.get(ZONE, "TXT"))  # type: ignore[arg-type]
    assert [(who, len(values)) for who, values in rows] == [("mail-prod", 1), ("-", 1)]
    assert rows[1][1] == ('"verify=abc"',)


def test_run_holds_back_an_spf_change_past_the_limit_alone_and_still_fails_over() -> None:
    """Issue 20: a broken hand-written SPF record must never make a failover wait. `apply`
    (Reconcile()) refuses the plan, exit 4 naming RFC 7208; a `run` round
    (Reconcile(unattended=True)) leaves the SPF unit out and moves the failed holder's address."""
    from typing import cast

    from eipkeeper.cloud.ec2 import Ec2
    from eipkeeper.controller.engine import Engine
    from eipkeeper.controller.intents import Reconcile
    from eipkeeper.controller.plan import DnsUnit, Move

    w = world()
    w.instances.append(instance("mx-c", "mx", n=3))  # a healthy spare to fail over to
    converge(w)
    record = w.records[(ZONE, "TXT")]
    includes = " ".join(f"include:_s{n}.example.net" for n in range(11))
    text = policy(w).replace(" ~all", f" {includes} ~all")
    w.records[record.key] = Record(record.name, "TXT", record.ttl, [text])
    failed = w.addresses[0].instance_id
    assert failed
    w.health[failed] = False
    seen = w.observe()
    plan = planner.plan(config(shrunk=True), seen)
    moves = [a for a in plan.actions if isinstance(a, Move)]
    assert [m.from_instance for m in moves] == [failed]
    assert not [u for u in plan.actions if isinstance(u, DnsUnit) and u.reason.startswith("SPF")]
    engine = Engine(config(shrunk=True), ec2=cast(Ec2, None), registry=None)

    refused = engine.checked(Reconcile(), seen, plan).refusal
    assert refused is not None and exit_code(refused) == 4 and refused.rule == "RFC 7208"

    held = engine.checked(Reconcile(unattended=True), seen, plan)
    assert held.refusal is None, held.refusal
    assert [a for a in held.plan.actions if isinstance(a, Move)] == moves
    assert [f.kind for f in held.plan.findings if f.subject == ZONE] == ["spf-lookups"]
