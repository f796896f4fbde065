"""Every mutating command goes through the engine's one safety check: the refusals a user
meets through the CLI, one table per rule, each leaving the cloud and the zone as they were."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Cloud
from tests.support.cli import Ran, eipkeeper


def records(cloud: Cloud) -> dict[tuple[str, str], list[str]]:
    listed = eipkeeper("-o", "json", "records", env=cloud.env)
    assert listed.code == 0, listed.stderr
    return {(r["name"], r["type"]): sorted(r["values"]) for r in listed.json()}


def holders(cloud: Cloud) -> dict[str, str]:
    """Public IP -> instance id for every EIP of the account."""
    found = cloud.client("ec2").describe_addresses()["Addresses"]
    return {a["PublicIp"]: a.get("InstanceId", "") for a in found}


def applied(cloud: Cloud) -> Cloud:
    done = eipkeeper("apply", "--yes", env=cloud.env)
    assert done.code == 0, done.stderr
    return cloud


def refused(ran: Ran, rule: str, *words: str) -> None:
    assert ran.code == 4, (ran.code, ran.stderr)
    first = ran.stderr.strip().splitlines()[-1]
    assert f"refused by {rule}" in first, first
    for word in words:
        assert word in first, (word, first)
    assert "Traceback" not in ran.stderr


def test_move_onto_a_published_dynamic_instance_is_refused_by_s1(cloud: Cloud) -> None:
    applied(cloud)
    zone, eips = records(cloud), holders(cloud)
    ran = eipkeeper("move", "mx1.example.test", "--to", "scan-b", "--yes", env=cloud.env)
    refused(ran, "S1", "scan.example.test", cloud.instance("scan-b")["PublicIpAddress"])
    assert records(cloud) == zone
    assert holders(cloud) == eips


def test_associate_onto_a_published_dynamic_instance_is_refused_by_s1(cloud: Cloud) -> None:
    applied(cloud)
    zone, eips = records(cloud), holders(cloud)
    ran = eipkeeper("associate", "mx3.example.test", "scan-a", "--yes", env=cloud.env)
    refused(ran, "S1", "scan.example.test")
    assert records(cloud) == zone
    assert holders(cloud) == eips


def _unpublished_scanner(cloud: Cloud) -> str:
    """A new spam scanner, not yet in DNS (no round has run since it started)."""
    ec2 = cloud.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    made: Any = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": "Role", "Value": "scan"}, {"Key": "Name", "Value": "scan-new"}],
            }
        ],
    )
    return str(made["Instances"][0]["InstanceId"])


@pytest.mark.parametrize("command", ["move", "associate"])
def test_an_instance_of_another_service_takes_no_pool_address_s6(
    cloud: Cloud, command: str
) -> None:
    applied(cloud)
    scanner = _unpublished_scanner(cloud)
    eips = holders(cloud)
    if command == "move":
        ran = eipkeeper("move", "mx1.example.test", "--to", scanner, "--yes", env=cloud.env)
    else:
        ran = eipkeeper("associate", "mx3.example.test", scanner, "--yes", env=cloud.env)
    refused(ran, "S6", "service scan, not in mx")
    assert holders(cloud) == eips


def test_release_of_a_published_address_is_refused_by_s2(cloud: Cloud) -> None:
    applied(cloud)
    ec2 = cloud.client("ec2")
    ip = next(ip for ip, holder in holders(cloud).items() if not holder)  # mx3, reserved, in MX
    refused(eipkeeper("release", ip, "--yes", env=cloud.env), "S2", ip)
    assert ip in holders(cloud)
    held = next(ip for ip, holder in holders(cloud).items() if holder)
    refused(eipkeeper("release", held, "--yes", env=cloud.env), "S2", "disassociate it first")
    assert ec2.describe_addresses(PublicIps=[held])["Addresses"][0].get("InstanceId")


def test_release_inside_the_quarantine_is_refused_by_s3_and_allowed_after(cloud: Cloud) -> None:
    ec2 = cloud.client("ec2")
    made = ec2.allocate_address(Domain="vpc")
    ip, allocation = made["PublicIp"], made["AllocationId"]
    ec2.create_tags(
        Resources=[allocation],
        Tags=[
            {"Key": "eipkeeper:owner", "Value": "sandbox"},
            {"Key": "eipkeeper:left-dns-at", "Value": "2999-01-01T00:00:00"},
        ],
    )
    refused(eipkeeper("release", ip, "--yes", env=cloud.env), "S3", "quarantine")
    ec2.create_tags(
        Resources=[allocation], Tags=[{"Key": "eipkeeper:left-dns-at", "Value": "2000-01-01"}]
    )
    released = eipkeeper("release", ip, "--yes", env=cloud.env)
    assert released.code == 0, released.stderr
    assert ip not in holders(cloud)


def test_a_leaving_address_is_refused_by_s3(cloud: Cloud) -> None:
    ec2 = cloud.client("ec2")
    made = ec2.allocate_address(Domain="vpc")
    ec2.create_tags(
        Resources=[made["AllocationId"]],
        Tags=[
            {"Key": "eipkeeper:owner", "Value": "sandbox"},
            {"Key": "eipkeeper:leaving-dns", "Value": "2026-01-01T00:00:00"},
        ],
    )
    refused(eipkeeper("release", made["PublicIp"], "--yes", env=cloud.env), "S3", "leaving DNS")
    assert made["PublicIp"] in holders(cloud), "still allocated"


def test_a_move_onto_another_holder_is_refused_rather_than_displace_its_address(
    cloud: Cloud,
) -> None:
    """Found by the model test: EC2 would silently take mx2's address off its holder."""
    applied(cloud)
    eips = holders(cloud)
    mx2_holder = next(
        a["InstanceId"]
        for a in cloud.client("ec2").describe_addresses()["Addresses"]
        if {"Key": "eipkeeper:hostname", "Value": "mx2.example.test"} in a.get("Tags", [])
    )
    ran = eipkeeper("move", "mx1.example.test", "--to", mx2_holder, "--yes", env=cloud.env)
    refused(ran, "S6", "would displace")
    assert holders(cloud) == eips
