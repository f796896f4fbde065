"""Audit of MTA-STS (pure): every MX hostname the fleet publishes matches the policy.

RFC 8461: a sender that holds a domain's policy in `enforce` mode refuses an MX host that
matches none of its `mx:` patterns, so a hostname eipkeeper publishes in MX (a burst host
too, published at all times) that the policy forgets is a host that receives nothing, or
worse, the one that is tried when the others are down. A pattern matches the host exactly, or
with a wildcard only as its whole leftmost label: `*.example.net` matches `mx1.example.net`,
not `example.net` nor `a.b.example.net` (section 4.1). The policy text is read by the CLI
from the configured file; nothing is fetched from the internet.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.observation import Observation
from eipkeeper.dns.inventory import mx_target


@dataclass(frozen=True)
class Policy:
    mode: str
    patterns: tuple[str, ...]


def parse_policy(text: str) -> Policy:
    """The `mode` and `mx` fields of a policy file (`key: value` lines, section 3.2)."""
    mode = ""
    patterns: list[str] = []
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "mode":
            mode = value.lower()
        elif key == "mx" and value:
            patterns.append(value.lower().rstrip("."))
    return Policy(mode, tuple(patterns))


def matches(pattern: str, host: str) -> bool:
    """Section 4.1: exact, or `*.` as the whole leftmost label standing for one label."""
    host = host.lower().rstrip(".")
    pattern = pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        first, _, rest = host.partition(".")
        return bool(first) and rest == pattern[2:]
    return "*" not in pattern and host == pattern


def mta_sts_findings(
    config: Config, seen: Observation, policies: Mapping[str, str]
) -> Iterator[tuple[str, str, str, str, str]]:
    """(kind, subject, detail, why, fix) of each `mta-sts-mismatch` (critical); POLICIES:
    service name -> the policy file's text."""
    for service in config.services:
        if service.mta_sts is None or service.mx is None:
            continue
        text = policies.get(service.name)
        if text is None:
            continue
        policy = parse_policy(text)
        for host in sorted(_published(service, seen)):
            if any(matches(p, host) for p in policy.patterns):
                continue
            patterns = ", ".join(policy.patterns) or "none"
            yield (
                "mta-sts-mismatch",
                host,
                f"MX host {host} of {service.mx.domain} matches no mx: pattern of the MTA-STS "
                f"policy {service.mta_sts.policy} ({patterns}; mode {policy.mode or 'unset'})",
                "a sender holding the policy in enforce mode refuses to deliver to it",
                f"add `mx: {host}` (or a `*.` pattern for its parent) to the policy, and "
                "publish the new policy id",
            )


def _published(service: ServiceConfig, seen: Observation) -> set[str]:
    """The service's hostnames (burst ones included: MX lists them at all times) and every
    target of the MX set at the service's domain."""
    hosts = set(service.hostnames)
    if seen.zone is not None and service.mx is not None:
        record = seen.zone.zone.get(service.mx.domain, "MX")
        hosts |= {mx_target(v).rstrip(".") for v in (record.values if record else ())}
    return hosts
