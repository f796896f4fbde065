"""AWS's API rate limits as token buckets (FACTS.md, "EC2 as it really answers").

EC2 throttles per account and region, per action: reads have a bucket of 100 refilled at 20
a second, an unfiltered DescribeInstances 50 at 10/s, mutating calls 50 at 5/s and
RunInstances 5 at 2/s. Route 53 has one bucket for the account, 50 at 10/s. One table serves
both sides: the client's limiter (`Limiter`: eipkeeper stays inside the buckets by itself) and
the sandbox's throttle (which answers `RequestLimitExceeded` as EC2 does).

The client's limiter is sized from this table rather than botocore's `adaptive` mode: adaptive
learns the rate only by being throttled, keeps one rate for all of a client's actions (reads
at 20/s and writes at 5/s share it) and cuts it by 30% at each throttle, so a long first apply
runs well below what the buckets allow. Behind the limiter, botocore's `standard` retries still
back off with jitter when the account's other callers took the tokens.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    capacity: float
    refill: float
    """Tokens a second."""


EC2_READ = Size(100, 20)
EC2_UNFILTERED_DESCRIBE_INSTANCES = Size(50, 10)
EC2_WRITE = Size(50, 5)
EC2_RUN_INSTANCES = Size(5, 2)
ROUTE53 = Size(50, 10)

_READ_PREFIXES = ("Describe", "Get", "List")


def bucket_of(service: str, action: str, params: Mapping[str, object] = {}) -> tuple[str, Size]:
    """The bucket (its key and size) that ACTION of SERVICE draws from; ("", ...) for the
    services AWS documents no such bucket for here (SQS, CloudWatch, DynamoDB...)."""
    if service == "route53":
        return "route53", ROUTE53  # one bucket for the account, every action
    if service != "ec2":
        return "", Size(0, 0)
    if action == "RunInstances":
        return action, EC2_RUN_INSTANCES
    if action == "DescribeInstances" and not any(
        k.startswith(("Filter", "InstanceId")) for k in params
    ):
        return "DescribeInstances:unfiltered", EC2_UNFILTERED_DESCRIBE_INSTANCES
    if action.startswith(_READ_PREFIXES):
        return action, EC2_READ
    return action, EC2_WRITE


class TokenBucket:
    """CAPACITY tokens, refilled continuously at REFILL a second; starts full."""

    def __init__(self, size: Size, clock: Callable[[], float]) -> None:
        self.size = size
        self.clock = clock
        self.tokens = size.capacity
        self.at = clock()

    def take(self) -> float:
        """Take a token: 0.0 if there was one, else the seconds until there is (none taken)."""
        now = self.clock()
        self.tokens = min(self.size.capacity, self.tokens + (now - self.at) * self.size.refill)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.size.refill


class Limiter:
    """Client side: wait for a token before each call, so eipkeeper alone never exceeds the
    account's buckets (one per action, as AWS keeps them)."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self.waited = 0.0
        """Seconds spent waiting for tokens (for benchmarks and `-v`)."""

    def acquire(self, service: str, action: str, params: Mapping[str, object] = {}) -> None:
        key, size = bucket_of(service, action, params)
        if not key:
            return
        while True:
            with self._lock:
                bucket = self._buckets.get(key)
                if bucket is None:
                    # One token short of AWS's: a call reaches AWS a little after it leaves,
                    # and a jitter in that delay must not find AWS's bucket a token shorter.
                    margin = Size(max(1.0, size.capacity - 1), size.refill)
                    bucket = self._buckets[key] = TokenBucket(margin, self.clock)
                wait = bucket.take()
                if wait:
                    self.waited += wait
            if not wait:
                return
            self.sleep(wait)


def minimum_seconds(calls: Mapping[str, int], sizes: Mapping[str, Size]) -> float:
    """The least time CALLS (bucket key -> count) take through full buckets of SIZES: each
    bucket serves its capacity at once, then its refill rate; the slowest bucket decides."""
    slowest = 0.0
    for key, count in calls.items():
        size = sizes[key]
        slowest = max(slowest, max(0.0, count - size.capacity) / size.refill)
    return slowest
