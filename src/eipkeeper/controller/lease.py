"""A DynamoDB lease so that only one of several `run` replicas acts at a time.

One item per lease name: holder, expiry (epoch seconds). A replica takes the lease when it is
free or expired, and renews it while it holds it, each by a conditional write, so two
replicas can never both believe they hold it past the expiry of the other's last write.
The holder renews every round; a replica that stops renewing loses the lease after `ttl`.

Create the table once (README: "Running several replicas"):

    aws dynamodb create-table --table-name eipkeeper-lease \\
        --attribute-definitions AttributeName=name,AttributeType=S \\
        --key-schema AttributeName=name,KeyType=HASH --billing-mode PAY_PER_REQUEST
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from eipkeeper.cloud.aws import AwsSession, aws_errors, error_code
from eipkeeper.logs import get_logger

log = get_logger(__name__)


class Lease:
    def __init__(
        self,
        session: AwsSession,
        *,
        table: str,
        name: str,
        holder: str,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client: Any = session.client("dynamodb")
        self.table = table
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
        self.held = False

    def acquire(self) -> bool:
        """Take or renew the lease; True while this replica holds it."""
        now = self.clock()
        try:
            with aws_errors(f"PutItem {self.table}"):
                try:
                    self._client.put_item(
                        TableName=self.table,
                        Item={
                            "name": {"S": self.name},
                            "holder": {"S": self.holder},
                            "expires": {"N": f"{now + self.ttl:.3f}"},
                        },
                        ConditionExpression=(
                            "attribute_not_exists(#n) OR holder = :me OR expires < :now"
                        ),
                        ExpressionAttributeNames={"#n": "name"},
                        ExpressionAttributeValues={
                            ":me": {"S": self.holder},
                            ":now": {"N": f"{now:.3f}"},
                        },
                    )
                except botocore.exceptions.ClientError as exc:
                    if error_code(exc) != "ConditionalCheckFailedException":
                        raise
                    if self.held:
                        log.warning("lease.lost", holder=self.holder, lease=self.name)
                    self.held = False
                    return False
        except Exception:
            self.held = False
            raise
        if not self.held:
            log.info("lease.acquired", holder=self.holder, lease=self.name)
        self.held = True
        return True

    def release(self) -> None:
        """Give the lease up at once (on a clean stop), so another replica need not wait."""
        if not self.held:
            return
        try:
            with aws_errors(f"DeleteItem {self.table}"):
                self._client.delete_item(
                    TableName=self.table,
                    Key={"name": {"S": self.name}},
                    ConditionExpression="holder = :me",
                    ExpressionAttributeValues={":me": {"S": self.holder}},
                )
        except Exception as exc:  # the lease expires by itself anyway
            log.warning("lease.release_failed", error=str(exc))
        self.held = False
