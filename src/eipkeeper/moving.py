"""`move`: an Elastic IP taken from one instance to another, with the switch measured.

The API call is one step (AssociateAddress with AllowReassociation=true), but EC2's data plane
takes seconds to minutes to follow (FACTS.md). So the address is probed many times a second
from just before the call until the new instance answers steadily, and the report says what a
client saw: the last answer from the old instance, the first from the new, the time with no
answer at all, and any flapping between them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from eipkeeper.address_ops import DnsReferences, preview_associate, require_owner
from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import CheckConfig, Config
from eipkeeper.errors import OperationError, SafetyRefusal, UsageError
from eipkeeper.fleet import FleetView
from eipkeeper.health.probes import ProbeResult
from eipkeeper.health.runner import Target, check_of, check_once
from eipkeeper.health.switch import SwitchTimeline, analyse, instance_names
from eipkeeper.health.tls import TlsContexts
from eipkeeper.health.watch import DEFAULT_EVERY, AddressWatch
from eipkeeper.model import Address, Instance

VISIBILITY_POLL = 0.2
"""Seconds between DescribeAddresses calls while waiting for the association to show."""


@dataclass(frozen=True)
class MovePreview:
    address: Address
    instance: Instance
    """Where the address goes."""
    old: Instance | None
    """Its holder now, when the read found it."""
    check: CheckConfig | None
    already: bool = False
    lost_ip: str = ""
    warning: str = ""
    """The dynamic public IP the target loses for good, said as `associate` says it."""

    @property
    def old_id(self) -> str:
        return self.address.instance_id or self.address.network_interface_id

    @property
    def old_label(self) -> str:
        return self.old.label if self.old is not None else self.old_id


def preview_move(
    *, config: Config, view: FleetView, address: Address, instance: Instance, dns: DnsReferences
) -> MovePreview:
    """What `move` would do, or the rule that forbids it (S4; the target's S6 comes later)."""
    require_owner(config, address, "move")
    old = view.instance_by_id(address.instance_id)
    check = check_of(config, instance, address=address)
    if address.instance_id == instance.instance_id:
        return MovePreview(address=address, instance=instance, old=old, check=check, already=True)
    if not address.associated:
        raise UsageError(
            f"{address.public_ip} is on no instance; claiming a free address is "
            f"`eipkeeper associate {address.public_ip} {instance.instance_id}`"
        )
    if not instance.running:
        raise SafetyRefusal(
            "S6",
            f"{instance.label} is {instance.state}; an address moves only to a healthy instance",
            [instance.instance_id],
        )
    # On the target's side a move is a claim: the same displacement rule, the same lost IP.
    free = replace(address, association_id="", instance_id="", network_interface_id="")
    claim = preview_associate(config=config, view=view, address=free, instance=instance, dns=dns)
    return MovePreview(
        address=address,
        instance=instance,
        old=old,
        check=check,
        lost_ip=claim.lost_ip,
        warning=claim.warning,
    )


def check_target(preview: MovePreview, *, tls: TlsContexts) -> ProbeResult | None:
    """S6: the target must pass its check on its own address before it takes the EIP."""
    check, instance = preview.check, preview.instance
    if check is None:
        return None
    host = instance.public_ip or instance.private_ip
    target = Target(key=instance.instance_id, host=host, check=check, expect=instance.instance_id)
    result = check_once([target], tls=tls)[target.key]
    if not result.ok:
        raise SafetyRefusal(
            "S6",
            f"{instance.label} failed its {check.kind} check on {host}:{check.port} "
            f"({result.detail}); an address moves only to a healthy instance",
            [instance.instance_id],
        )
    return result


@dataclass(frozen=True)
class MoveReport:
    preview: MovePreview
    association_id: str
    visible_after: float
    timeline: SwitchTimeline | None
    """None when the service has no check: nothing was probed."""
    every: float

    def to_data(self) -> dict[str, Any]:
        eip, line = self.preview.address, self.timeline
        return {
            "public_ip": eip.public_ip,
            "allocation_id": eip.allocation_id,
            "hostname": eip.hostname,
            "old_instance_id": self.preview.old_id,
            "new_instance_id": self.preview.instance.instance_id,
            "association_id": self.association_id,
            "changed": True,
            "check": self.preview.check.kind if self.preview.check else None,
            "visible_after": round(self.visible_after, 3),
            "probe_interval": self.every,
            "probes": line.probes if line else 0,
            "answered": line.answered if line else 0,
            "identified": line.identified if line else False,
            "last_old_answer_after": line.last_old_at if line else None,
            "first_new_answer_after": line.first_new_at if line else None,
            "steady_after": line.steady_at if line else None,
            "gap_seconds": line.gap if line else None,
            "flaps": line.flaps if line else None,
            "other_answers": list(line.others) if line else [],
            "steady": line.steady if line else None,
        }

    def lines(self) -> list[str]:
        """The report for people: the timeline, times in seconds after the call."""
        preview, line = self.preview, self.timeline
        eip, new = preview.address, preview.instance
        bound = f" ({eip.hostname})" if eip.hostname else ""
        out = [
            f"moved {eip.public_ip}{bound} from {preview.old_label} to {new.label} "
            "in one AssociateAddress call",
            f"  visible in EC2      {_at(self.visible_after)}",
        ]
        if line is None:
            return [*out, "  the service has no check: the switch was not measured"]
        if line.identified:
            out.append(f"  last answer, old    {_at(line.last_old_at)}  {preview.old_label}")
            out.append(f"  first answer, new   {_at(line.first_new_at)}  {new.label}")
        else:
            out.append("  answers do not name who answered: old and new look alike")
        out.append(
            f"  gap with no answer  {line.gap:7.2f}s  (probed every {self.every * 1000:.0f}ms: "
            f"{line.probes} probes, {line.answered} answered)"
        )
        out.append(f"  flapping            {_flaps(line):>7}")
        if line.others:
            out.append(f"  answers from others  {', '.join(line.others)}")
        if not line.steady:
            out.append(f"  {new.label} did not answer steadily before the timeout")
        return out


def _at(seconds: float | None) -> str:
    return "  never" if seconds is None else f"{seconds:+7.2f}s"


def _flaps(line: SwitchTimeline) -> str:
    if not line.identified:
        return "unknown"
    return "none" if line.flaps == 0 else f"{line.flaps} time(s) back to the old instance"


def move(
    *,
    ec2: Ec2,
    preview: MovePreview,
    tls: TlsContexts,
    timeout: float,
    on_tick: Callable[[float], None] = lambda elapsed: None,
    every: float = DEFAULT_EVERY,
) -> MoveReport:
    """One AssociateAddress with AllowReassociation=true, probing the address throughout."""
    eip, target, check = preview.address, preview.instance, preview.check
    if check is None:
        started = time.monotonic()
        association = _associate_and_wait(ec2, preview, timeout=timeout, on_tick=on_tick)
        return MoveReport(preview, association, time.monotonic() - started, None, every)
    with AddressWatch(host=eip.public_ip, check=check, tls=tls, every=every) as watch:
        # One finished probe first, so that the timeline shows who answered before the call.
        watch.wait_for(bool, timeout=check.timeout + 1.0)
        call_at = time.monotonic()
        association = _associate_and_wait(ec2, preview, timeout=timeout, on_tick=on_tick)
        visible_at = time.monotonic()

        def timeline() -> SwitchTimeline:
            return analyse(
                watch.samples(),
                call_at=call_at,
                old=frozenset({preview.old_id.lower()}) | _names(preview.old),
                new=instance_names(target),
                visible_at=visible_at,
            )

        watch.wait_for(
            lambda samples: timeline().steady,
            timeout=max(0.0, timeout - (visible_at - call_at)),
            on_tick=lambda elapsed: on_tick(time.monotonic() - call_at),
        )
    return MoveReport(preview, association, visible_at - call_at, timeline(), every)


def _names(instance: Instance | None) -> frozenset[str]:
    return instance_names(instance) if instance is not None else frozenset()


def _associate_and_wait(
    ec2: Ec2, preview: MovePreview, *, timeout: float, on_tick: Callable[[float], None]
) -> str:
    # S6: a deliberate move is the one place besides failover that takes an address over.
    association = ec2.associate(preview.address, preview.instance, allow_reassociation=True)
    ec2.wait_for_association(
        preview.address.allocation_id,
        preview.instance.instance_id,
        timeout=timeout,
        on_tick=on_tick,
        poll=VISIBILITY_POLL,
    )
    return association


def wait_until_answering(
    *,
    address: Address,
    instance: Instance,
    check: CheckConfig,
    tls: TlsContexts,
    timeout: float,
    on_tick: Callable[[float], None] = lambda elapsed: None,
    every: float = DEFAULT_EVERY,
) -> SwitchTimeline:
    """After an association is visible: wait until ADDRESS answers steadily from INSTANCE."""
    with AddressWatch(host=address.public_ip, check=check, tls=tls, every=every) as watch:
        started = time.monotonic()

        def timeline() -> SwitchTimeline:
            return analyse(
                watch.samples(), call_at=started, old=frozenset(), new=instance_names(instance)
            )

        watch.wait_for(lambda samples: timeline().steady, timeout=timeout, on_tick=on_tick)
    line = timeline()
    if not line.steady:
        last = watch.samples()[-1].result.detail if watch.samples() else "no probe finished"
        raise OperationError(
            f"{address.public_ip} is on {instance.label} in EC2 but did not answer from it "
            f"on port {check.port} before the timeout (last probe: {last})"
        )
    return line
