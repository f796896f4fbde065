"""Each EC2 behaviour the sandbox corrects in moto, proved through boto3 as a user sees it."""

from __future__ import annotations

import ipaddress

import pytest
from botocore.exceptions import ClientError
from mypy_boto3_ec2 import EC2Client

from eipkeeper.sandbox import Sandbox, fixes
from eipkeeper.sandbox.addresses import is_sandbox_public
from tests.sandbox.conftest import address, allocate, instance, launch, public_ip


def _error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_a_moved_eip_leaves_the_old_instance(ec2: EC2Client) -> None:
    old, new = launch(ec2, "move-old"), launch(ec2, "move-new")
    old_dynamic = public_ip(ec2, old)
    allocation, eip = allocate(ec2)
    ec2.associate_address(AllocationId=allocation, InstanceId=old, AllowReassociation=False)

    ec2.associate_address(AllocationId=allocation, InstanceId=new, AllowReassociation=True)

    assert public_ip(ec2, new) == eip
    assert address(ec2, allocation)["InstanceId"] == new
    left = public_ip(ec2, old)
    assert left != eip
    # The old holder is treated as after a disassociate: a new, different dynamic address.
    assert left not in {"", old_dynamic}
    assert is_sandbox_public(left)


def test_moving_without_allow_reassociation_is_refused(ec2: EC2Client) -> None:
    holder, other = launch(ec2, "claim-holder"), launch(ec2, "claim-other")
    allocation, eip = allocate(ec2)
    ec2.associate_address(AllocationId=allocation, InstanceId=holder, AllowReassociation=False)

    with pytest.raises(ClientError) as excinfo:
        ec2.associate_address(AllocationId=allocation, InstanceId=other, AllowReassociation=False)

    assert _error_code(excinfo) == "Resource.AlreadyAssociated"
    assert public_ip(ec2, holder) == eip


def test_a_second_eip_on_the_same_address_displaces_the_first(ec2: EC2Client) -> None:
    target = launch(ec2, "displace")
    first, _ = allocate(ec2)
    second, second_ip = allocate(ec2)
    ec2.associate_address(AllocationId=first, InstanceId=target, AllowReassociation=False)

    ec2.associate_address(AllocationId=second, InstanceId=target, AllowReassociation=False)

    assert public_ip(ec2, target) == second_ip
    displaced = address(ec2, first)  # still allocated: describing it works
    assert not displaced.get("InstanceId")
    assert not displaced.get("AssociationId")
    assert address(ec2, second)["InstanceId"] == target


def test_terminating_frees_the_eip_which_stays_allocated(ec2: EC2Client) -> None:
    doomed = launch(ec2, "terminate-holder")
    allocation, _ = allocate(ec2)
    ec2.associate_address(AllocationId=allocation, InstanceId=doomed, AllowReassociation=False)

    ec2.terminate_instances(InstanceIds=[doomed])

    kept = address(ec2, allocation)
    assert not kept.get("InstanceId")
    assert not kept.get("AssociationId")
    assert not kept.get("NetworkInterfaceId")
    assert "PublicIpAddress" not in instance(ec2, doomed)


def test_stopping_keeps_the_eip_and_starting_brings_no_dynamic_ip(ec2: EC2Client) -> None:
    sleeper = launch(ec2, "stop-holder")
    allocation, eip = allocate(ec2)
    ec2.associate_address(AllocationId=allocation, InstanceId=sleeper, AllowReassociation=False)

    ec2.stop_instances(InstanceIds=[sleeper])
    assert address(ec2, allocation)["InstanceId"] == sleeper
    assert public_ip(ec2, sleeper) == eip

    ec2.start_instances(InstanceIds=[sleeper])
    assert address(ec2, allocation)["InstanceId"] == sleeper
    assert public_ip(ec2, sleeper) == eip


def test_associating_with_a_terminated_instance_fails(ec2: EC2Client) -> None:
    gone = launch(ec2, "associate-terminated")
    ec2.terminate_instances(InstanceIds=[gone])
    allocation, _ = allocate(ec2)

    with pytest.raises(ClientError) as excinfo:
        ec2.associate_address(AllocationId=allocation, InstanceId=gone, AllowReassociation=True)

    assert _error_code(excinfo) == "IncorrectInstanceState"
    assert not address(ec2, allocation).get("InstanceId")


