"""The sandbox's blocklist: every Nth allocation listed, a tag lists by hand, Spamhaus's answers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from eipkeeper.config import ReputationConfig, load
from eipkeeper.dns.dnsbl import Dnsbl
from eipkeeper.sandbox import INSTANT, Sandbox
from eipkeeper.sandbox.dnsbl import ZONE


@pytest.fixture
def listed_sandbox() -> Iterator[Sandbox]:
    # Instant: the blocklist's answers are judged right after the test's own allocations.
    with Sandbox(port=0, listed=3, data_plane=False, events=False, **INSTANT) as sandbox:
        yield sandbox


def _lookup(sandbox: Sandbox) -> Dnsbl:
    return Dnsbl(ReputationConfig(dnsbl=[ZONE], resolver=sandbox.dnsbl_address, timeout=1.0))


def test_every_third_allocation_is_listed_and_the_sample_pool_is_clean(
    listed_sandbox: Sandbox,
) -> None:
    ec2 = listed_sandbox.client("ec2")
    lookup = _lookup(listed_sandbox)
    sample = [a["PublicIp"] for a in ec2.describe_addresses()["Addresses"]]
    assert sample and all(lookup.check(ip, now=0.0).clean for ip in sample)
    fresh = [ec2.allocate_address(Domain="vpc")["PublicIp"] for _ in range(6)]
    verdicts = [lookup.listing(ip, ZONE) for ip in fresh]
    assert [v.state for v in verdicts] == ["clean", "clean", "listed"] * 2
    assert verdicts[2].code == "127.0.0.2"
    assert "allocation 3" in verdicts[2].reason


def test_a_tag_lists_an_address_by_hand(listed_sandbox: Sandbox) -> None:
    ec2 = listed_sandbox.client("ec2")
    address = ec2.describe_addresses()["Addresses"][0]
    lookup = _lookup(listed_sandbox)
    assert lookup.listing(address["PublicIp"], ZONE).state == "clean"
    ec2.create_tags(
        Resources=[address["AllocationId"]], Tags=[{"Key": "sandbox:dnsbl", "Value": "listed"}]
    )
    listing = lookup.listing(address["PublicIp"], ZONE)
    assert (listing.state, listing.code) == ("listed", "127.0.0.2")
    assert "by hand" in listing.reason


def test_the_test_point_is_listed_and_foreign_zones_are_refused(listed_sandbox: Sandbox) -> None:
    lookup = _lookup(listed_sandbox)
    assert lookup.listing("127.0.0.2", ZONE).listed
    assert lookup.listing("127.0.0.2", "zen.spamhaus.org").state == "error"


def test_the_sample_config_checks_the_mx_pool_against_the_blocklist(
    listed_sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "sandbox.toml"
    listed_sandbox.write_config(path)
    reputation = load(path).service("mx").reputation
    assert reputation is not None
    assert reputation.dnsbl == [ZONE]
    assert reputation.resolver == listed_sandbox.dnsbl_address
