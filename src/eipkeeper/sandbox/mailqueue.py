"""Each sandbox instance's MTA queue: a length that empties at a set rate.

A mail provider once bounced 54,000 messages after shutting down nodes whose queues still held
mail, so `drain` waits for an instance's queue before it terminates it. The sandbox gives every
instance a queue to wait for: the tag `sandbox:queue=N` sets it to N messages (each new value of
the tag sets it again), every message the instance accepts adds one (an MX relays what it
accepts), and it empties at `rate` messages a second. Its readiness endpoint answers 200 when
the queue is empty and 503 with the count otherwise.

Pure bookkeeping on a clock reading; the data plane holds the lock around it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SimulatedQueue:
    length: float = 0.0
    since: float = 0.0
    tag: str | None = None
    """The tag value last applied, so that only a new value resets the length."""

    def length_at(self, now: float, *, rate: float) -> int:
        """Messages still queued at NOW (a message partly sent is still queued)."""
        left = self.length - rate * max(0.0, now - self.since)
        return max(0, math.ceil(left - 1e-9))

    def with_tag(self, tag: str | None, *, now: float) -> SimulatedQueue:
        """The queue after the instance's tag reads TAG; a value that is no count is ignored."""
        if tag is None or tag == self.tag:
            return self
        try:
            length = float(int(tag))
        except ValueError:
            return SimulatedQueue(length=self.length, since=self.since, tag=tag)
        return SimulatedQueue(length=max(0.0, length), since=now, tag=tag)

    def plus_one(self, *, now: float, rate: float) -> SimulatedQueue:
        """The queue after one more accepted message."""
        left = max(0.0, self.length - rate * max(0.0, now - self.since))
        return SimulatedQueue(length=left + 1, since=now, tag=self.tag)
