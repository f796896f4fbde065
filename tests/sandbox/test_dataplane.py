"""The data plane answers SMTP on each running instance's public address, as that instance."""

from __future__ import annotations

import smtplib
import time
from functools import partial

from mypy_boto3_ec2 import EC2Client

from eipkeeper.sandbox import Sandbox
from tests.sandbox.conftest import (
    TEST_DELAY,
    address,
    allocate,
    answered_by,
    eventually,
    greeting,
    launch,
    public_ip,
)


def _running(ec2: EC2Client, role: str) -> dict[str, str]:
    """Instance id -> public address of the running instances with Role=ROLE."""
    answer = ec2.describe_instances(
        Filters=[
            {"Name": "tag:Role", "Values": [role]},
            {"Name": "instance-state-name", "Values": ["running"]},
        ]
    )
    return {
        item["InstanceId"]: item["PublicIpAddress"]
        for reservation in answer["Reservations"]
        for item in reservation["Instances"]
    }


def test_every_sample_instance_greets_with_its_own_id(sandbox: Sandbox, ec2: EC2Client) -> None:
    fleet = {**_running(ec2, "mx"), **_running(ec2, "scan")}
    assert len(fleet) == 5
    for instance_id, ip in fleet.items():
        line = eventually(partial(greeting, ip, sandbox.smtp_port), what=f"SMTP on {ip}")
        assert line == f"220 {instance_id} ESMTP eipkeeper-sandbox"


def test_a_moved_address_answers_from_the_new_instance_after_the_delay(
    sandbox: Sandbox, ec2: EC2Client
) -> None:
    port = sandbox.smtp_port
    old, new = launch(ec2, "dp-old"), launch(ec2, "dp-new")
    allocation, eip = allocate(ec2)
    associated_at = time.monotonic()
    ec2.associate_address(AllocationId=allocation, InstanceId=old, AllowReassociation=False)
    eventually(lambda: answered_by(eip, port) == old, what=f"{eip} answered by {old}")
    # A fresh association is not seen before the delay: nobody answered until then.
    assert time.monotonic() - associated_at >= TEST_DELAY

    moved_at = time.monotonic()
    ec2.associate_address(AllocationId=allocation, InstanceId=new, AllowReassociation=True)
    seen: list[str | None] = []

    def switched() -> bool:
        seen.append(answered_by(eip, port))
        return seen[-1] == new

    eventually(switched, what=f"{eip} answered by {new} (saw {seen})")
    assert time.monotonic() - moved_at >= TEST_DELAY
    # Until the switch the old holder answered: no gap, no flapping back.
    first_new = seen.index(new)
    assert set(seen[:first_new]) <= {old}
    assert set(seen[first_new:]) == {new}
    assert address(ec2, allocation)["InstanceId"] == new


def test_an_instance_tagged_answer_no_goes_silent_and_comes_back(
    sandbox: Sandbox, ec2: EC2Client
) -> None:
    port = sandbox.smtp_port
    host = launch(ec2, "dp-answer")
    ip = public_ip(ec2, host)
    eventually(lambda: answered_by(ip, port) == host, what=f"{ip} answered by {host}")

    ec2.create_tags(Resources=[host], Tags=[{"Key": "sandbox:answer", "Value": "no"}])
    eventually(lambda: greeting(ip, port) is None, what=f"{ip} silent")

    ec2.create_tags(Resources=[host], Tags=[{"Key": "sandbox:answer", "Value": "yes"}])
    eventually(lambda: answered_by(ip, port) == host, what=f"{ip} answering again")
    assert answered_by(ip, port) == host


def test_a_stopped_instance_is_silent_and_answers_on_its_new_address_once_started(
    sandbox: Sandbox, ec2: EC2Client
) -> None:
    port = sandbox.smtp_port
    host = launch(ec2, "dp-stop")
    before = public_ip(ec2, host)
    eventually(lambda: answered_by(before, port) == host, what=f"{before} answered")

    ec2.stop_instances(InstanceIds=[host])
    eventually(lambda: greeting(before, port) is None, what=f"{before} silent")

    ec2.start_instances(InstanceIds=[host])
    after = public_ip(ec2, host)
    assert after != before
    eventually(lambda: answered_by(after, port) == host, what=f"{after} answered")
    assert greeting(before, port) is None


def test_a_terminated_holder_leaves_its_eip_silent(sandbox: Sandbox, ec2: EC2Client) -> None:
    port = sandbox.smtp_port
    host = launch(ec2, "dp-terminate")
    allocation, eip = allocate(ec2)
    ec2.associate_address(AllocationId=allocation, InstanceId=host, AllowReassociation=False)
    eventually(lambda: answered_by(eip, port) == host, what=f"{eip} answered")

    ec2.terminate_instances(InstanceIds=[host])

    eventually(lambda: greeting(eip, port) is None, what=f"{eip} silent")
    assert address(ec2, allocation).get("InstanceId") in (None, ""), "the EIP stays allocated"


def test_a_whole_smtp_conversation_works(sandbox: Sandbox, ec2: EC2Client) -> None:
    host = launch(ec2, "dp-smtp")
    ip = public_ip(ec2, host)
    eventually(lambda: answered_by(ip, sandbox.smtp_port) == host, what=f"{ip} answered")

    with smtplib.SMTP(ip, sandbox.smtp_port, timeout=5) as client:
        code, banner = client.ehlo("probe.example.test")
        assert code == 250 and banner.decode().startswith(host)
        refused = client.sendmail("a@example.test", ["b@example.test"], "Subject: hi\r\n\r\nhi\r\n")
        assert refused == {}
