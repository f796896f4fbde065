"""SPEC.md section 7's faithful data plane (delays shortened): unanswered addresses drop,
launched instances boot first, and the stranger takes what the account gives up."""

from __future__ import annotations

import smtplib
import time

import pytest
from botocore.exceptions import ClientError
from mypy_boto3_ec2 import EC2Client

from eipkeeper.sandbox import Sandbox
from eipkeeper.sandbox.dataplane import Timing
from eipkeeper.sandbox.smtp import greeting as smtp_greeting
from tests.sandbox.conftest import (
    BOOT_DELAY,
    REUSE_AFTER,
    allocate,
    answered_by,
    connect_outcome,
    eventually,
    greeting,
    launch,
    public_ip,
)

STRANGER_GREETING = smtp_greeting("stranger")


def test_an_eip_nobody_holds_drops_connections_and_refuses_them_in_refuse_mode(
    faithful: Sandbox, ec2: EC2Client
) -> None:
    _, eip = allocate(ec2)
    port = faithful.smtp_port
    eventually(lambda: eip in faithful.dataplane.dropping(), what=f"{eip} dropping")

    assert connect_outcome(eip, port) == "timeout"
    assert connect_outcome(eip, faithful.queue_port or 0) == "timeout"

    faithful.dataplane.configure(unanswered="refuse")
    eventually(lambda: eip not in faithful.dataplane.dropping(), what=f"{eip} refusing")
    assert connect_outcome(eip, port) == "refused"


def test_a_launched_instance_answers_only_after_its_boot_delay(
    faithful: Sandbox, ec2: EC2Client
) -> None:
    port = faithful.smtp_port
    launched_at = time.monotonic()
    host = launch(ec2, "boot-slow")
    ip = public_ip(ec2, host)

    eventually(lambda: answered_by(ip, port) == host, what=f"{ip} booted")

    assert time.monotonic() - launched_at >= BOOT_DELAY


def test_a_booting_instance_drops_connections(faithful: Sandbox, ec2: EC2Client) -> None:
    faithful.dataplane.configure(timing=Timing(boot_delay=3600.0, reuse_after=REUSE_AFTER))
    host = launch(ec2, "boot-forever")
    ip = public_ip(ec2, host)
    eventually(lambda: ip in faithful.dataplane.dropping(), what=f"{ip} dropping while booting")
    assert connect_outcome(ip, faithful.smtp_port) == "timeout"
    assert ip not in faithful.dataplane.answers()


def test_the_stranger_takes_a_released_eip_and_receives_mail_sent_to_it(
    faithful: Sandbox, ec2: EC2Client
) -> None:
    port = faithful.smtp_port
    allocation, eip = allocate(ec2)
    released_at = time.monotonic()
    ec2.release_address(AllocationId=allocation)

    eventually(lambda: greeting(eip, port) == STRANGER_GREETING, what=f"the stranger on {eip}")
    assert time.monotonic() - released_at >= REUSE_AFTER
    with smtplib.SMTP(eip, port, timeout=5) as client:
        client.sendmail(
            "a@example.test",
            ["postmaster@example.test"],
            "Message-ID: <lost@test>\r\nSubject: yours?\r\n\r\nhi\r\n",
        )

    assert [m.message_id for m in faithful.mailboxes()["stranger"] if m.address == eip] == [
        "<lost@test>"
    ]
    assert eip in faithful.dataplane.stranger_addresses()
    with pytest.raises(ClientError) as excinfo:
        ec2.allocate_address(Domain="vpc", Address=eip)
    assert excinfo.value.response["Error"]["Code"] == "InvalidAddress.NotFound"


def test_the_stranger_takes_the_dynamic_address_an_instance_lost_at_stop(
    faithful: Sandbox, ec2: EC2Client
) -> None:
    port = faithful.smtp_port
    host = launch(ec2, "stranger-stop")
    before = public_ip(ec2, host)

    ec2.stop_instances(InstanceIds=[host])

    eventually(lambda: greeting(before, port) == STRANGER_GREETING, what=f"stranger on {before}")
    ec2.start_instances(InstanceIds=[host])
    after = public_ip(ec2, host)
    assert after != before
    eventually(lambda: answered_by(after, port) == host, what=f"{host} back on {after}")
    assert greeting(before, port) == STRANGER_GREETING, "the stranger keeps it"


def test_the_stranger_takes_the_dynamic_address_an_association_took_away(
    faithful: Sandbox, ec2: EC2Client
) -> None:
    port = faithful.smtp_port
    host = launch(ec2, "stranger-associate")
    dynamic = public_ip(ec2, host)
    eventually(lambda: answered_by(dynamic, port) == host, what=f"{host} on {dynamic}")
    allocation, eip = allocate(ec2)

    ec2.associate_address(AllocationId=allocation, InstanceId=host, AllowReassociation=False)

    eventually(lambda: greeting(dynamic, port) == STRANGER_GREETING, what=f"stranger on {dynamic}")
    eventually(lambda: answered_by(eip, port) == host, what=f"{host} on its EIP {eip}")
    assert dynamic in faithful.dataplane.stranger_addresses()
    assert eip not in faithful.dataplane.stranger_addresses()
