"""A drain's standby: the healthy instance its pool EIP moves to, probed before it is chosen
(S6), and what the move did."""

from __future__ import annotations

from dataclasses import dataclass

from eipkeeper.config import CheckConfig, Config
from eipkeeper.errors import SafetyRefusal
from eipkeeper.health.runner import Target, check_of, check_once
from eipkeeper.health.switch import SwitchTimeline
from eipkeeper.health.tls import TlsContexts
from eipkeeper.model import Address, Instance


@dataclass(frozen=True)
class MovePreview:
    address: Address
    instance: Instance
    """Where the address goes."""
    check: CheckConfig | None

    @property
    def old_id(self) -> str:
        return self.address.instance_id or self.address.network_interface_id


@dataclass(frozen=True)
class MoveReport:
    preview: MovePreview
    association_id: str
    visible_after: float
    timeline: SwitchTimeline | None
    """None when the service has no check: nothing was probed."""
    every: float


def preview_move(*, config: Config, address: Address, instance: Instance) -> MovePreview:
    return MovePreview(
        address=address, instance=instance, check=check_of(config, instance, address=address)
    )


def check_target(preview: MovePreview, *, tls: TlsContexts) -> None:
    """S6: the target must pass its check on its own address before it takes the EIP."""
    check, instance = preview.check, preview.instance
    if check is None:
        return
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
