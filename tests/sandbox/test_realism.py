"""The sandbox's API answers as EC2's does (SPEC.md section 7): Describe lags each write, a
resource created inside its lag is NotFound by id, ClientToken makes RunInstances idempotent,
token buckets of AWS's sizes throttle, Route 53 is PENDING for a while after a change. Time is
a fake clock the test moves; boto3's own retries are off so each answer is seen as it is."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.config
import botocore.exceptions
import pytest

from eipkeeper.cloud.aws import AwsSession
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.cloud.limits import Limiter
from eipkeeper.sandbox import Sandbox, fleet
from tests.support.clock import FakeClock

LAG = 5.0
AMI = "ami-03cf127a"


@pytest.fixture
def real(sandbox: Sandbox) -> Iterator[FakeClock]:
    """The package's sandbox with a fixed lag of LAG seconds and AWS's buckets, on a fake clock."""
    clock = FakeClock()
    settings = sandbox.realism.settings
    before = (settings.lag, settings.throttle)
    settings.lag, settings.throttle = (LAG, LAG), True
    sandbox.realism.use_clock(clock)
    try:
        yield clock
    finally:
        settings.lag, settings.throttle = before
        sandbox.realism.use_clock(time.monotonic)


def no_retries(sandbox: Sandbox, service: str) -> Any:
    """A client that shows every answer as it comes: botocore retries nothing."""
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=sandbox.endpoint,
        region_name=sandbox.region,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
        config=botocore.config.Config(retries={"total_max_attempts": 1}),
    )


def code_of(call: Any) -> str:
    try:
        call()
    except botocore.exceptions.ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return ""


def test_a_new_address_is_not_found_until_its_lag_has_passed(
    sandbox: Sandbox, real: FakeClock
) -> None:
    ec2 = no_retries(sandbox, "ec2")
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    listed = {a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]}
    assert allocation not in listed
    assert code_of(lambda: ec2.describe_addresses(AllocationIds=[allocation])) == (
        "InvalidAllocationID.NotFound"
    )
    # CreateTags on it fails NotFound once (EC2 developer guide), then is taken.
    tag = [{"Key": "k", "Value": "v"}]
    assert code_of(lambda: ec2.create_tags(Resources=[allocation], Tags=tag)) == (
        "InvalidAllocationID.NotFound"
    )
    assert code_of(lambda: ec2.create_tags(Resources=[allocation], Tags=tag)) == ""
    real.now += LAG + 0.1
    shown = ec2.describe_addresses(AllocationIds=[allocation])["Addresses"][0]
    assert shown["Tags"] == tag


def test_a_write_shows_only_after_its_lag(sandbox: Sandbox, real: FakeClock) -> None:
    ec2 = no_retries(sandbox, "ec2")
    reservation = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)
    instance = reservation["Instances"][0]["InstanceId"]
    real.now += LAG + 0.1
    ec2.create_tags(Resources=[instance], Tags=[{"Key": "Role", "Value": "lagged"}])
    by_tag = [{"Name": "tag:Role", "Values": ["lagged"]}]
    assert ec2.describe_instances(Filters=by_tag)["Reservations"] == [], "the tag is not seen yet"
    real.now += LAG - 1
    assert ec2.describe_instances(Filters=by_tag)["Reservations"] == []
    real.now += 1.1
    seen = ec2.describe_instances(Filters=by_tag)["Reservations"]
    assert [i["InstanceId"] for r in seen for i in r["Instances"]] == [instance]


def test_client_token_returns_the_first_launch_and_refuses_other_parameters(
    sandbox: Sandbox, real: FakeClock
) -> None:
    ec2 = no_retries(sandbox, "ec2")
    first = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, ClientToken="intent-1")
    again = ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1, ClientToken="intent-1")
    ids = [i["InstanceId"] for i in first["Instances"]]
    assert [i["InstanceId"] for i in again["Instances"]] == ids
    assert (
        code_of(
            lambda: ec2.run_instances(
                ImageId=AMI, MinCount=1, MaxCount=1, ClientToken="intent-1", InstanceType="m5.large"
            )
        )
        == "IdempotentParameterMismatch"
    )
    real.now += LAG + 0.1
    by_token = [{"Name": "client-token", "Values": ["intent-1"]}]
    found = ec2.describe_instances(Filters=by_token)["Reservations"]
    assert [i["InstanceId"] for r in found for i in r["Instances"]] == ids


def test_run_instances_bucket_is_five_then_two_a_second(sandbox: Sandbox, real: FakeClock) -> None:
    ec2 = no_retries(sandbox, "ec2")
    launch = lambda: ec2.run_instances(ImageId=AMI, MinCount=1, MaxCount=1)  # noqa: E731
    assert [code_of(launch) for _ in range(6)] == [""] * 5 + ["RequestLimitExceeded"]
    real.now += 0.5  # one token back at 2 a second
    assert [code_of(launch) for _ in range(2)] == ["", "RequestLimitExceeded"]
    # Another action has its own bucket (EC2 throttles per action).
    assert code_of(ec2.describe_addresses) == ""


def test_route53_is_pending_after_a_change_and_refuses_the_next_meanwhile(
    sandbox: Sandbox, real: FakeClock
) -> None:
    r53 = no_retries(sandbox, "route53")
    zone = r53.list_hosted_zones()["HostedZones"][0]["Id"]

    def change(value: str, action: str = "UPSERT") -> Any:
        return r53.change_resource_record_sets(
            HostedZoneId=zone,
            ChangeBatch={
                "Changes": [
                    {
                        "Action": action,
                        "ResourceRecordSet": {
                            "Name": f"realism.{r53.get_hosted_zone(Id=zone)['HostedZone']['Name']}",
                            "Type": "A",
                            "TTL": 60,
                            "ResourceRecords": [{"Value": value}],
                        },
                    }
                ]
            },
        )

    submitted = change("127.0.0.9")["ChangeInfo"]["Id"]
    assert r53.get_change(Id=submitted)["ChangeInfo"]["Status"] == "PENDING"
    assert code_of(lambda: change("127.0.0.10")) == "PriorRequestNotComplete"
    real.now += LAG + 0.1
    assert r53.get_change(Id=submitted)["ChangeInfo"]["Status"] == "INSYNC"
    assert code_of(lambda: change("127.0.0.10")) == ""
    real.now += LAG + 0.1
    assert code_of(lambda: change("127.0.0.10", action="DELETE")) == "", "the zone as it was"


def test_a_launch_waits_for_describe_and_is_made_once_per_token(
    sandbox: Sandbox, real: FakeClock
) -> None:
    """S9 on the client side: eipkeeper's launch returns once Describe shows it (the fake
    clock moves as it backs off), the same intent again makes no RunInstances call, and a
    restarted process that cannot see it yet gets the same instance from EC2's token."""
    session = AwsSession(
        region=sandbox.region,
        endpoint_url=sandbox.endpoint,
        credentials=("sandbox", "sandbox"),
        limiter=Limiter(clock=real, sleep=real.advance),
    )
    ec2 = Ec2(session, clock=real, sleep=real.advance)
    tags = {"Name": "s9-launch", "Role": "test"}  # not the sample fleet's mx
    first = ec2.launch(template=fleet.LAUNCH_TEMPLATE, tags=tags, token="s9-intent")
    assert ec2.launched_with("s9-intent") == first, "shown by Describe when launch returns"
    assert LAG <= real.slept < LAG + 4.5, "it backed off until the lag had passed"
    again = ec2.launch(template=fleet.LAUNCH_TEMPLATE, tags=tags, token="s9-intent")
    assert again == first and session.counter.snapshot()["ec2:RunInstances"] == 1
    restarted = Ec2(session, clock=real, sleep=lambda s: None)
    restarted.launch_visible_timeout = 0.0
    other = restarted.launch(template=fleet.LAUNCH_TEMPLATE, tags=tags, token="s9-other")
    later = Ec2(session, clock=real, sleep=lambda s: None)
    later.launch_visible_timeout = 0.0
    assert later.launch(template=fleet.LAUNCH_TEMPLATE, tags=tags, token="s9-other") == other
    assert session.counter.snapshot()["ec2:RunInstances"] == 3, "the third answered by EC2"
    # The sample fleet stays as the sandbox made it for the package's other tests.
    no_retries(sandbox, "ec2").terminate_instances(InstanceIds=[first, other])
