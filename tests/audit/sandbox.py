"""The sandbox for `records` and `audit` tests: its zone in Route 53 or in a local BIND, records
planted as someone else would write them, and the fleet published by `apply`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from eipkeeper import config as config_module
from eipkeeper.cloud.aws import AwsSession
from eipkeeper.dns.provider import Provider
from eipkeeper.dns.records import Change, Record
from eipkeeper.dns.rfc2136 import Rfc2136Provider
from eipkeeper.dns.route53 import Route53Provider
from eipkeeper.sandbox.bind import LocalBind
from tests.conftest import Cloud, swap_dns
from tests.support import waiting
from tests.support.cli import eipkeeper

ZONE = "example.test"
OUTSIDE = "127.9.9.0"
"""In the sandbox's cloud range (127.1.0.0-127.254.255.255) but never handed out (its draws
skip the last octets 0 and 255): an address the account does not hold."""
OUTSIDE_SPF = "127.9.9.255"
"""Another such address, for an SPF `ip4:` entry."""


@contextmanager
def zone_in(cloud: Cloud, where: str, tmp_path: Path) -> Iterator[Cloud]:
    """CLOUD with its zone in Route 53 (as the sandbox writes it) or in a local BIND."""
    if where == "route53":
        yield cloud
        return
    with LocalBind(ZONE) as bind:
        text = swap_dns(cloud.config.read_text(), bind.config_toml())
        yield cloud.configured(text, tmp_path / "bind.toml")


def provider(cloud: Cloud) -> Provider[Any]:
    config = config_module.load(cloud.config)
    assert config.dns is not None
    if config.dns.provider == "rfc2136":
        return Rfc2136Provider.from_config(config)
    session = AwsSession(
        region=cloud.env["AWS_DEFAULT_REGION"],
        endpoint_url=cloud.env["AWS_ENDPOINT_URL"],
        credentials=(cloud.env["AWS_ACCESS_KEY_ID"], cloud.env["AWS_SECRET_ACCESS_KEY"]),
    )
    return Route53Provider(ZONE, session=session)


def plant(cloud: Cloud, *records: Record) -> None:
    """Write RECORDS without ownership records, as another tool or a person would."""
    provider(cloud).apply([Change.create(record) for record in records])


def wait_until(ready: Callable[[], bool], what: str, *, timeout: float = 15.0) -> None:
    """Poll READY until it holds (the tests' one wait helper)."""
    waiting.eventually(ready, what=what, deadline=timeout)


def holders(cloud: Cloud) -> dict[str, str]:
    """EIP -> the instance EC2 says holds it."""
    items = cloud.client("ec2").describe_addresses()["Addresses"]
    return {a["PublicIp"]: a["InstanceId"] for a in items if a.get("InstanceId")}


def answered_by_holders(cloud: Cloud) -> None:
    """Wait until the data plane sends every associated EIP to its holder: health checks made
    before that would fail for reasons of the sandbox's delay, not of the fleet."""
    wanted = holders(cloud)
    wait_until(
        lambda: all(cloud.sandbox.dataplane.answers().get(ip) == i for ip, i in wanted.items()),
        f"the data plane to route {sorted(wanted)} to their holders",
    )


def publish(cloud: Cloud) -> None:
    ran = eipkeeper("apply", "--yes", env=cloud.env)
    assert ran.code == 0, ran.stdout + ran.stderr
    answered_by_holders(cloud)


def addresses_by_hostname(cloud: Cloud) -> dict[str, dict[str, Any]]:
    found = {}
    for item in cloud.client("ec2").describe_addresses()["Addresses"]:
        tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
        if "eipkeeper:hostname" in tags:
            found[tags["eipkeeper:hostname"]] = dict(item)
    return found
