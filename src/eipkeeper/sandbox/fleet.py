"""The sample fleet of SPEC.md section 7, created through the AWS API like any user would.

Fresh as after a first launch: the instances run, the pool's EIPs are allocated and tagged but
unassociated, the hosted zone holds only its SOA and NS records; the first `apply` makes two
mx instances holders, leaves the third as the standby and publishes the records.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from mypy_boto3_cloudwatch import CloudWatchClient
from mypy_boto3_ec2 import EC2Client
from mypy_boto3_ec2.type_defs import TagTypeDef
from mypy_boto3_events import EventBridgeClient
from mypy_boto3_route53 import Route53Client
from mypy_boto3_sqs import SQSClient

from eipkeeper.model import TAG_HOSTNAME, TAG_OWNER, TAG_SERVICE
from eipkeeper.sandbox import statechanges

ZONE = "example.test"
MX_SERVICE = "mx"
MX_HOSTNAMES = ("mx1.example.test", "mx2.example.test", "mx3.example.test")
BURST_HOSTNAMES = ("mx3.example.test",)
MX_INSTANCES = ("mx-a", "mx-b", "mx-c")
SCAN_SERVICE = "scan"
SCAN_HOSTNAME = "scan.example.test"
SCAN_INSTANCES = ("scan-a", "scan-b")
LAUNCH_TEMPLATE = "mx-burst"
METRIC_NAMESPACE = "Mail"
METRIC_NAME = "QueueLength"
METRIC_DIMENSIONS = {"Service": MX_SERVICE}
QUIET_QUEUE_LENGTH = 10.0
"""The load at start: well below the burst threshold (500)."""

IMAGE_ID = "ami-03cf127a"
"""One of moto's built-in Amazon images, so that DescribeImages knows it."""

EVENTS_QUEUE = "eipkeeper-sandbox-ec2-events"
EVENTS_RULE = "eipkeeper-sandbox-ec2-state-change"


@dataclass(frozen=True)
class Clients:
    """boto3 clients for the sandbox's endpoint."""

    ec2: EC2Client
    route53: Route53Client
    sqs: SQSClient
    events: EventBridgeClient
    cloudwatch: CloudWatchClient


def create_event_route(clients: Clients) -> str:
    """An SQS queue that an EventBridge rule for EC2 state changes feeds; returns its URL."""
    url = clients.sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    clients.events.put_rule(
        Name=EVENTS_RULE,
        EventPattern=statechanges.event_pattern(),
        State="ENABLED",
        Description="EC2 instance state changes for `eipkeeper run --events-queue`",
    )
    clients.events.put_targets(
        Rule=EVENTS_RULE, Targets=[{"Id": "sqs", "Arn": arn["Attributes"]["QueueArn"]}]
    )
    return url


def _tags(pairs: dict[str, str]) -> list[TagTypeDef]:
    return [{"Key": key, "Value": value} for key, value in pairs.items()]


def _run(clients: Clients, *, name: str, role: str, instance_type: str) -> None:
    clients.ec2.run_instances(
        ImageId=IMAGE_ID,
        InstanceType=instance_type,  # type: ignore[arg-type]
        MinCount=1,
        MaxCount=1,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": _tags({"Name": name, "Role": role})}
        ],
    )


def create_sample_fleet(clients: Clients, *, owner: str) -> None:
    clients.ec2.create_launch_template(
        LaunchTemplateName=LAUNCH_TEMPLATE,
        LaunchTemplateData={
            "ImageId": IMAGE_ID,
            "InstanceType": "c5.xlarge",
            "TagSpecifications": [
                {"ResourceType": "instance", "Tags": _tags({"Name": "mx-burst", "Role": "mx"})}
            ],
        },
    )
    for name in MX_INSTANCES:
        _run(clients, name=name, role="mx", instance_type="t3.small")
    for hostname in MX_HOSTNAMES:
        tags = {TAG_OWNER: owner, TAG_SERVICE: MX_SERVICE, TAG_HOSTNAME: hostname, "Name": hostname}
        clients.ec2.allocate_address(
            Domain="vpc",
            TagSpecifications=[{"ResourceType": "elastic-ip", "Tags": _tags(tags)}],
        )
    for name in SCAN_INSTANCES:
        _run(clients, name=name, role="scan", instance_type="t3.micro")
    clients.route53.create_hosted_zone(
        Name=ZONE + ".",
        CallerReference=f"eipkeeper-sandbox-{uuid.uuid4()}",
        HostedZoneConfig={"Comment": "eipkeeper sandbox", "PrivateZone": False},
    )
    clients.cloudwatch.put_metric_data(
        Namespace=METRIC_NAMESPACE,
        MetricData=[
            {
                "MetricName": METRIC_NAME,
                "Dimensions": [{"Name": k, "Value": v} for k, v in METRIC_DIMENSIONS.items()],
                "Value": QUIET_QUEUE_LENGTH,
                "Unit": "Count",
            }
        ],
    )
