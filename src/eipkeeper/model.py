"""Values observed in the cloud: frozen dataclasses, no I/O.

The planner and the commands work on these; only `eipkeeper.cloud` builds them from AWS answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

# Tags are eipkeeper's durable store (S8): what must outlive the process lives here.
TAG_OWNER = "eipkeeper:owner"
TAG_SERVICE = "eipkeeper:service"
TAG_HOSTNAME = "eipkeeper:hostname"
TAG_LEFT_DNS_AT = "eipkeeper:left-dns-at"
"""On an EIP: when its last managed record was confirmed gone from DNS (ISO 8601 UTC); S3."""
TAG_LEAVING_DNS = "eipkeeper:leaving-dns"
"""On an EIP: set before its records are removed, cleared when TAG_LEFT_DNS_AT is set (S3, S8)."""
TAG_BURST = "eipkeeper:burst"
"""On an instance launched at peak load: it claims only burst-reserved EIPs."""
TAG_BURST_AT = "eipkeeper:burst-action-at"
"""On a service's first burst-reserved EIP: when the last scale action began (the cooldown)."""
TAG_BURST_LAUNCH = "eipkeeper:burst-launch"
"""On the same EIP, written with TAG_BURST_AT before a launch: its ClientToken. Until Describe
shows an instance with that token (EC2 lags), the launch counts as a live burst (S9); a
retirement clears it."""
TAG_REQUEST = "eipkeeper:request"
"""On an EIP, from its allocation: the request that made it. AllocateAddress has no ClientToken,
so a retry whose first try's outcome is unknown looks the address up by this tag (S9)."""
TAG_REPLACES = "eipkeeper:replaces"
"""On an instance launched to take over a failed holder's EIP: the hostname it replaces."""
TAG_ASSOCIATED_AT = "eipkeeper:associated-at"
"""On an EIP: when eipkeeper last associated it (ISO 8601 UTC). For `switch_grace` after it, the
holder's failed probes do not count (S6): every process and replica reads it here."""
TAG_SUCCESSOR_OF = "eipkeeper:successor-of"
"""On an instance `replace` launched: the instance it takes over from (S8: a rerun finds it)."""
TAG_DRAIN = "eipkeeper:drain"
"""On an instance: the drain phase reached, so that a killed drain resumes (S8)."""

Then = Literal["terminate", "stop", "nothing"]
"""What a drain does with its instance once nothing points at it any more."""


@dataclass(frozen=True)
class Address:
    """An Elastic IP as DescribeAddresses shows it."""

    public_ip: str
    allocation_id: str
    association_id: str = ""
    instance_id: str = ""
    network_interface_id: str = ""
    private_ip: str = ""
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def associated(self) -> bool:
        return bool(self.association_id or self.instance_id or self.network_interface_id)

    @property
    def owner(self) -> str:
        return self.tags.get(TAG_OWNER, "")

    @property
    def service(self) -> str:
        return self.tags.get(TAG_SERVICE, "")

    @property
    def hostname(self) -> str:
        return self.tags.get(TAG_HOSTNAME, "")

    @property
    def left_dns_at(self) -> str:
        return self.tags.get(TAG_LEFT_DNS_AT, "")


@dataclass(frozen=True)
class NetworkInterface:
    interface_id: str
    device_index: int
    private_ip: str
    public_ip: str = ""


@dataclass(frozen=True)
class Instance:
    """An EC2 instance as DescribeInstances shows it."""

    instance_id: str
    state: str
    instance_type: str = ""
    public_ip: str = ""
    private_ip: str = ""
    launch_time: str = ""
    interfaces: tuple[NetworkInterface, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, hash=False)
    client_token: str = ""
    """The ClientToken it was launched with: the launch intent it carries out (S9)."""

    @property
    def name(self) -> str:
        return self.tags.get("Name", "")

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def primary_interface(self) -> NetworkInterface | None:
        for interface in self.interfaces:
            if interface.device_index == 0:
                return interface
        return self.interfaces[0] if self.interfaces else None

    @property
    def label(self) -> str:
        """How messages name the instance: `i-0abc (mx-a)`."""
        return f"{self.instance_id} ({self.name})" if self.name else self.instance_id
