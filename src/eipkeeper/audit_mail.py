"""Audit of mail fitness (pure): the SPF limits, blocklists and FCrDNS.

`spf-lookups` (critical) when the SPF policy a service keeps needs more than 10 lookups or
450 octets. For every EIP of this owner in a pool whose service has `reputation`:
`dnsbl-listed` (critical for a sending service, one with `spf`, else a warning),
`dnsbl-unavailable` (a zone answered an error code or nothing: never read as clean) and,
with `fcrdns`, `fcrdns-mismatch` when the address's reverse DNS name has no A record holding
it. The verdicts come with the observation (`engine.observe` looks them up through the
configured resolver).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, NamedTuple

from eipkeeper.config import Config, ServiceConfig
from eipkeeper.controller.observation import Observation
from eipkeeper.model import Address
from eipkeeper.reputation import Reputation, fcrdns
from eipkeeper.spf import policy_of, problems


class MailFinding(NamedTuple):
    kind: str
    severity: Literal["info", "warning", "critical"]
    subject: str
    detail: str
    why: str
    fix: str


def mail_findings(config: Config, seen: Observation) -> Iterator[MailFinding]:
    yield from _spf_limits(config, seen)
    services = {s.name: s for s in config.services if s.reputation is not None}
    for address in seen.addresses:
        service = services.get(address.service)
        if service is None or address.owner != config.owner:
            continue
        verdict = seen.reputation.get(address.public_ip)
        if verdict is not None:
            yield from _blocklists(service, address, verdict)
        if service.reputation is not None and service.reputation.fcrdns:
            yield from _fcrdns(config, seen, address)


def _spf_limits(config: Config, seen: Observation) -> Iterator[MailFinding]:
    """`spf-lookups`: the SPF policy a service keeps breaks RFC 7208's limits (counted at its
    top level: an include's own lookups are not read)."""
    names = sorted({s.spf for s in config.services if s.spf})
    for name in names if seen.zone is not None else []:
        assert seen.zone is not None
        record = seen.zone.zone.get(name, "TXT")
        for value in record.values if record is not None else ():
            policy = policy_of(value)
            broken = problems(policy) if policy is not None else []
            if broken:
                yield MailFinding(
                    "spf-lookups",
                    "critical",
                    f"TXT {name}",
                    f"the SPF policy of {name} has {'; '.join(broken)}",
                    "a receiver past 10 lookups returns permerror, and one whose answer does "
                    "not fit 512 octets may not read it: mail fails SPF (RFC 7208 4.6.4, 3.4)",
                    "replace include:/a/mx mechanisms by ip4: ranges, or flatten the policy",
                )


def _subject(address: Address) -> str:
    return f"{address.public_ip} ({address.hostname or address.allocation_id})"


def _blocklists(
    service: ServiceConfig, address: Address, verdict: Reputation
) -> Iterator[MailFinding]:
    for listing in verdict.listed:
        yield MailFinding(
            "dnsbl-listed",
            "critical" if service.spf else "warning",
            _subject(address),
            listing.describe(),
            "receivers refuse or junk mail from a listed address"
            + (f"; {service.name} sends mail (spf)" if service.spf else ""),
            "ask the list to delist it (its reason says how), or allocate a clean address "
            "(`eipkeeper allocate --service ...` checks) and retire this one",
        )
    for listing in verdict.errors:
        yield MailFinding(
            "dnsbl-unavailable",
            "warning",
            _subject(address),
            listing.describe(),
            "an error is no verdict: the address is not claimed until the zone answers",
            "check `reputation.resolver` (Spamhaus refuses public resolvers) and the zone name",
        )


def _fcrdns(config: Config, seen: Observation, address: Address) -> Iterator[MailFinding]:
    ptr = seen.reverse.get(address.allocation_id, "")
    forward = _forward(seen, ptr)
    if ptr and forward is None:
        return  # a name outside the zone: its A records are not ours to read
    problem = fcrdns(address.public_ip, ptr, forward or ())
    if problem is None:
        return
    yield MailFinding(
        "fcrdns-mismatch",
        "warning",
        _subject(address),
        problem,
        "Gmail and Yahoo refuse mail from an address whose PTR name does not resolve back to it",
        "set `ptr = true` on the service (eipkeeper keeps the PTR equal to the hostname, whose "
        "A record is the address)",
    )


def _forward(seen: Observation, name: str) -> tuple[str, ...] | None:
    """NAME's A values in the observed zone (None: NAME is outside the zone)."""
    if seen.zone is None or not name:
        return None
    zone = seen.zone.zone.name.rstrip(".")
    bare = name.rstrip(".").lower()
    if bare != zone and not bare.endswith("." + zone):
        return None
    return tuple(
        v for r in seen.zone.zone.records if r.type == "A" and r.name.rstrip(".") == bare
        for v in r.values
    )  # fmt: skip
