"""The DNS provider a config names: the one place that imports the providers (they do I/O),
so that `eipkeeper.dns` itself stays importable by the pure core."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from eipkeeper.config import Config
from eipkeeper.dns.ownership import Place, Registry
from eipkeeper.dns.provider import Provider
from eipkeeper.errors import ConfigError

if TYPE_CHECKING:
    from eipkeeper.cloud.aws import AwsSession


def provider_from_config(config: Config, *, session: AwsSession | None = None) -> Provider[Any]:
    """The provider the `[dns]` table names, ready to use. Route 53 talks through SESSION
    (the command's one AWS session), else through a session of its own for the config's
    region."""
    if config.dns is None:
        raise ConfigError("the config has no [dns] table", path=str(config.source))
    if config.dns.provider == "rfc2136":
        from eipkeeper.dns.rfc2136 import Rfc2136Provider

        return Rfc2136Provider.from_config(config)
    from eipkeeper.dns.route53 import Route53Provider

    return Route53Provider.from_config(config, session=session)


def registry_from_config(
    config: Config,
    *,
    session: AwsSession | None = None,
    here: Callable[[], Place] | None = None,
) -> Registry:
    """The provider the config names, seen through the ownership records of `owner`, from
    the account and region HERE says (S10; None: from anywhere, as before S10)."""
    provider = provider_from_config(config, session=session)
    return Registry(provider, owner=config.owner, here=here)
