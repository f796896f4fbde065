"""Reverse DNS of Elastic IPs (moto has none of the three calls), proved through boto3."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError
from mypy_boto3_ec2 import EC2Client
from mypy_boto3_route53 import Route53Client

from eipkeeper.sandbox import Sandbox, ptr
from eipkeeper.sandbox.bind import LocalBind
from tests.sandbox.conftest import allocate

ZONE = "ptr.example"


@pytest.fixture(scope="module")
def route53(sandbox: Sandbox) -> Route53Client:
    client: Route53Client = sandbox.client("route53")
    client.create_hosted_zone(Name=ZONE + ".", CallerReference=str(uuid.uuid4()))
    return client


def _publish(route53: Route53Client, name: str, ip: str) -> None:
    zone = route53.list_hosted_zones_by_name(DNSName=ZONE + ".")["HostedZones"][0]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": name,
                        "Type": "A",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": ip}],
                    },
                }
            ]
        },
    )


def _code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def _ptr_of(ec2: EC2Client, allocation: str) -> dict[str, object]:
    reply = ec2.describe_addresses_attribute(AllocationIds=[allocation], Attribute="domain-name")
    (shape,) = reply["Addresses"]
    return dict(shape)


def test_a_ptr_is_set_read_and_reset(ec2: EC2Client, route53: Route53Client) -> None:
    allocation, eip = allocate(ec2)
    _publish(route53, f"mail.{ZONE}", eip)

    changed = ec2.modify_address_attribute(AllocationId=allocation, DomainName=f"mail.{ZONE}")

    assert changed["Address"]["PublicIp"] == eip
    assert "PtrRecord" not in changed["Address"], "the answer shows the record as it was"
    assert changed["Address"]["PtrRecordUpdate"] == {"Value": f"mail.{ZONE}.", "Status": "PENDING"}
    assert _ptr_of(ec2, allocation)["PtrRecord"] == f"mail.{ZONE}."
    listed = ec2.describe_addresses_attribute(Attribute="domain-name")["Addresses"]
    assert allocation in {a["AllocationId"] for a in listed}

    reset = ec2.reset_address_attribute(AllocationId=allocation, Attribute="domain-name")
    assert reset["Address"]["PtrRecord"] == f"mail.{ZONE}."
    assert "PtrRecord" not in _ptr_of(ec2, allocation)
    listed = ec2.describe_addresses_attribute(Attribute="domain-name")["Addresses"]
    assert allocation not in {a["AllocationId"] for a in listed}


def test_a_ptr_needs_a_forward_record_pointing_at_the_address(
    ec2: EC2Client, route53: Route53Client
) -> None:
    allocation, _ = allocate(ec2)
    _publish(route53, f"elsewhere.{ZONE}", "127.200.0.1")

    for name in (f"elsewhere.{ZONE}", f"nowhere.{ZONE}", "unknown.invalid"):
        with pytest.raises(ClientError) as excinfo:
            ec2.modify_address_attribute(AllocationId=allocation, DomainName=name)
        assert _code(excinfo) == "InvalidParameterValue"
    assert "PtrRecord" not in _ptr_of(ec2, allocation)


def test_an_address_with_a_ptr_cannot_be_released_until_it_is_reset(
    ec2: EC2Client, route53: Route53Client
) -> None:
    allocation, eip = allocate(ec2)
    _publish(route53, f"locked.{ZONE}", eip)
    ec2.modify_address_attribute(AllocationId=allocation, DomainName=f"locked.{ZONE}")

    with pytest.raises(ClientError) as excinfo:
        ec2.release_address(AllocationId=allocation)
    assert _code(excinfo) == "InvalidAddress.PtrSet"

    ec2.reset_address_attribute(AllocationId=allocation, Attribute="domain-name")
    ec2.release_address(AllocationId=allocation)
    assert allocation not in {a.get("AllocationId") for a in ec2.describe_addresses()["Addresses"]}


def test_an_unknown_attribute_is_refused(ec2: EC2Client) -> None:
    allocation, _ = allocate(ec2)
    with pytest.raises(ClientError) as excinfo:
        ec2.reset_address_attribute(AllocationId=allocation, Attribute="color")  # type: ignore[arg-type]
    assert _code(excinfo) == "InvalidParameterValue"


def test_a_pending_change_shows_until_it_completes(ec2: EC2Client, route53: Route53Client) -> None:
    allocation, eip = allocate(ec2)
    _publish(route53, f"slow.{ZONE}", eip)
    clock = [1000.0]
    saved = (ptr.PtrSettings.delay, ptr.PtrSettings.clock)
    ptr.PtrSettings.delay, ptr.PtrSettings.clock = 60.0, lambda: clock[0]
    try:
        ec2.modify_address_attribute(AllocationId=allocation, DomainName=f"slow.{ZONE}")
        clock[0] += 59.0
        pending = _ptr_of(ec2, allocation)
        clock[0] += 1.0
        done = _ptr_of(ec2, allocation)
    finally:
        ptr.PtrSettings.delay, ptr.PtrSettings.clock = saved
    assert "PtrRecord" not in pending
    assert pending["PtrRecordUpdate"] == {"Value": f"slow.{ZONE}.", "Status": "PENDING"}
    assert done["PtrRecord"] == f"slow.{ZONE}."
    assert "PtrRecordUpdate" not in done


@pytest.fixture
def bind_forward(ec2: EC2Client) -> Iterator[tuple[str, str]]:
    allocation, eip = allocate(ec2)
    saved = ptr.PtrSettings.forward_servers
    with LocalBind("bind.example", records=[f"mx1 300 IN A {eip}"]) as server:
        ptr.PtrSettings.forward_servers = ((server.host, server.port),)
        try:
            yield allocation, eip
        finally:
            ptr.PtrSettings.forward_servers = saved


@pytest.mark.bind
def test_with_bind_the_forward_check_asks_the_local_bind(
    ec2: EC2Client, bind_forward: tuple[str, str]
) -> None:
    allocation, _ = bind_forward
    ec2.modify_address_attribute(AllocationId=allocation, DomainName="mx1.bind.example")
    assert _ptr_of(ec2, allocation)["PtrRecord"] == "mx1.bind.example."
    with pytest.raises(ClientError):
        ec2.modify_address_attribute(AllocationId=allocation, DomainName="mx2.bind.example")
