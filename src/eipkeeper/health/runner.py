"""Which check applies to what, and many probes at once.

A `Target` is one (address, check) pair. `probe_many` runs any number of them concurrently in
one event loop, each bounded by its own check's timeout, at most `limit` at a time so that a
large fleet does not run out of file descriptors.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from eipkeeper.config import CheckConfig, Config
from eipkeeper.fleet import service_of
from eipkeeper.health.probes import ProbeResult, probe
from eipkeeper.health.tls import TlsContexts
from eipkeeper.model import Address, Instance

DEFAULT_LIMIT = 256
_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8,17}$")


@dataclass(frozen=True)
class CheckTarget:
    key: str
    """What the result is filed under: an instance id, or the address itself."""
    host: str
    check: CheckConfig
    expect: str = ""
    """The instance that must be the one answering, when the answer names an instance."""


def looks_like_instance_id(text: str) -> bool:
    return bool(_INSTANCE_ID.match(text))


def check_of(
    config: Config, instance: Instance, *, address: Address | None = None
) -> CheckConfig | None:
    """The check for INSTANCE: its service's, else (for an EIP about to land on it) the check of
    ADDRESS's pool; None when neither service has one."""
    service = service_of(config, instance)
    if service is not None and service.check is not None:
        return service.check
    if address is not None and address.service:
        for pool in config.services:
            if pool.name == address.service:
                return pool.check
    return None


def instance_target(config: Config, instance: Instance) -> CheckTarget | None:
    """INSTANCE's own check on its public address (its private one when it has none, for a
    controller inside the VPC); None when its service has no check."""
    check = check_of(config, instance)
    if check is None:
        return None
    host = instance.public_ip or instance.private_ip
    if host and not instance.public_ip and sandboxed() and not is_loopback(host):
        # The sandbox's private addresses are moto's 10.x/172.x: nothing there is ours.
        host = ""
    return CheckTarget(
        key=instance.instance_id, host=host, check=check, expect=instance.instance_id
    )


def sandboxed() -> bool:
    """True when AWS is the sandbox (or any endpoint) on this machine's loopback."""
    endpoint = urllib.parse.urlsplit(os.environ.get("AWS_ENDPOINT_URL", "")).hostname or ""
    return endpoint in ("localhost", "::1") or is_loopback(endpoint)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def judged(target: CheckTarget, result: ProbeResult) -> ProbeResult:
    """RESULT, failed when the answer names another instance than the one TARGET expects.

    A new association reaches EC2's data plane late, so for a while an address is still
    answered by its previous holder: that answer must not count as the new holder's.
    Only instance ids are compared; a greeting naming a host name cannot be told apart.
    """
    who = result.answered_by
    if result.ok and target.expect and looks_like_instance_id(who) and who != target.expect:
        return replace(result, ok=False, detail=f"answered by {who}, not {target.expect}")
    return result


async def probe_target(target: CheckTarget, *, tls: TlsContexts) -> ProbeResult:
    if not target.host:
        return ProbeResult(ok=False, detail="no address to probe")
    result = await probe(target.host, target.check, tls=tls.for_check(target.check))
    return judged(target, result)


async def probe_many(
    targets: Iterable[CheckTarget], *, tls: TlsContexts, limit: int = DEFAULT_LIMIT
) -> dict[str, ProbeResult]:
    """Every target probed concurrently; results by target key."""
    gate = asyncio.Semaphore(limit)

    async def one(target: CheckTarget) -> tuple[str, ProbeResult]:
        async with gate:
            return target.key, await probe_target(target, tls=tls)

    pairs = await asyncio.gather(*(one(t) for t in targets))
    return dict(pairs)


def check_once(
    targets: Iterable[CheckTarget], *, tls: TlsContexts, limit: int = DEFAULT_LIMIT
) -> Mapping[str, ProbeResult]:
    """`probe_many` from synchronous code (the CLI): one event loop for the whole batch."""
    wanted = list(targets)
    if not wanted:
        return {}
    # Contexts are built before the loop starts, so a bad CA file is one clear ConfigError.
    for target in wanted:
        tls.for_check(target.check)
    return asyncio.run(probe_many(wanted, tls=tls, limit=limit))
