"""`audit` on an address's fitness to carry mail (pure: a model world, verdicts set here)."""

from __future__ import annotations

import dataclasses

from eipkeeper.audit import Scene, audit
from eipkeeper.cloud.ranges import Unavailable
from eipkeeper.config import Config
from eipkeeper.controller import planner
from eipkeeper.reputation import Listing, Reputation
from tests.controller.world import World
from tests.support import builders
from tests.support.builders import MX_HOSTNAMES, SCAN, ZONE, eip, instance, mx

BL = "dnsbl.example.test"


def config(*, spf: bool) -> Config:
    extra = {"spf": f'"{ZONE}"'} if spf else {}
    reputation = f'{{ dnsbl = ["{BL}"], fcrdns = true }}'
    return builders.config(mx(*MX_HOSTNAMES, reputation=reputation, **extra), SCAN)


def found(
    cfg: Config, w: World, verdicts: dict[str, Reputation], reverse: dict[str, str]
) -> list[tuple[str, str, str]]:
    seen = dataclasses.replace(w.observe(), reputation=verdicts, reverse=reverse)
    report = audit(cfg, Scene(observation=seen, instances=(), ranges=Unavailable("test")))
    return [
        (f.kind, f.severity, f.subject)
        for f in report.findings
        if f.kind.startswith(("dnsbl", "fcrdns"))
    ]


def settled(cfg: Config) -> World:
    w = World(
        addresses=[eip(n, hostname=f"mx{n}.{ZONE}") for n in (1, 2, 3)],
        instances=[instance(f"mx-{c}", "mx", n=i) for i, c in enumerate("abc", 1)],
    )
    for _ in range(3):
        w.apply(planner.plan(cfg, w.observe()))
    return w


def test_listed_is_critical_for_a_sending_service_and_an_error_is_unavailable() -> None:
    cfg = config(spf=True)
    w = settled(cfg)
    ips = [a.public_ip for a in w.addresses]
    verdicts = {
        ips[0]: Reputation(ips[0], (Listing(ips[0], BL, "listed", "127.0.0.2", "why"),)),
        ips[1]: Reputation(ips[1], (Listing(ips[1], BL, "error", "timeout", "no answer"),)),
        ips[2]: Reputation(ips[2], (Listing(ips[2], BL, "clean"),)),
    }
    reverse = {a.allocation_id: a.hostname for a in w.addresses}
    assert found(cfg, w, verdicts, reverse) == [
        ("dnsbl-listed", "critical", f"{ips[0]} (mx1.{ZONE})"),
        ("dnsbl-unavailable", "warning", f"{ips[1]} (mx2.{ZONE})"),
    ]
    without_spf = config(spf=False)
    assert ("dnsbl-listed", "warning", f"{ips[0]} (mx1.{ZONE})") in found(
        without_spf, settled(without_spf), verdicts, reverse
    )


def test_fcrdns_needs_the_ptr_name_to_resolve_back_to_the_address() -> None:
    cfg = config(spf=False)
    w = settled(cfg)
    first, second, third = w.addresses
    reverse = {
        first.allocation_id: f"mx1.{ZONE}",  # its A record is the address: confirmed
        second.allocation_id: f"mx1.{ZONE}",  # names mx1, whose A record is another address
    }  # the third has no reverse DNS at all
    assert found(cfg, w, {}, reverse) == [
        ("fcrdns-mismatch", "warning", f"{second.public_ip} (mx2.{ZONE})"),
        ("fcrdns-mismatch", "warning", f"{third.public_ip} (mx3.{ZONE})"),
    ]
