"""Instance state changes arrive on the sandbox's SQS queue as EventBridge events."""

from __future__ import annotations

import json
from typing import Any

from mypy_boto3_ec2 import EC2Client
from mypy_boto3_sqs import SQSClient

from eipkeeper.sandbox import Sandbox
from tests.sandbox.conftest import eventually, launch

DETAIL_TYPE = "EC2 Instance State-change Notification"


class Inbox:
    """Collects the events on the queue for one instance, in arrival order."""

    def __init__(self, sqs: SQSClient, url: str, instance_id: str) -> None:
        self.sqs, self.url, self.instance_id = sqs, url, instance_id
        self.states: list[str] = []
        self.events: list[dict[str, Any]] = []

    def poll(self) -> list[str]:
        answer = self.sqs.receive_message(
            QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        for message in answer.get("Messages", []):
            event = json.loads(message["Body"])
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])
            if event["detail"].get("instance-id") == self.instance_id:
                self.events.append(event)
                self.states.append(event["detail"]["state"])
        return self.states

    def wait_for(self, *states: str) -> None:
        eventually(
            lambda: self.poll()[-len(states) :] == list(states),
            what=f"states {states} for {self.instance_id} (saw {self.states})",
        )


def test_launch_stop_start_and_terminate_each_publish_their_states(
    sandbox: Sandbox, ec2: EC2Client
) -> None:
    sqs: SQSClient = sandbox.client("sqs")
    instance_id = launch(ec2, "events")
    inbox = Inbox(sqs, sandbox.events_queue_url, instance_id)
    inbox.wait_for("pending", "running")

    ec2.stop_instances(InstanceIds=[instance_id])
    inbox.wait_for("stopping", "stopped")
    ec2.start_instances(InstanceIds=[instance_id])
    inbox.wait_for("pending", "running")
    ec2.terminate_instances(InstanceIds=[instance_id])
    inbox.wait_for("shutting-down", "terminated")

    assert inbox.states == [
        "pending",
        "running",
        "stopping",
        "stopped",
        "pending",
        "running",
        "shutting-down",
        "terminated",
    ]
    for event in inbox.events:
        assert event["source"] == "aws.ec2"
        assert event["detail-type"] == DETAIL_TYPE
        (arn,) = event["resources"]
        assert arn.startswith(f"arn:aws:ec2:{sandbox.region}:")
        assert arn.endswith(f":instance/{instance_id}")


def test_a_repeated_stop_publishes_nothing_new(sandbox: Sandbox, ec2: EC2Client) -> None:
    sqs: SQSClient = sandbox.client("sqs")
    instance_id = launch(ec2, "events-twice")
    inbox = Inbox(sqs, sandbox.events_queue_url, instance_id)
    ec2.stop_instances(InstanceIds=[instance_id])
    inbox.wait_for("stopping", "stopped")

    ec2.stop_instances(InstanceIds=[instance_id])  # already stopped: no transition
    ec2.terminate_instances(InstanceIds=[instance_id])
    inbox.wait_for("shutting-down", "terminated")

    assert inbox.states.count("stopped") == 1
