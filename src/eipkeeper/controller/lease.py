"""A DynamoDB lease so that only one of several `run` replicas acts, fenced by its version.

One item per lease name: `holder`, `expires` (epoch seconds) and `version`. Every write is a
conditional UpdateItem (the only DynamoDB permission the lease needs), so two replicas never
both hold an unexpired lease:

- taking it (free, expired, or already ours) bumps `version`: each tenure has its own number;
- a heartbeat thread renews it every third of the TTL, independent of the rounds, which can
  block for minutes (an association to show, a lagging DNS server);
- the fence: before each mutating step a round renews the lease once more on condition that
  `holder` and `version` are still the ones it started with. A replica whose lease expired,
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
        self.version = 0
        """The version of this replica's current (or last) tenure: the fencing token."""
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

    def token(self) -> int:
        """The fencing token a round starts with (0 when the lease is not held)."""
        return self.version if self.held else 0

    # -- writes -----------------------------------------------------------------------------

    def acquire(self) -> bool:
        """Take the lease or renew it (the heartbeat's call); True while this replica holds it.

        Raises ConfigError when the table does not exist, TransientError when DynamoDB does
        not answer (the lease then lapses locally after its TTL)."""
        if self.held:
            try:
                self._renew(self.version)
                return True
            except LeaseLost:
                return False
        self._lose("not renewed within its TTL")  # a no-op unless it lapsed while held
        return self._take()

    def fence(self, token: int) -> None:
        """Raise LeaseLost unless this replica still holds the tenure TOKEN, renewing it on
        that condition (a conditional write: DynamoDB answers for the present, not a cache)."""
        if not self.held:
            self._lose("not renewed within its TTL")  # a no-op unless it lapsed while held
            raise LeaseLost(self._lost_message(token))
        if not token or token != self.version:
            raise LeaseLost(self._lost_message(token))  # a later tenure: that one is fine
        self._renew(token)

    def release(self) -> None:
        """Give the lease up at once (on a clean stop), so another replica need not wait.

        The item stays, expired and without a holder: deleting it would restart the version
        at 1, and a version seen twice is no fencing token."""
        with self._lock:
            was_held, self._held = self._held, False
        if not was_held:
            return
        try:
            self._write(
                UpdateExpression="SET expires = :zero REMOVE holder",
                ConditionExpression="holder = :me AND version = :v",
                ExpressionAttributeValues={
                    ":me": {"S": self.holder},
                    ":v": {"N": str(self.version)},
                    ":zero": {"N": "0"},
                },
            )
            log.info("lease.released", lease=self.name, holder=self.holder, version=self.version)
        except _ConditionFailed:
            pass  # someone else holds it already
        except Exception as exc:  # it expires by itself anyway
            log.warning("lease.release_failed", lease=self.name, error=str(exc))

    def _take(self) -> bool:
        sent = self.monotonic()
        now = self.clock()
        try:
            reply = self._write(
                UpdateExpression=(
                    "SET holder = :me, expires = :exp, "
                    "version = if_not_exists(version, :zero) + :one"
                ),
                ConditionExpression="attribute_not_exists(#n) OR expires < :now OR holder = :me",
                ExpressionAttributeNames={"#n": "name"},
                ExpressionAttributeValues={
                    ":me": {"S": self.holder},
                    ":exp": {"N": f"{now + self.ttl:.3f}"},
                    ":now": {"N": f"{now:.3f}"},
                    ":zero": {"N": "0"},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
            )
        except _ConditionFailed:
            return False
        version = int(reply["Attributes"]["version"]["N"])
        with self._lock:
            self.version = version
            self._held = True
            self._valid_until = sent + self.ttl * (1 - SAFETY_MARGIN)
        log.info(
            "lease.acquired",
            lease=self.name,
            holder=self.holder,
            version=version,
            ttl=f"{self.ttl:g}s",
        )
        return True

    def _renew(self, token: int) -> None:
        sent = self.monotonic()
        now = self.clock()
        try:
            self._write(
                UpdateExpression="SET expires = :exp",
                ConditionExpression="holder = :me AND version = :v",
                ExpressionAttributeValues={
                    ":me": {"S": self.holder},
                    ":v": {"N": str(token)},
                    ":exp": {"N": f"{now + self.ttl:.3f}"},
                },
            )
        except _ConditionFailed:
            self._lose("another replica took it")
            raise LeaseLost(self._lost_message(token)) from None
        with self._lock:
            if self._held and self.version == token:
                self._valid_until = max(self._valid_until, sent + self.ttl * (1 - SAFETY_MARGIN))

    def _write(self, **request: Any) -> Any:
        """One conditional UpdateItem. A reply that never came leaves the outcome unknown:
        the lease then lapses locally when its TTL runs out (see `held`)."""
        with aws_errors(f"UpdateItem {self.table}"):
            try:
                return self._client.update_item(
                    TableName=self.table, Key={"name": {"S": self.name}}, **request
                )
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
                "lease.lost", lease=self.name, holder=self.holder, version=self.version, why=why
            )

    def _lost_message(self, token: int) -> str:
        return (
            f"lease {self.name} in {self.table} lost (tenure {token}): this replica makes no "
            "further change; the replica holding the lease carries on"
        )


class _ConditionFailed(Exception):
    pass
