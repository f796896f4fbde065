"""The DNS provider a config names: the one place that imports the providers (they do I/O),
so that `eipkeeper.dns` itself stays importable by the pure core."""

from __future__ import annotations

from typing import Any

from eipkeeper.config import Config
from eipkeeper.dns.ownership import Registry
from eipkeeper.dns.provider import Provider
from eipkeeper.errors import ConfigError


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
