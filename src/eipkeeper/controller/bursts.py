"""Burst capacity without DNS changes (pure): launch above `scale_out_above`, retire the newest
burst instance below `scale_in_below`, never twice in a cooldown, never more than `max` (S9).

EC2's Describe calls may not show a launch for seconds (FACTS.md, "EC2 as it really answers"),
so a round can decide a launch that an earlier round already made. Its ClientToken is derived
from what the decision rests on (the reserved address and its cooldown stamp, written before
each launch), never from the clock: the round that cannot see the first launch sends the same
token and EC2 answers with the first instance. A round that sees the stamp but not yet the
instance counts the launch (its token is on the stamp) as a live burst until Describe shows
it: that memory is in the cloud, so a restarted controller has it too. Bursts that exceed
`max` anyway (made by hand, or before this rule) are retired first.
"""

from __future__ import annotations

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.observation import Observation
from eipkeeper.controller.plan import Action, Finding, Launch, Retire, intent_token
from eipkeeper.model import TAG_BURST_AT, TAG_BURST_LAUNCH, TAG_DRAIN, Address, Instance
from eipkeeper.tagtime import parse_stamp


def plan_bursts(
    config: Config,
    service: ServiceConfig,
    members: list[Instance],
    seen: Observation,
    bound: dict[str, Address],
) -> tuple[list[Action], list[Finding]]:
    """Burst capacity without DNS changes: launch above scale_out_above, retire the newest
    burst instance below scale_in_below; never more than `max`, never twice in a cooldown
    (the stamp lives on the first reserved EIP, so it survives a crash: S8)."""
    burst = service.burst
    if burst is None or burst.metric is None:
        return [], []
    reserved = [bound[h] for h in service.hostnames if h in service.burst_hostnames and h in bound]
    value = seen.load.get(service.name)
    metric = f"{burst.metric.namespace}/{burst.metric.name}"
    stamp = reserved[0] if reserved else None
    last = parse_stamp(stamp.tags.get(TAG_BURST_AT, "")) if stamp else None
    active = _active(members, seen, stamp, last)
    # Bursts above max go first, whether or not the metric reports or a reserved address is
    # left (the model test found hand-made ones kept for good while the queue was silent).
    excess = _excess_bursts(service, _seen(active), seen, stamp.allocation_id if stamp else "")
    if excess:
        return excess, []
    if stamp is None:
        return [], []
    if value is None:
        note = f"{service.name}: {metric} reported nothing recently; no burst decision"
        return [], [Finding("metric-unavailable", "info", service.name, note)]
    cooling = last is not None and seen.now - last < burst.cooldown
    above, below = burst.scale_out_above, burst.scale_in_below
    if above is not None and value > above:
        if cooling:
            return [], []
        why = f"{metric} = {value:g} > scale_out_above {above:g}"
        return _scale_out(config, service, seen, reserved, len(active), why), []
    if below is not None and value < below and _seen(active) and not cooling:
        newest = max(_seen(active), key=lambda i: (i.launch_time, i.instance_id))
        why = f"{metric} = {value:g} < scale_in_below {below:g}"
        return [_retire(service, newest, seen, stamp.allocation_id, why)], []
    return [], []


def _active(
    members: list[Instance], seen: Observation, stamp: Address | None, last: float | None
) -> list[Instance | str]:
    """The live bursts: members marked burst, pending or running and not draining, and the
    last launch's token while Describe does not show it yet."""
    active: list[Instance | str] = [
        i
        for i in members
        if seen.is_burst(i) and i.state in ("pending", "running") and TAG_DRAIN not in i.tags
    ]
    if stamp is not None and _unseen_launch(stamp, seen, last):
        active.append(stamp.tags[TAG_BURST_LAUNCH])
    return active


def _scale_out(
    config: Config,
    service: ServiceConfig,
    seen: Observation,
    reserved: list[Address],
    live: int,
    reason: str,
) -> list[Action]:
    """A launch for the first free reserved address, below `max` (out of its cooldown)."""
    assert service.burst is not None
    stamp = reserved[0]
    # A listed reserved address is not claimed (its finding says so): no burst for it.
    free = [a for a in reserved if not a.associated and seen.unfit(config, a) is None]
    if live >= min(service.burst.max, len(reserved)) or not free:
        return []
    # The token names the intent by what it was decided on (S9): the cooldown stamp
    # (written before each launch or retirement) and the reserved address. A round that
    # does not yet see the stamp nor the instance sends this very token again.
    token = intent_token(
        f"{config.owner}-burst-{service.name}",
        free[0].allocation_id,
        stamp.tags.get(TAG_BURST_AT, ""),
    )
    return [
        Launch(
            service=service.name,
            launch_template=service.burst.launch_template,
            hostname=free[0].hostname,
            token=token,
            reason=reason,
            burst=True,
            stamp=stamp.allocation_id,
        )
    ]


LAUNCH_MEMORY = 300.0
"""Seconds a launch Describe does not show yet still counts as live (EC2: "a couple of seconds
... up to a few minutes"); past it, the launch is taken as lost and may be made again."""


def _unseen_launch(stamp: Address, seen: Observation, last: float | None) -> bool:
    """The last launch (its token on the stamp) is not yet shown by Describe, and recent."""
    token = stamp.tags.get(TAG_BURST_LAUNCH, "")
    if not token or last is None or seen.now - last > LAUNCH_MEMORY:
        return False
    return not any(i.client_token == token for i in seen.instances)


def _seen(active: list[Instance | str]) -> list[Instance]:
    return [i for i in active if isinstance(i, Instance)]


def _excess_bursts(
    service: ServiceConfig, active: list[Instance], seen: Observation, stamp: str
) -> list[Action]:
    """Bursts above `burst.max` (two rounds that could not see each other's launch, or one
    made by hand) are retired first, newest first, whatever the load or the cooldown (S9)."""
    assert service.burst is not None
    over = len(active) - service.burst.max
    if over <= 0:
        return []
    newest = sorted(active, key=lambda i: (i.launch_time, i.instance_id), reverse=True)
    why = f"{len(active)} burst instances live, burst.max is {service.burst.max}"
    return [_retire(service, i, seen, stamp, why) for i in newest[:over]]


def _retire(
    service: ServiceConfig, instance: Instance, seen: Observation, stamp: str, reason: str
) -> Retire:
    held = next((a for a in seen.addresses if a.instance_id == instance.instance_id), None)
    return Retire(
        service=service.name,
        instance_id=instance.instance_id,
        allocation_id=held.allocation_id if held else "",
        stamp=stamp,
        reason=reason,
    )
