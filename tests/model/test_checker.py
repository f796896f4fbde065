"""The model test is only as good as its checker: break the rules by hand, behind eipkeeper's
back or through the proxy as eipkeeper would, and see each one named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import dns.update
import pytest

from tests.model.invariants import Checker
from tests.model.world import ZONE, World, world
from tests.support import cli


@pytest.fixture
def applied(tmp_path: Path) -> Iterator[tuple[World, Checker]]:
    with world(tmp_path) as here:
        checker = Checker(here)
        here.on_call.append(checker.on_call)
        first = cli.here("apply", "--yes", env=here.env)
        assert first.code == 0, first.stderr
        yield here, checker


def rules(checker: Checker) -> list[str]:
    return [v.rule for v in checker.violations]


def test_s1_allows_a_window_for_the_cloud_until_a_round_and_no_longer(
    applied: tuple[World, Checker],
) -> None:
    here, checker = applied
    before = here.snapshot()
    scan_a = before.by_name("scan-a")
    assert scan_a is not None
    here.client("ec2").terminate_instances(InstanceIds=[scan_a["InstanceId"]])
    checker.behind_the_back("terminate scan-a")
    after = here.snapshot()
    checker.check(before, after, command="")
    assert rules(checker) == [] and len(checker.windows) == 1, "the window opens"
    checker.round_done()  # a round that did not take the record out
    checker.check(after, here.snapshot(), command="run")
    assert rules(checker) == ["S1"]


def test_a_value_published_without_cause_breaks_s1_at_once(applied: tuple[World, Checker]) -> None:
    here, checker = applied
    before = here.snapshot()
    scan_b = before.by_name("scan-b")
    assert scan_b is not None
    here.client("ec2").stop_instances(InstanceIds=[scan_b["InstanceId"]])
    checker.check(before, here.snapshot(), command="apply")
    assert rules(checker) == ["S1"]


def test_s4_sees_a_planted_record_changed(applied: tuple[World, Checker]) -> None:
    here, checker = applied
    here.dns_update(lambda u: u.add(f"www.{ZONE}.", 300, "A", "192.0.2.80"))
    zone = here.zone()
    checker.planted[(f"www.{ZONE}", "A")] = zone[(f"www.{ZONE}", "A")]

    def change(update: dns.update.UpdateMessage) -> None:
        update.replace(f"www.{ZONE}.", 300, "A", "192.0.2.81")

    here.dns_update(change)
    snapshot = here.snapshot()
    checker.check(snapshot, snapshot, command="apply")
    assert rules(checker) == ["S4"]


def test_a_release_of_a_published_eip_through_the_proxy_breaks_s2(
    applied: tuple[World, Checker],
) -> None:
    here, checker = applied
    checker.check(None, here.snapshot(), command="apply")  # it sees what is published
    published = next(a for a in here.snapshot().pool() if a.get("AssociationId"))
    # As eipkeeper would call it: through the proxy, with the checker watching.
    ec2 = boto3.client(
        "ec2",
        endpoint_url=here.proxy.url,
        region_name="us-east-1",
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    checker.command = "release"
    ec2.disassociate_address(AssociationId=published["AssociationId"])
    ec2.reset_address_attribute(AllocationId=published["AllocationId"], Attribute="domain-name")
    ec2.release_address(AllocationId=published["AllocationId"])
    assert rules(checker) == ["S2", "S3"], checker.violations
