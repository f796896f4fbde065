"""The switch report of a move: what a client of the address saw.

The API call is one step (AssociateAddress with AllowReassociation=true), but EC2's data plane
takes seconds to minutes to follow (FACTS.md). The engine probes the address many times a
second from just before the call until the new instance answers steadily; this report says
what a client saw: the last answer from the old instance, the first from the new, the time with
no answer at all, and any flapping between them. `check_target` is the S6 probe of a drain's
standby before it is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eipkeeper.config import CheckConfig, Config
from eipkeeper.errors import SafetyRefusal, UsageError
from eipkeeper.fleet import FleetView
from eipkeeper.health.probes import ProbeResult
from eipkeeper.health.runner import Target, check_of, check_once
from eipkeeper.health.switch import SwitchTimeline
from eipkeeper.health.tls import TlsContexts
from eipkeeper.model import Address, Instance


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
    *, config: Config, view: FleetView, address: Address, instance: Instance
) -> MovePreview:
    """A drain's standby move, before the engine plans and checks it (S1, S4, S6)."""
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
    return MovePreview(
        address=address, instance=instance, old=old, check=check, lost_ip=view.dynamic_ip(instance)
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
