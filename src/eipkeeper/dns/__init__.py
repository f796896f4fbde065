"""DNS: zones read and changed through providers (RFC 2136, Route 53), with ownership (S4),
compare-and-swap (S5) and confirmed propagation (S2).

Layers, imports flowing down: `records` (values) <- `wire`, `axfr`, `tsig` (protocol) <-
`provider` (the interface) <- `rfc2136`, `route53`, `propagation` <- `ownership` (the registry)
and `references` (which records point at an address). `provider_from_config` picks the
provider a config names. The function `references` is imported from its module: re-exported
here, it would hide the module `eipkeeper.dns.references`.
"""

from __future__ import annotations

from typing import Any

from eipkeeper.config import Config
from eipkeeper.dns.ownership import Claim, OwnedRecord, OwnedZone, Registry, marker_name
from eipkeeper.dns.provider import (
    ApplyInterrupted,
    ApplyResult,
    Propagation,
    Provider,
    ServerCheck,
    Unit,
)
from eipkeeper.dns.records import Change, Record, Zone
from eipkeeper.dns.references import Reference
from eipkeeper.errors import ConfigError

__all__ = [
    "ApplyInterrupted",
    "ApplyResult",
    "Change",
    "Claim",
    "OwnedRecord",
    "OwnedZone",
    "Propagation",
    "Provider",
    "Record",
    "Reference",
    "Registry",
    "ServerCheck",
    "Unit",
    "Zone",
    "marker_name",
    "provider_from_config",
    "registry_from_config",
]


def provider_from_config(config: Config) -> Provider[Any]:
    """The provider the `[dns]` table names, ready to use."""
    if config.dns is None:
        raise ConfigError("the config has no [dns] table", path=str(config.source))
    if config.dns.provider == "rfc2136":
        from eipkeeper.dns.rfc2136 import Rfc2136Provider

        return Rfc2136Provider.from_config(config)
    from eipkeeper.dns.route53 import Route53Provider

    return Route53Provider.from_config(config)


def registry_from_config(config: Config) -> Registry:
    """The provider the config names, seen through the ownership records of `owner`."""
    return Registry(provider_from_config(config), owner=config.owner)
