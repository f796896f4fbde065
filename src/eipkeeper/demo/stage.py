"""What every chapter of the demo shares: the story, an observer of the cloud, the stage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from eipkeeper.demo.runner import Story


class Observer:
    """Reads the sandbox's EC2 directly, to check what the commands claim."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        session = boto3.session.Session(
            region_name=env["AWS_DEFAULT_REGION"],
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )
        self._ec2 = session.client("ec2", endpoint_url=env["AWS_ENDPOINT_URL"])
        self._route53 = session.client("route53", endpoint_url=env["AWS_ENDPOINT_URL"])
        self.cloudwatch = session.client("cloudwatch", endpoint_url=env["AWS_ENDPOINT_URL"])

    def instance(self, name: str) -> dict[str, Any]:
        reply = self._ec2.describe_instances(
            Filters=[
                {"Name": "tag:Name", "Values": [name]},
                {"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]},
            ]
        )
        return dict(reply["Reservations"][0]["Instances"][0])

    def instance_by_id(self, instance_id: str) -> dict[str, Any]:
        reply = self._ec2.describe_instances(InstanceIds=[instance_id])
        return dict(reply["Reservations"][0]["Instances"][0])

    def bound(self, hostname: str) -> dict[str, Any]:
        """The EIP bound to HOSTNAME."""
        for item in self._ec2.describe_addresses()["Addresses"]:
            if {"Key": "eipkeeper:hostname", "Value": hostname} in item.get("Tags", []):
                return dict(item)
        raise LookupError(hostname)

    def tag(self, instance_id: str, key: str, value: str) -> None:
        self._ec2.create_tags(Resources=[instance_id], Tags=[{"Key": key, "Value": value}])

    def terminate(self, instance_id: str) -> None:
        self._ec2.terminate_instances(InstanceIds=[instance_id])

    def records(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """The zone as Route 53 serves it: (name, type) -> values."""
        zones = self._route53.list_hosted_zones_by_name(DNSName="example.test")["HostedZones"]
        found: dict[tuple[str, str], tuple[str, ...]] = {}
        paginator = self._route53.get_paginator("list_resource_record_sets")
        for page in paginator.paginate(HostedZoneId=zones[0]["Id"]):
            for rrset in page["ResourceRecordSets"]:
                values = tuple(sorted(r["Value"] for r in rrset.get("ResourceRecords", [])))
                found[(rrset["Name"].rstrip("."), rrset["Type"])] = values
        return found

    def create_record(self, name: str, rdtype: str, value: str) -> None:
        """A record made by hand in the console, not by eipkeeper (no ownership record)."""
        zones = self._route53.list_hosted_zones_by_name(DNSName="example.test")["HostedZones"]
        record: Any = {
            "Name": name,
            "Type": rdtype,
            "TTL": 300,
            "ResourceRecords": [{"Value": value}],
        }
        self._route53.change_resource_record_sets(
            HostedZoneId=zones[0]["Id"],
            ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]},
        )

    def address(self, public_ip: str) -> dict[str, Any] | None:
        for item in self._ec2.describe_addresses()["Addresses"]:
            if item["PublicIp"] == public_ip:
                return dict(item)
        return None


@dataclass(frozen=True)
class DemoStage:
    """The sandbox as the chapters see it."""

    story: Story
    look: Observer
    folder: Path
    events_queue: str
    association_delay: float
