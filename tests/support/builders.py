"""The pure tests' one set of builders: a config, an EIP, an instance, with the account's
owner and zone. Numbers make the identities: the Nth EIP is 127.1.x.y (eipalloc-000N), the
Nth instance i-000N at 127.2.x.y (N = 256x + y), so a test reads which is which."""

from __future__ import annotations

from pathlib import Path

from eipkeeper import config as config_module
from eipkeeper.config import Config
from eipkeeper.model import (
    TAG_HOSTNAME,
    TAG_OWNER,
    TAG_SERVICE,
    Address,
    Instance,
    NetworkInterface,
)

OWNER = "mail-prod"
ZONE = "example.test"


def service(name: str, *hostnames: str, addresses: str = "elastic", **fields: str) -> str:
    """One [[service]] table: NAME selects the instances tagged Role=NAME; FIELDS are more keys,
    their TOML values as written (`ttl="60"`, `mx='{ domain = "example.test" }'`)."""
    names = ", ".join(f'"{h}"' for h in hostnames)
    lines = [
        "[[service]]",
        f'name = "{name}"',
        f'select = {{ tags = {{ Role = "{name}" }} }}',
        f'addresses = "{addresses}"',
        f"hostnames = [{names}]",
        *(f"{key} = {value}" for key, value in fields.items()),
    ]
    return "\n".join(lines) + "\n"


def mx(*hostnames: str, when_unbacked: str = "", **fields: str) -> str:
    """The elastic mail service, its records under the MX of ZONE (preference 10)."""
    unbacked = f', when_unbacked = "{when_unbacked}"' if when_unbacked else ""
    table = f'{{ domain = "{ZONE}", preference = 10{unbacked} }}'
    return service("mx", *hostnames, mx=table, **fields)


MX_HOSTNAMES = (f"mx1.{ZONE}", f"mx2.{ZONE}", f"mx3.{ZONE}")
BURST = f'{{ launch_template = "mx-burst", hostnames = ["mx3.{ZONE}"] }}'
MX3 = mx(*MX_HOSTNAMES, burst=BURST)
"""Three mail hostnames, the third for burst instances."""
SCAN = service("scan", f"scan.{ZONE}", addresses="dynamic", ttl="60")
"""The dynamic service: instances' own addresses under one name."""


def config_text(*services: str, dns: str = "", tables: str = "") -> str:
    """OWNER's config on Route 53's ZONE: DNS holds more keys of [dns], TABLES more tables
    ([safety], [cost]), then SERVICES (MX3 and SCAN when none is given)."""
    head = f'owner = "{OWNER}"\n[dns]\nprovider = "route53"\nzone = "{ZONE}"\n'
    return head + dns + tables + "".join(services or (MX3, SCAN))


def config(*services: str, dns: str = "", tables: str = "", source: str = "test.toml") -> Config:
    """`config_text`, parsed as if read from SOURCE."""
    return config_module.parse(config_text(*services, dns=dns, tables=tables), Path(source))


def eip(
    n: int, *, hostname: str = "", service: str = "mx", owner: str = OWNER, instance: str = ""
) -> Address:
    """The Nth EIP, of SERVICE and OWNER ("" for none), bound to HOSTNAME, held by INSTANCE."""
    tags = {TAG_OWNER: owner, TAG_SERVICE: service, TAG_HOSTNAME: hostname}
    return Address(
        public_ip=f"127.1.{n // 256}.{n % 256}",
        allocation_id=f"eipalloc-{n:04d}",
        association_id=f"eipassoc-{n:04d}" if instance else "",
        instance_id=instance,
        tags={key: value for key, value in tags.items() if value},
    )


def instance(
    name: str,
    role: str = "",
    *,
    n: int,
    state: str = "running",
    public_ip: str | None = None,
    instance_id: str = "",
    tags: dict[str, str] | None = None,
) -> Instance:
    """The Nth instance, NAME, tagged Role=ROLE (none when ""); launched N seconds into 2026, so
    the order of N is the order of age. While running it has PUBLIC_IP (its own dynamic address
    by default), stopped none."""
    running = state == "running"
    public = (
        public_ip if public_ip is not None else (f"127.2.{n // 256}.{n % 256}" if running else "")
    )
    private = f"10.0.{n // 256}.{n % 256}"
    return Instance(
        instance_id=instance_id or f"i-{n:04d}",
        state=state,
        public_ip=public,
        private_ip=private,
        launch_time=f"2026-01-01T{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}",
        interfaces=(NetworkInterface(f"eni-{n:04d}", 0, private, public),),
        tags={"Name": name, **({"Role": role} if role else {}), **(tags or {})},
    )