def test_an_instance_with_two_interfaces_needs_the_interface_named(ec2: EC2Client) -> None:
    host = launch(ec2, "two-nics")
    subnet = instance(ec2, host)["SubnetId"]
    extra = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]
    ec2.attach_network_interface(
        NetworkInterfaceId=extra["NetworkInterfaceId"], InstanceId=host, DeviceIndex=1
    )
    allocation, eip = allocate(ec2)

    with pytest.raises(ClientError) as excinfo:
        ec2.associate_address(AllocationId=allocation, InstanceId=host, AllowReassociation=False)
    assert _error_code(excinfo) == "InvalidInstanceID"

    ec2.associate_address(
        AllocationId=allocation,
        NetworkInterfaceId=extra["NetworkInterfaceId"],
        AllowReassociation=False,
    )
    held = address(ec2, allocation)
    assert (held["NetworkInterfaceId"], held["InstanceId"]) == (extra["NetworkInterfaceId"], host)
    assert eip not in {public_ip(ec2, host), ""}  # the primary interface keeps its own


def test_associating_removes_the_dynamic_ip_for_good(ec2: EC2Client) -> None:
    host = launch(ec2, "dynamic")
    dynamic = public_ip(ec2, host)
    allocation, eip = allocate(ec2)

    ec2.associate_address(AllocationId=allocation, InstanceId=host, AllowReassociation=False)
    assert public_ip(ec2, host) == eip

    ec2.disassociate_address(AssociationId=address(ec2, allocation)["AssociationId"])
    again = public_ip(ec2, host)
    assert again not in {"", dynamic, eip}
    assert is_sandbox_public(again)


def test_releasing_an_associated_eip_in_the_default_vpc_disassociates_and_releases(
    ec2: EC2Client,
) -> None:
    holder = launch(ec2, "release-default-vpc")  # no subnet named: the default VPC
    allocation, eip = allocate(ec2)
    ec2.associate_address(AllocationId=allocation, InstanceId=holder, AllowReassociation=False)

    ec2.release_address(AllocationId=allocation)

    with pytest.raises(ClientError) as excinfo:
        address(ec2, allocation)
    assert _error_code(excinfo) == "InvalidAllocationID.NotFound"
    # The instance is as after a disassociate: a new dynamic address of its own.
    assert public_ip(ec2, holder) not in {"", eip}


def test_releasing_an_associated_eip_in_a_nondefault_vpc_fails(ec2: EC2Client) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24")["Subnet"]["SubnetId"]
    holder = ec2.run_instances(ImageId="ami-03cf127a", MinCount=1, MaxCount=1, SubnetId=subnet)[
        "Instances"
    ][0]["InstanceId"]
    allocation, _ = allocate(ec2)
    ec2.associate_address(AllocationId=allocation, InstanceId=holder, AllowReassociation=False)

    with pytest.raises(ClientError) as excinfo:
        ec2.release_address(AllocationId=allocation)

    assert _error_code(excinfo) == "InvalidIPAddress.InUse"
    assert address(ec2, allocation)["InstanceId"] == holder
    ec2.terminate_instances(InstanceIds=[holder])


def test_public_addresses_are_reachable_loopback_addresses_away_from_localhost(
    ec2: EC2Client,
) -> None:
    hosts = [launch(ec2, f"range-{n}") for n in range(5)]
    allocations = [allocate(ec2) for _ in range(20)]
    dynamic = [public_ip(ec2, h) for h in hosts]
    elastic = [ip for _, ip in allocations]

    everything = dynamic + elastic
    assert len(set(everything)) == len(everything)
    for ip in everything:
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("127.0.0.0/8")
        assert ip not in {"127.0.0.0", "127.0.0.1", "127.255.255.255"}
        assert is_sandbox_public(ip), ip
    for allocation, _ in allocations:
        ec2.release_address(AllocationId=allocation)
    ec2.terminate_instances(InstanceIds=hosts)


def test_installing_the_fixes_twice_wraps_nothing_twice(sandbox: Sandbox) -> None:
    patched = [getattr(owner, name) for owner, name, _ in fixes._METHOD_FIXES]
    fixes.install()
    assert [getattr(owner, name) for owner, name, _ in fixes._METHOD_FIXES] == patched
