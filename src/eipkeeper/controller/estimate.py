"""How long a plan's apply takes at AWS's rate limits (pure): `plan` says so when it is over a
minute, so a first apply of a thousand claims is not taken for a hang.

Each action is counted as the EC2 calls its execution makes (executor.py), and each bucket
serves its capacity at once, then its refill rate (cloud/limits.py, from FACTS.md); the slowest
bucket decides. Reads and Route 53 batches are few beside the writes and are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from eipkeeper.cloud.limits import bucket_of, minimum_seconds
from eipkeeper.controller.plan import (
    Action,
    Bind,
    Claim,
    Disassociate,
    Finding,
    Launch,
    Move,
    Release,
    Retire,
    SetReverse,
    SettleLeaving,
)

_CALLS: dict[type, tuple[str, ...]] = {
    Bind: ("CreateTags",),
    Claim: ("AssociateAddress", "CreateTags"),
    Move: ("AssociateAddress", "CreateTags"),
    Launch: ("RunInstances", "CreateTags"),
    Disassociate: ("DisassociateAddress",),
    Release: ("ReleaseAddress",),
    Retire: ("CreateTags", "CreateTags", "DisassociateAddress", "TerminateInstances"),
    SetReverse: ("ModifyAddressAttribute",),
    SettleLeaving: ("CreateTags", "DeleteTags"),
}
SHOWN_ABOVE = 60.0
"""Seconds: a shorter apply is not worth a word."""


def apply_seconds(actions: Iterable[Action]) -> float:
    """The least time the EC2 writes of ACTIONS take through AWS's buckets."""
    calls: Counter[str] = Counter()
    sizes = {}
    for action in actions:
        for name in _CALLS.get(type(action), ()):
            key, size = bucket_of("ec2", name)
            calls[key] += 1
            sizes[key] = size
    return minimum_seconds(calls, sizes)


def apply_time_finding(actions: Iterable[Action]) -> list[Finding]:
    seconds = apply_seconds(actions)
    if seconds <= SHOWN_ABOVE:
        return []
    text = (
        f"applying this plan takes at least {seconds / 60:.0f} min at AWS's rate limits "
        "(mutating calls: a bucket of 50, then 5 a second, per action)"
    )
    return [Finding("apply-time", "info", "plan", text)]
