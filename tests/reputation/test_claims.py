"""A listed pool address is never claimed: not by a standby, not by a burst, not by replace.
Pure: the planner on an observation whose blocklist verdicts the test sets."""

from __future__ import annotations

import dataclasses

from eipkeeper.config import Config
from eipkeeper.controller import planner
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Claim, Launch
from eipkeeper.model import TAG_BURST
from eipkeeper.reputation import Listing, Reputation
from tests.controller.test_burst import BURST, NOW
from tests.controller.world import World
from tests.support import builders
from tests.support.builders import MX_HOSTNAMES, SCAN, ZONE, eip, instance, mx

ZONE_BL = "dnsbl.example.test"
REPUTATION = f'{{ dnsbl = ["{ZONE_BL}"] }}'


def config(*, spf: bool = False) -> Config:
    extra = {"spf": f'"{ZONE}"'} if spf else {}
    mail = mx(*MX_HOSTNAMES, when_unbacked="keep", burst=BURST, reputation=REPUTATION, **extra)
    return builders.config(mail, SCAN, source="t.toml")


def verdict(ip: str, state: str) -> Reputation:
    code = {"listed": "127.0.0.2", "error": "127.255.255.254", "clean": ""}[state]
    return Reputation(ip, (Listing(ip, ZONE_BL, state, code, "why"),))  # type: ignore[arg-type]


def seen_with(w: World, states: dict[str, str], *, load: float = 100.0) -> Observation:
    base = w.observe()
    verdicts = {a.public_ip: verdict(a.public_ip, "clean") for a in base.addresses}
    verdicts.update({ip: verdict(ip, state) for ip, state in states.items()})
    return dataclasses.replace(base, reputation=verdicts, load={"mx": load}, now=NOW)


def test_a_standby_claims_a_clean_address_and_never_a_listed_one() -> None:
    w = World(
        addresses=[eip(n, hostname=f"mx{n}.{ZONE}") for n in (1, 2, 3)],
        instances=[instance("mx-a", "mx", n=1), instance("mx-b", "mx", n=2)],
    )
    listed = w.addresses[0].public_ip
    # A sending service: the first round puts the pool in SPF, the next one claims.
    w.apply(planner.plan(config(spf=True), seen_with(w, {listed: "listed"})))
    plan = planner.plan(config(spf=True), seen_with(w, {listed: "listed"}))
    claims = [a for a in plan.actions if isinstance(a, Claim)]
    assert [c.public_ip for c in claims] == [w.addresses[1].public_ip]
    finding = next(f for f in plan.findings if f.subject == listed)
    assert (finding.kind, finding.severity) == ("dnsbl-listed", "critical")
    assert "listed by dnsbl.example.test (127.0.0.2: why)" in finding.message


def test_a_zone_error_keeps_the_address_unclaimed_too() -> None:
    w = World(addresses=[eip(1, hostname=f"mx1.{ZONE}")], instances=[instance("mx-a", "mx", n=1)])
    ip = w.addresses[0].public_ip
    plan = planner.plan(config(), seen_with(w, {ip: "error"}))
    assert not [a for a in plan.actions if isinstance(a, Claim)]
    assert [(f.kind, f.severity) for f in plan.findings if f.subject == ip] == [
        ("dnsbl-unavailable", "warning")
    ]


def test_a_burst_never_claims_a_listed_reserved_address_nor_launches_for_it() -> None:
    w = World(
        addresses=[eip(n, hostname=f"mx{n}.{ZONE}") for n in (1, 2, 3)],
        instances=[instance("mx-a", "mx", n=1), instance("mx-b", "mx", n=2)],
    )
    cfg = config()
    w.apply(planner.plan(cfg, seen_with(w, {})))
    reserved = w.addresses[2].public_ip
    high = planner.plan(cfg, seen_with(w, {reserved: "listed"}, load=900.0))
    assert not [a for a in high.actions if isinstance(a, Launch)]
    assert any(f.kind == "dnsbl-listed" and f.subject == reserved for f in high.findings)
    # A burst instance already up (launched before the listing) does not take it either.
    w.instances.append(instance("mx-burst", "mx", n=9, tags={TAG_BURST: f"mx3.{ZONE}"}))
    again = planner.plan(cfg, seen_with(w, {reserved: "listed"}, load=900.0))
    assert not [a for a in again.actions if isinstance(a, Claim)]
    clean = planner.plan(cfg, seen_with(w, {}, load=900.0))
    assert [a.public_ip for a in clean.actions if isinstance(a, Claim)] == [reserved]
