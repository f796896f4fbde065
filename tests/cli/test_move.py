"""`eipkeeper move` as a user runs it against the sandbox: the switch measured, the refusals."""

from __future__ import annotations

import asyncio
import time

import pytest

from eipkeeper.health.probes import probe_smtp
from tests.conftest import Cloud
from tests.support.cli import eipkeeper

SMTP_PORT = 2525
DEADLINE = 30.0


def answered_by(ip: str) -> str:
    """Who answers SMTP at IP now ("" for nobody)."""
    result = asyncio.run(probe_smtp(ip, SMTP_PORT, timeout=2.0))
    return result.answered_by if result.ok else ""


def wait_answering(ip: str, instance_id: str) -> None:
    end = time.monotonic() + DEADLINE
    while answered_by(ip) != instance_id:
        if time.monotonic() > end:
            raise AssertionError(f"{ip} never answered from {instance_id}")
        time.sleep(0.05)


def wait_silent(ip: str) -> None:
    end = time.monotonic() + DEADLINE
    while answered_by(ip):
        if time.monotonic() > end:
            raise AssertionError(f"{ip} never went silent")
        time.sleep(0.05)


def pool_address(cloud: Cloud, hostname: str) -> dict[str, str]:
    for item in cloud.client("ec2").describe_addresses()["Addresses"]:
        if {"Key": "eipkeeper:hostname", "Value": hostname} in item.get("Tags", []):
            return {"ip": item["PublicIp"], "allocation_id": item["AllocationId"]}
    raise AssertionError(f"no pool address for {hostname}")


def held_by(cloud: Cloud, name: str, *, hostname: str = "mx1.example.test") -> str:
    """The pool address of HOSTNAME put on instance NAME, answering from it; its IP."""
    address = pool_address(cloud, hostname)
    instance_id = cloud.instance(name)["InstanceId"]
    cloud.client("ec2").associate_address(
        AllocationId=address["allocation_id"], InstanceId=instance_id, AllowReassociation=False
    )
    wait_answering(address["ip"], instance_id)
    return address["ip"]


def holder(cloud: Cloud, ip: str) -> str:
    return str((cloud.address(ip) or {}).get("InstanceId", ""))


def test_move_reports_the_switch_and_the_new_instance_answers(cloud: Cloud) -> None:
    ip = held_by(cloud, "mx-a")
    old, new = cloud.instance("mx-a")["InstanceId"], cloud.instance("mx-b")["InstanceId"]

    ran = eipkeeper(
        "-o", "json", "move", "mx1.example.test", "--to", "mx-b", "--yes", env=cloud.env
    )
    assert ran.code == 0, ran.stderr
    report = ran.json()
    assert isinstance(report, dict), "move prints one JSON object"
    assert (report["public_ip"], report["old_instance_id"], report["new_instance_id"]) == (
        ip,
        old,
        new,
    )
    assert report["changed"] is True and report["check"] == "smtp"
    assert report["identified"] is True and report["steady"] is True
    assert report["gap_seconds"] >= 0 and report["flaps"] >= 0
    assert report["probes"] >= report["answered"] > 1
    # Probing began before the call, while the old instance still held the address.
    assert report["last_old_answer_after"] is not None
    # The new instance cannot answer before the call that gave it the address.
    assert report["first_new_answer_after"] >= 0
    assert report["steady_after"] >= report["first_new_answer_after"]
    assert report["other_answers"] == []

    assert holder(cloud, ip) == new
    assert answered_by(ip) == new
    assert cloud.instance("mx-a").get("PublicIpAddress") not in (None, ip), "a new dynamic IP"


def test_move_table_names_the_old_and_new_instance(cloud: Cloud) -> None:
    held_by(cloud, "mx-a")
    old, new = cloud.instance("mx-a")["InstanceId"], cloud.instance("mx-c")["InstanceId"]
    ran = eipkeeper(
        "-o", "table", "move", "mx1.example.test", "--to", "mx-c", "--yes", env=cloud.env
    )
    assert ran.code == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith("moved ") and f"from {old} (mx-a) to {new} (mx-c)" in lines[0]
    assert any(line.strip().startswith("last answer, old") and old in line for line in lines)
    assert any(line.strip().startswith("first answer, new") and new in line for line in lines)
    assert any(line.strip().startswith("gap with no answer") for line in lines)
    assert "takes it away for good" in ran.stderr, "mx-c's dynamic IP goes: said on stderr"


def test_move_refuses_an_unhealthy_target_s6(cloud: Cloud) -> None:
    ip = held_by(cloud, "mx-a")
    target = cloud.instance("mx-b")
    cloud.client("ec2").create_tags(
        Resources=[target["InstanceId"]], Tags=[{"Key": "sandbox:answer", "Value": "no"}]
    )
    wait_silent(target["PublicIpAddress"])
    ran = eipkeeper("move", ip, "--to", "mx-b", "--yes", env=cloud.env)
    assert ran.code == 4
    assert "refused by S6" in ran.stderr and target["InstanceId"] in ran.stderr
    assert "connection refused" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    assert holder(cloud, ip) == cloud.instance("mx-a")["InstanceId"]


def test_move_refuses_an_address_of_no_owner_s4(cloud: Cloud) -> None:
    ec2 = cloud.client("ec2")
    foreign = ec2.allocate_address(Domain="vpc")
    old = cloud.instance("mx-a")["InstanceId"]
    ec2.associate_address(
        AllocationId=foreign["AllocationId"], InstanceId=old, AllowReassociation=False
    )
    ran = eipkeeper("move", foreign["PublicIp"], "--to", "mx-b", "--yes", env=cloud.env)
    assert ran.code == 4
    assert "refused by S4" in ran.stderr and "no owner" in ran.stderr
    assert holder(cloud, foreign["PublicIp"]) == old


def test_moving_a_free_address_is_associate_and_asking_needs_yes(cloud: Cloud) -> None:
    ip = pool_address(cloud, "mx2.example.test")["ip"]
    free = eipkeeper("move", ip, "--to", "mx-b", "--yes", env=cloud.env)
    assert free.code == 2 and "eipkeeper associate" in free.stderr
    assert holder(cloud, ip) == ""

    held = held_by(cloud, "mx-a", hostname="mx2.example.test")
    asked = eipkeeper("move", held, "--to", "mx-b", env=cloud.env)
    assert asked.code == 2 and "--yes" in asked.stderr and "for good" in asked.stderr
    assert holder(cloud, held) == cloud.instance("mx-a")["InstanceId"]


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_moving_to_the_holder_changes_nothing(cloud: Cloud, fmt: str) -> None:
    ip = held_by(cloud, "mx-a")
    ran = eipkeeper("-o", fmt, "move", ip, "--to", "mx-a", env=cloud.env)
    assert ran.code == 0, ran.stderr
    if fmt == "json":
        assert ran.json()["changed"] is False
    else:
        assert "already on" in ran.stdout
