"""A DynamoDB lease so that only one of several `run` replicas acts, fenced by its tenure.

One item per lease name: `holder`, `expires` (epoch seconds) and `tenure`. Every write is a
conditional PutItem (release: a conditional DeleteItem), so two replicas never both hold an
unexpired lease:

- taking it (free, expired, or already ours) writes a new random `tenure`; no two tenures
  share one, so it serves as the fencing token (only equality is ever checked, against the
  item itself, so it need not be ordered like a counter, and a deleted item restarts nothing);
- a heartbeat thread renews it every third of the TTL, independent of the rounds, which can
  block for minutes (an association to show, a lagging DNS server);
- the fence: before each mutating step a round renews the lease once more on condition that
  `holder` and `tenure` are still the ones it started with. A replica whose lease expired,
  or was taken over and perhaps taken back since, gets `LeaseLost` and writes nothing more.
  Between the fence and the step there is one API call of time; EC2 and DNS take no fencing
  token themselves, so that window is the floor (the S5 prerequisites of DNS updates and
  AllowReassociation=false on claims bound what a late step can do).

A replica also counts its lease lost locally once `ttl` minus a margin has passed since its
last successful write (measured on its monotonic clock from before the write was sent), so a
frozen or partitioned replica stops itself even before DynamoDB can tell it so. Clocks of
the replicas must agree to well within the TTL (the expiry others compare is wall time).

Create the table once (README: "Running several replicas"):

    aws dynamodb create-table --table-name eipkeeper-lease \\
        --attribute-definitions AttributeName=name,AttributeType=S \\
        --key-schema AttributeName=name,KeyType=HASH --billing-mode PAY_PER_REQUEST
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import botocore.exceptions

from eipkeeper.cloud.aws import AwsSession, aws_errors, error_code
from eipkeeper.errors import ConfigError, OperationError
from eipkeeper.logs import get_logger

log = get_logger("eipkeeper.run")

SAFETY_MARGIN = 0.2
"""Share of the TTL by which a replica gives its lease up early, for clock drift and the
latency of its last write."""


class LeaseLost(OperationError):
    """This replica no longer holds the lease it started a round with: it must not write."""

    handling = "fenced"


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
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client: Any = session.client("dynamodb")
        self.table = table
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self.clock = clock
        self.monotonic = monotonic
        self.tenure = ""
        """This replica's current (or last) tenure, a random id written with the lease: the
        fencing token."""
        self.losses = 0
        """How many times a held lease was lost (metrics)."""
        self._held = False
        self._valid_until = 0.0
        self._lock = threading.Lock()

    # -- state ------------------------------------------------------------------------------

    @property
    def held(self) -> bool:
        """True while this replica holds the lease and its last write is recent enough."""
        with self._lock:
            return self._held and self.monotonic() < self._valid_until

    def token(self) -> str:
        """The fencing token a round starts with ("" when the lease is not held)."""
        return self.tenure if self.held else ""

    # -- writes -----------------------------------------------------------------------------

    def acquire(self) -> bool:
        """Take the lease or renew it (the heartbeat's call); True while this replica holds it.

        Raises ConfigError when the table does not exist, TransientError when DynamoDB does
        not answer (the lease then lapses locally after its TTL)."""
        if self.held:
            try:
                self._renew(self.tenure)
                return True
            except LeaseLost:
                return False
        self._lose("not renewed within its TTL")  # a no-op unless it lapsed while held
        return self._take()

    def fence(self, token: str) -> None:
        """Raise LeaseLost unless this replica still holds the tenure TOKEN, renewing it on
        that condition (a conditional write: DynamoDB answers for the present, not a cache)."""
        if not self.held:
            self._lose("not renewed within its TTL")  # a no-op unless it lapsed while held
            raise LeaseLost(self._lost_message(token))
        if not token or token != self.tenure:
            raise LeaseLost(self._lost_message(token))  # a later tenure: that one is fine
        self._renew(token)

    def release(self) -> None:
        """Give the lease up at once (on a clean stop), so another replica need not wait."""
        with self._lock:
            was_held, self._held = self._held, False
        if not was_held:
            return
        try:
            with aws_errors(f"DeleteItem {self.table}"):
                self._client.delete_item(
                    TableName=self.table,
                    Key={"name": {"S": self.name}},
                    ConditionExpression="holder = :me AND tenure = :t",
                    ExpressionAttributeValues={
                        ":me": {"S": self.holder},
                        ":t": {"S": self.tenure},
                    },
                )
            log.info("lease.released", lease=self.name, holder=self.holder, tenure=self.tenure)
        except Exception as exc:  # someone else holds it already, or it expires by itself
            log.warning("lease.release_failed", lease=self.name, error=str(exc))

    def _take(self) -> bool:
        tenure = uuid.uuid4().hex
        sent = self.monotonic()
        now = self.clock()
        try:
            self._put(
                tenure=tenure,
                expires=now + self.ttl,
                ConditionExpression="attribute_not_exists(#n) OR expires < :now OR holder = :me",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={
                    ":me": {"S": self.holder},
                    ":now": {"N": f"{now:.3f}"},
                },
            )
        except _ConditionFailed:
            return False
        with self._lock:
            self.tenure = tenure
            self._held = True
            self._valid_until = sent + self.ttl * (1 - SAFETY_MARGIN)
        log.info(
            "lease.acquired",
            lease=self.name,
            holder=self.holder,
            tenure=tenure,
            ttl=f"{self.ttl:g}s",
        )
        return True

    def _renew(self, token: str) -> None:
        sent = self.monotonic()
        now = self.clock()
        try:
            self._put(
                tenure=token,
                expires=now + self.ttl,
                ConditionExpression="holder = :me AND tenure = :t",
                ExpressionAttributeValues={":me": {"S": self.holder}, ":t": {"S": token}},
            )
        except _ConditionFailed:
            self._lose("another replica took it")
            raise LeaseLost(self._lost_message(token)) from None
        with self._lock:
            if self._held and self.tenure == token:
                self._valid_until = max(self._valid_until, sent + self.ttl * (1 - SAFETY_MARGIN))

    def _put(self, *, tenure: str, expires: float, **condition: Any) -> None:
        """One conditional PutItem of the whole lease. A reply that never came leaves the
        outcome unknown: the lease then lapses locally when its TTL runs out (see `held`)."""
        item = {
            "name": {"S": self.name},
            "holder": {"S": self.holder},
            "tenure": {"S": tenure},
            "expires": {"N": f"{expires:.3f}"},
        }
        with aws_errors(f"PutItem {self.table}"):
            try:
                self._client.put_item(TableName=self.table, Item=item, **condition)
            except botocore.exceptions.ClientError as exc:
                code = error_code(exc)
                if code == "ConditionalCheckFailedException":
                    raise _ConditionFailed from None
                if code == "ResourceNotFoundException":
                    raise ConfigError(
                        f"--lease-table {self.table}: no such DynamoDB table in this region; "
                        "create it (README: Running several replicas)"
                    ) from None
                raise

    def _lose(self, why: str) -> None:
        with self._lock:
            was_held, self._held = self._held, False
        if was_held:
            self.losses += 1
            log.warning(
                "lease.lost", lease=self.name, holder=self.holder, tenure=self.tenure, why=why
            )

    def _lost_message(self, token: str) -> str:
        return (
            f"lease {self.name} in {self.table} lost (tenure {token or '-'}): this replica "
            "makes no further change; the replica holding the lease carries on"
        )


class _ConditionFailed(Exception):
    pass
