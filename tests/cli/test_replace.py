"""`replace INSTANCE` as a user runs it on the sandbox: the successor launched once, the EIP
moved onto it, the reserved address given back; a rerun does nothing more."""

from __future__ import annotations

from typing import Any

from tests.conftest import Cloud
from tests.support.cli import eipkeeper


def addresses(cloud: Cloud) -> dict[str, dict[str, Any]]:
    found = cloud.client("ec2").describe_addresses()["Addresses"]
    return {
        next(t["Value"] for t in a["Tags"] if t["Key"] == "eipkeeper:hostname"): a
        for a in found
        if any(t["Key"] == "eipkeeper:hostname" for t in a.get("Tags", []))
    }


def successors(cloud: Cloud, of: str) -> list[dict[str, Any]]:
    reply = cloud.client("ec2").describe_instances(
        Filters=[{"Name": "tag:eipkeeper:successor-of", "Values": [of]}]
    )
    return [i for r in reply["Reservations"] for i in r["Instances"]]


def test_replace_moves_the_address_to_a_larger_successor_and_gives_mx3_back(
    cloud: Cloud,
) -> None:
    assert eipkeeper("apply", "--yes", env=cloud.env).code == 0
    before = addresses(cloud)
    old = before["mx1.example.test"]["InstanceId"]
    ran = eipkeeper(
        "-o", "json", "replace", old, "--instance-type", "m5.large", "--yes", env=cloud.env
    )
    assert ran.code == 0, ran.stderr
    [successor] = successors(cloud, old)
    assert successor["InstanceType"] == "m5.large"
    after = addresses(cloud)
    assert after["mx1.example.test"]["InstanceId"] == successor["InstanceId"]
    assert after["mx1.example.test"]["PublicIp"] == before["mx1.example.test"]["PublicIp"]
    assert not after["mx3.example.test"].get("InstanceId"), "the reserved address is back"
    assert after["mx2.example.test"]["InstanceId"] == before["mx2.example.test"]["InstanceId"]
    assert "take-mail" not in ran.stdout and "claim" in ran.stderr, "mail on mx3 first"
    assert ran.json()["successor_id"] == successor["InstanceId"]
    assert ran.json()["gap_seconds"] is not None

    again = eipkeeper("-o", "json", "replace", old, "--yes", env=cloud.env)
    assert again.code == 0, again.stderr
    assert again.json()["changed"] is False
    assert len(successors(cloud, old)) == 1, "launched once, however often it runs"

    # The successor's Name says whose it is and is unique; by that name the same
    # replacement resumes (it launched a second successor, then failed on the shared name).
    tags = {t["Key"]: t["Value"] for t in successor["Tags"]}
    [former] = [
        i
        for r in cloud.client("ec2").describe_instances(InstanceIds=[old])["Reservations"]
        for i in r["Instances"]
    ]
    old_name = next(t["Value"] for t in former["Tags"] if t["Key"] == "Name")
    assert tags["Name"] == f"{old_name}-successor-{old}"
    by_name = eipkeeper("-o", "json", "replace", tags["Name"], "--yes", env=cloud.env)
    assert by_name.code == 0, by_name.stderr
    assert by_name.json()["changed"] is False
    assert by_name.json()["successor_id"] == successor["InstanceId"]
    assert len(successors(cloud, old)) == 1
    assert not successors(cloud, successor["InstanceId"]), "no successor of the successor"

    # The old holder is drained as the reference says: out of service, still running.
    [former] = [
        i
        for r in cloud.client("ec2").describe_instances(InstanceIds=[old])["Reservations"]
        for i in r["Instances"]
    ]
    assert former["State"]["Name"] == "running"
    assert "eipkeeper:drain" in {t["Key"] for t in former["Tags"]}
    assert "drain" in ran.json()["old_drained"]


def test_replace_refuses_an_instance_of_a_dynamic_service(cloud: Cloud) -> None:
    ran = eipkeeper("replace", "scan-a", "--yes", env=cloud.env)
    assert ran.code == 2
    assert "no elastic service" in ran.stderr and "Traceback" not in ran.stderr
