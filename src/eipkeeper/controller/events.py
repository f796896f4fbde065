"""EC2 state-change events, read from the SQS queue an EventBridge rule feeds.

The rule matches `{"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change
Notification"]}` and targets the queue (README: "Events"). Events only wake the controller
early; the periodic full round stays the backstop (SPEC.md section 6), so a lost event costs
at most one interval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from eipkeeper.cloud.aws import AwsSession, aws_errors, error_code
from eipkeeper.errors import ConfigError
from eipkeeper.logs import get_logger

log = get_logger(__name__)
DETAIL_TYPE = "EC2 Instance State-change Notification"
NO_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


@dataclass(frozen=True)
class StateChange:
    instance_id: str
    state: str


def parse(body: str) -> StateChange | None:
    """The state change in one message body (EventBridge's JSON), or None for anything else."""
    try:
        event = json.loads(body)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("detail-type") != DETAIL_TYPE:
        return None
    detail = event.get("detail") or {}
    instance_id, state = detail.get("instance-id"), detail.get("state")
    if not isinstance(instance_id, str) or not isinstance(state, str):
        return None
    return StateChange(instance_id, state)


class EventQueue:
    """Long-polls the queue; every message read is deleted, whether or not it was an event."""

    def __init__(self, session: AwsSession, queue_url: str) -> None:
        self._client: Any = session.client("sqs")
        self.queue_url = queue_url

    def check(self) -> None:
        """ConfigError unless the queue exists (`run --once` reads no event, so a missing
        queue went unnoticed and it exited 0). A peek: what it sees stays visible to others."""
        self._receive(MaxNumberOfMessages=1, WaitTimeSeconds=0, VisibilityTimeout=0)

    def _receive(self, **options: Any) -> Any:
        with aws_errors("ReceiveMessage"):
            try:
                return self._client.receive_message(QueueUrl=self.queue_url, **options)
            except botocore.exceptions.ClientError as exc:
                if error_code(exc) in NO_QUEUE:
                    raise ConfigError(
                        f"--events-queue {self.queue_url}: no such SQS queue; create it "
                        "(README: Events) or leave the option out"
                    ) from None
                raise

    def receive(self, *, wait: float = 1.0) -> list[StateChange]:
        reply = self._receive(MaxNumberOfMessages=10, WaitTimeSeconds=max(0, min(20, round(wait))))
        messages = reply.get("Messages", [])
        if not messages:
            return []
        with aws_errors("DeleteMessageBatch"):
            self._client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                    for n, m in enumerate(messages)
                ],
            )
        changes = [c for c in (parse(m.get("Body", "")) for m in messages) if c is not None]
        for change in changes:
            log.info("event.state_change", instance_id=change.instance_id, state=change.state)
        return changes
