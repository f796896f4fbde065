"""`addresses` and `instances` read through the engine (`Engine.survey`): the world once, and
health in one round. A failing holder is probed once, never again until decided (S6's loop is
a plan's, which `observe` keeps), and `addresses` reads every EIP's reverse name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.controller.engine import Engine
from eipkeeper.health.monitor import HealthMonitor
from eipkeeper.model import Address, Instance
from eipkeeper.sandbox.bind import free_port
from tests.support.builders import MX_HOSTNAMES, SCAN, config, eip, instance, mx
from tests.support.clock import FakeClock


class CountingEc2:
    """EC2's reads of a fixed fleet, each call written down."""

    def __init__(self, addresses: Sequence[Address], instances: Sequence[Instance]) -> None:
        self._addresses, self._instances = list(addresses), list(instances)
        self.calls: list[tuple[str, Any]] = []

    def addresses(self) -> list[Address]:
        self.calls.append(("DescribeAddresses", None))
        return self._addresses

    def instances(
        self,
        *,
        filters: Sequence[Mapping[str, Any]] = (),
        instance_ids: Sequence[str] = (),
        states: Sequence[str] = (),
    ) -> list[Instance]:
        self.calls.append(("DescribeInstances", tuple(instance_ids)))
        if instance_ids:
            return [i for i in self._instances if i.instance_id in instance_ids]
        return self._instances

    def reverse_names(self, allocation_ids: Sequence[str]) -> dict[str, str]:
        self.calls.append(("DescribeAddressesAttribute", tuple(allocation_ids)))
        return {a: f"ptr-of-{a}" for a in allocation_ids}


def _world(**mx_fields: str) -> tuple[Engine, CountingEc2, list[str]]:
    """A holder of mx1 whose check fails at once (nothing listens on its port), fail_after 3;
    an mx instance without an EIP; a scan instance; an EIP outside the services."""
    port = free_port()
    check = f'{{ kind = "smtp", port = {port}, interval = "5s", timeout = "1s", fail_after = 3 }}'
    cfg = config(mx(*MX_HOSTNAMES, check=check, **mx_fields), SCAN)
    fleet = [
        instance("mx-a", "mx", n=1),
        instance("mx-b", "mx", n=2),
        instance("scan-a", "scan", n=3),
    ]
    holder = eip(1, hostname=MX_HOSTNAMES[0], instance="i-0001")
    stray = eip(9, service="", instance="i-0099")  # held by an instance of no service
    ec2 = CountingEc2([holder, stray], [*fleet, instance("other", n=99)])
    said: list[str] = []
    clock = FakeClock()
    monitor = HealthMonitor(
        config=cfg, clock=clock, sleep=clock.advance, on_probe_again=said.append
    )
    engine = Engine(config=cfg, ec2=cast(Ec2, ec2), registry=None, health=monitor, clock=clock)
    return engine, ec2, said


def test_instances_probes_each_once_and_never_again() -> None:
    engine, ec2, again = _world()
    seen = engine.survey("instances")
    assert again == [], "a listing judges nothing: no second probe, no pause"
    assert cast(FakeClock, engine.clock).slept == 0
    assert seen.probe_ok == {"i-0001": False, "i-0002": False}
    assert seen.health["i-0001"] is None, "one failed probe is undecided, not failed (S6)"
    assert "i-0001" in seen.health_detail
    assert sorted(i.instance_id for i in seen.instances) == ["i-0001", "i-0002", "i-0003"]
    assert [name for name, _ in ec2.calls] == ["DescribeAddresses", "DescribeInstances"]
    assert seen.now == FakeClock().now


def test_a_plan_read_still_probes_the_holder_until_decided() -> None:
    engine, _, again = _world()
    seen = engine.observe()
    assert any("i-0001: 1 of 3 probes failed" in line for line in again)
    assert seen.health["i-0001"] is False


def test_addresses_reads_the_holders_and_every_reverse_name_and_probes_nothing() -> None:
    engine, ec2, again = _world(ptr="true")
    seen = engine.survey("addresses")
    assert again == [] and seen.probe_ok == {}
    assert ec2.calls == [
        ("DescribeAddresses", None),
        ("DescribeInstances", ("i-0001", "i-0099")),
        ("DescribeAddressesAttribute", ("eipalloc-0001", "eipalloc-0009")),
    ]
    assert seen.reverse["eipalloc-0009"] == "ptr-of-eipalloc-0009", "outside the ptr pool too"
    assert {i.instance_id for i in seen.instances} == {"i-0001", "i-0099"}


def test_addresses_reads_no_reverse_name_where_no_service_keeps_ptr() -> None:
    engine, ec2, _ = _world()
    seen = engine.survey("addresses")
    assert "DescribeAddressesAttribute" not in [name for name, _ in ec2.calls]
    assert seen.reverse == {}
