"""S9, one intent, one effect, judged from the truth (the test reads past the sandbox's lag)
after every step:

- one instance per launch intent: no ClientToken eipkeeper sent names two instances;
- bursts: never more live than `burst.max` because of a launch eipkeeper made; more than
  `max` for another reason (a stopped burst started again behind its back) is retired by the
  first round that starts once the lag has passed;
- one address per pool slot (hostname) and per allocate request (its tag, since
  AllocateAddress has no ClientToken), and no address of the account without tags.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.model.world import LAG, Snapshot

BURST_MAX = 1
"""`burst.max` in the sandbox's sample config."""
ROUND_SLACK = 1.0
"""Seconds past the lag before a round must see everything as it is."""


@dataclass
class S9Watch:
    flag: Callable[[str, str], None]
    tokens: set[str] = field(default_factory=set)
    launched_in_step: bool = False
    over_since: float | None = None
    round_started: float = 0.0
    """When the last round that finished began."""
    holder_changed: dict[str, float] = field(default_factory=dict)
    """Allocation id -> when the truth first showed it on another instance (or on none):
    eipkeeper's Describe may show the old holder until the lag has passed."""

    def launched(self, form: dict[str, list[str]]) -> None:
        token = form.get("ClientToken", [""])[0]
        if token:
            self.tokens.add(token)
        self.launched_in_step = True

    def round_done(self, started: float) -> None:
        self.round_started = max(self.round_started, started)

    def check(self, after: Snapshot, now: float, *, before: Snapshot | None = None) -> None:
        if before is not None:
            old = {a["AllocationId"]: a.get("InstanceId", "") for a in before.addresses}
            for address in after.addresses:
                if old.get(address["AllocationId"]) != address.get("InstanceId", ""):
                    self.holder_changed[address["AllocationId"]] = now
        self._one_instance_per_token(after)
        self._bursts(after, now)
        self._addresses(after)
        self.launched_in_step = False

    def _one_instance_per_token(self, after: Snapshot) -> None:
        counted = Counter(i.get("ClientToken", "") for i in after.instances)
        for token in sorted(self.tokens):
            if counted[token] > 1:
                self.flag("S9-intent", f"ClientToken {token} names {counted[token]} instances")

    def _bursts(self, after: Snapshot, now: float) -> None:
        live = [
            i["InstanceId"]
            for i in after.live()
            if i["State"]["Name"] in ("pending", "running")
            and "eipkeeper:burst" in after.tags(i)
            and "eipkeeper:drain" not in after.tags(i)
        ]
        if len(live) <= BURST_MAX:
            self.over_since = None
            return
        if self.launched_in_step:
            self.flag("S9-bursts", f"{len(live)} bursts live after a launch, max {BURST_MAX}")
        if self.over_since is None:
            self.over_since = now
        elif self.round_started > self.over_since + LAG[1] + ROUND_SLACK:
            self.flag("S9-bursts", f"{live} still live after a round past the lag")
            self.over_since = now

    def _addresses(self, after: Snapshot) -> None:
        slots = Counter(
            after.tags(a).get("eipkeeper:hostname", "")
            for a in after.addresses
            if after.tags(a).get("eipkeeper:hostname")
        )
        for hostname, count in sorted(slots.items()):
            if count > 1:
                self.flag("S9-slot", f"{count} addresses for the slot {hostname}")
        requests = Counter(after.tags(a).get("eipkeeper:request", "") for a in after.addresses)
        for request, count in sorted(requests.items()):
            if request and count > 1:
                self.flag("S9-allocate", f"one allocate request ({request}) made {count}")
        for address in after.addresses:
            if not address.get("Tags"):
                self.flag("S9-untagged", f"{_ip(address)} has no tags")


def _ip(address: dict[str, Any]) -> str:
    return str(address.get("PublicIp", "?"))
