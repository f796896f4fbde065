"""`drain` run in-process on a fake clock against the sandbox and a real BIND: S2 is checked at
every step and all through the TTL wait, which takes no real time."""

from __future__ import annotations

from dataclasses import replace

import pytest

from eipkeeper.cloud.aws import AwsSession
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import Config, load
from eipkeeper.dns.factory import registry_from_config
from eipkeeper.drain.runner import Drainer
from eipkeeper.health.tls import TlsContexts
from tests.drain.support import Fleet
from tests.support.clock import FakeClock

SCAN = "scan.example.test"


def drainer_for(fleet: Fleet, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> Drainer:
    for key, value in fleet.env.items():
        monkeypatch.setenv(key, value)
    config: Config = load(fleet.cloud.config)
    return Drainer(
        config=config,
        ec2=Ec2(AwsSession(region=config.region)),
        registry=registry_from_config(config),
        tls=TlsContexts(relative=config.relative),
        **kwargs,  # type: ignore[arg-type]
    )


def test_a_dynamic_instance_leaves_dns_is_confirmed_waited_out_then_terminated(
    slow_fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = slow_fleet
    scan_a, ip = fleet.named("scan-a")
    _, other = fleet.named("scan-b")
    assert fleet.served(SCAN) == {ip, other}
    clock = FakeClock()
    steps: list[str] = []

    def s2_holds(text: str) -> None:
        steps.append(text)
        state, _ = fleet.described(scan_a)
        if state != "running":
            assert ip not in fleet.served(SCAN), f"S2: {state} while in DNS, at {text!r}"

    def sleep(seconds: float) -> None:
        # While "waiting": the address is already gone from every server, the instance runs.
        state, tag = fleet.described(scan_a)
        assert state == "running"
        assert tag.startswith("confirmed ")
        assert fleet.served(SCAN) == {other}
        clock.advance(seconds)

    drainer = drainer_for(fleet, monkeypatch, clock=clock.time, sleep=sleep, on_step=s2_holds)
    instance = drainer.ec2.instance(scan_a)
    preview = drainer.prepare(instance, drainer.config.service("scan"), then="terminate")
    assert (preview.route, preview.steps) == ("dns", ("withdraw", "confirm", "wait", "act"))
    assert fleet.served(SCAN) == {ip, other}, "prepare changes nothing"

    out = drainer.execute(preview, then="terminate")

    assert out.phases == ("started", "dns-out", "confirmed", "waited", "done")
    assert out.ttl == 60 and out.margin == 30.0
    assert clock.slept >= 60 + 30, "the TTL and the margin passed on the (fake) clock"
    assert out.waited is not None and out.waited >= 90
    assert out.changed == (f"update A {SCAN}: {' | '.join(sorted([ip, other]))} -> {other}",)
    assert out.action == "terminated"
    state, tag = fleet.described(scan_a)
    assert state in ("shutting-down", "terminated")
    assert tag == "done then=terminate"
    assert fleet.served(SCAN) == {other}
    assert any(s.startswith("every authoritative server serves the removal") for s in steps)


def test_a_drain_resumed_after_confirmation_waits_only_what_is_left(
    slow_fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet = slow_fleet
    scan_a, ip = fleet.named("scan-a")
    clock = FakeClock()
    first = drainer_for(fleet, monkeypatch, clock=clock.time, sleep=clock.advance)
    preview = first.prepare(first.ec2.instance(scan_a), first.config.service("scan"), then="stop")
    # Stop after the confirmation, as a crash would: the steps up to it, no more.
    cut = replace(preview, steps=preview.steps[:2])
    first.execute(cut, then="stop")
    _, tag = fleet.described(scan_a)
    assert tag.startswith("confirmed at=")
    clock.advance(80.0)  # the process was down for 80 s

    again = drainer_for(fleet, monkeypatch, clock=clock.time, sleep=clock.advance)
    resumed = again.prepare(again.ec2.instance(scan_a), again.config.service("scan"), then="stop")
    assert resumed.phase is not None and resumed.phase.name == "confirmed"
    assert resumed.steps == ("wait", "act")
    before = clock.slept
    out = again.execute(resumed, then="stop")
    assert 10 <= clock.slept - before <= 12, "90 s from the confirmation, 80 s were gone"
    assert out.phases == ("waited", "done") and out.action == "stopped"
    assert ip not in fleet.served(SCAN)
    assert fleet.described(scan_a)[0] in ("stopping", "stopped")


def test_the_tag_is_written_before_dns_changes(
    slow_fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` never puts a draining instance back: it must see the tag before the removal."""
    fleet = slow_fleet
    scan_a, ip = fleet.named("scan-a")
    seen: list[tuple[str, bool]] = []

    def step(text: str) -> None:
        seen.append((fleet.described(scan_a)[1], ip in fleet.served(SCAN)))

    clock = FakeClock()
    drainer = drainer_for(fleet, monkeypatch, clock=clock.time, sleep=clock.advance, on_step=step)
    preview = drainer.prepare(
        drainer.ec2.instance(scan_a), drainer.config.service("scan"), then="nothing"
    )
    drainer.execute(preview, then="nothing")
    assert seen[0] == ("started", False), "first step: DNS changed, tag already there"
    assert all(not in_dns for _, in_dns in seen)
    assert fleet.described(scan_a) == ("running", "done then=nothing")
