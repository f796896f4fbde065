"""One sandbox for this package of tests (moto's state is process-wide), and helpers to drive it.

Tests that change state launch their own instances and allocate their own addresses, so the
sample fleet stays as the sandbox made it. Waits poll with a generous deadline: no test asserts
how long something took.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from mypy_boto3_ec2 import EC2Client

from eipkeeper.sandbox import INSTANT, Sandbox
from eipkeeper.sandbox.bind import free_port
from eipkeeper.sandbox.dataplane import Timing
from tests.support import waiting

T = TypeVar("T")
DEADLINE = 30.0
TEST_DELAY = 0.3
BOOT_DELAY = 1.0
REUSE_AFTER = 0.5
CONNECT_TIMEOUT = 1.5


@pytest.fixture(scope="package")
def sandbox() -> Iterator[Sandbox]:
    """An instant world (no lag, no throttling): these tests check moto's corrected state
    machine and the data plane call by call, and EC2's lag would hide each write's effect for
    seconds. test_realism.py turns the lag and the limits on, on a fake clock."""
    with Sandbox(
        association_delay=TEST_DELAY,
        smtp_port=free_port(),
        queue_port=free_port(),
        **INSTANT,
    ) as running:
        yield running


@pytest.fixture
def faithful(sandbox: Sandbox) -> Iterator[Sandbox]:
    """The package's sandbox with SPEC.md's faithful data plane, its delays shortened:
    unanswered addresses drop, instances boot for BOOT_DELAY, the stranger takes what the
    account gives up after REUSE_AFTER. Addresses the stranger took stay its own afterwards."""
    plane = sandbox.dataplane
    before = (plane.timing, plane.unanswered)
    plane.configure(
        timing=Timing(association_delay=TEST_DELAY, boot_delay=BOOT_DELAY, reuse_after=REUSE_AFTER),
        unanswered="drop",
    )
    try:
        yield sandbox
    finally:
        plane.configure(timing=before[0], unanswered=before[1])


def connect_outcome(host: str, port: int, *, timeout: float = CONNECT_TIMEOUT) -> str:
    """What a client sees: `connected`, `refused` or `timeout`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return "connected"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"


@pytest.fixture(scope="package")
def ec2(sandbox: Sandbox) -> EC2Client:
    client: EC2Client = sandbox.client("ec2")
    return client


def eventually(probe: Callable[[], T | None], *, what: str, deadline: float = DEADLINE) -> T:
    """PROBE's first truthy answer (the tests' one wait helper)."""
    return waiting.eventually(probe, what=what, deadline=deadline)


def launch(ec2: EC2Client, name: str, **tags: str) -> str:
    """A running instance tagged Name=NAME (and TAGS), launched the way users launch them."""
    pairs = {"Name": name, "Role": "test", **tags}
    reservation = ec2.run_instances(
        ImageId="ami-03cf127a",
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {
                "ResourceType": "instance",
                "Tags": [{"Key": k, "Value": v} for k, v in pairs.items()],
            }
        ],
    )
    return reservation["Instances"][0]["InstanceId"]


def allocate(ec2: EC2Client) -> tuple[str, str]:
    """A new EIP: (allocation id, public address)."""
    answer = ec2.allocate_address(Domain="vpc")
    return answer["AllocationId"], answer["PublicIp"]


def instance(ec2: EC2Client, instance_id: str) -> Any:
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def public_ip(ec2: EC2Client, instance_id: str) -> str:
    return str(instance(ec2, instance_id).get("PublicIpAddress", ""))


def address(ec2: EC2Client, allocation_id: str) -> Any:
    return ec2.describe_addresses(AllocationIds=[allocation_id])["Addresses"][0]


def greeting(host: str, port: int) -> str | None:
    """The SMTP greeting at HOST:PORT, or None when nothing answers."""
    try:
        with socket.create_connection((host, port), timeout=2.0) as conn:
            conn.settimeout(2.0)
            data = b""
            while not data.endswith(b"\r\n"):
                chunk = conn.recv(512)
                if not chunk:
                    return None
                data += chunk
            conn.sendall(b"QUIT\r\n")
            return data.decode("ascii").strip()
    except OSError:
        return None


def answered_by(host: str, port: int) -> str | None:
    """The instance id in the greeting at HOST:PORT, or None."""
    line = greeting(host, port)
    if line is None or not line.startswith("220 "):
        return None
    return line.split()[1]
