"""Pure: is an address fit to carry mail? The judgement of DNSBL answers and of FCrDNS.

The lookups themselves (DNS queries through the configured resolver) live in
`eipkeeper.dns.dnsbl`; this module only reads what they got, so the rule "an error is never
clean" is decided in one place and tested without a network.

FACTS.md, "Mail reputation of an address": a DNSBL answers an A query for the reversed
address under its zone; 127.0.0.2-127.0.0.254 is a listing (its TXT record says why),
NXDOMAIN is "not listed". Spamhaus answers 127.255.255.252 (typo in the zone name), .254
(query through a public resolver) and .255 (too many queries): those are *not* verdicts, and
neither is a timeout.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

ListingState = Literal["listed", "clean", "error"]

SPAMHAUS_ERRORS = {
    "127.255.255.252": "typo in the zone name",
    "127.255.255.254": "query through a public or open resolver, refused",
    "127.255.255.255": "too many queries",
}
"""Return codes that say the zone did not answer the question (never "clean")."""

_LISTED_LOW = int(ipaddress.IPv4Address("127.0.0.2"))
_LISTED_HIGH = int(ipaddress.IPv4Address("127.0.0.254"))


@dataclass(frozen=True)
class Listing:
    """One zone's verdict on one address."""

    public_ip: str
    zone: str
    state: ListingState
    code: str = ""
    """listed: the return code (127.0.0.2 ...); error: the code or `timeout`, `servfail` ..."""
    reason: str = ""
    """listed: the zone's TXT reason; error: what went wrong."""

    @property
    def listed(self) -> bool:
        return self.state == "listed"

    def describe(self) -> str:
        if self.state == "listed":
            why = f": {self.reason}" if self.reason else ""
            return f"{self.public_ip} is listed by {self.zone} ({self.code}{why})"
        if self.state == "error":
            return f"{self.zone} gave no verdict on {self.public_ip} ({self.code}: {self.reason})"
        return f"{self.public_ip} is not listed by {self.zone}"


def query_name(public_ip: str, zone: str) -> str:
    """`4.3.2.1.zen.spamhaus.org` for 1.2.3.4: the octets reversed under the zone."""
    octets = str(ipaddress.IPv4Address(public_ip)).split(".")
    return ".".join([*reversed(octets), zone.rstrip(".")])


def judge(public_ip: str, zone: str, *, answers: Sequence[str], reason: str = "") -> Listing:
    """The verdict from the A answers of a lookup that got an answer (NXDOMAIN: no answers).

    An answer outside 127.0.0.2-127.0.0.254, or a known error code, is an error: a zone that
    answers something it should not is not saying "clean"."""
    if not answers:
        return Listing(public_ip, zone, "clean")
    errors = [a for a in answers if a in SPAMHAUS_ERRORS]
    if errors:
        return Listing(public_ip, zone, "error", errors[0], SPAMHAUS_ERRORS[errors[0]])
    listed = sorted(a for a in answers if _is_listing(a))
    if listed:
        return Listing(public_ip, zone, "listed", ",".join(listed), reason)
    odd = ",".join(sorted(answers))
    return Listing(public_ip, zone, "error", odd, "an answer outside 127.0.0.2-127.0.0.254")


def failed(public_ip: str, zone: str, *, code: str, reason: str) -> Listing:
    """No answer at all (a timeout, SERVFAIL, REFUSED): an error, never clean."""
    return Listing(public_ip, zone, "error", code, reason)


def _is_listing(answer: str) -> bool:
    try:
        value = int(ipaddress.IPv4Address(answer))
    except ValueError:
        return False
    return _LISTED_LOW <= value <= _LISTED_HIGH


@dataclass(frozen=True)
class Reputation:
    """Everything checked about one address: each zone's verdict, and FCrDNS when asked."""

    public_ip: str
    listings: tuple[Listing, ...]
    fcrdns: str | None = None
    """None: confirmed or not checked; else why forward-confirmed reverse DNS fails."""
    checked_at: float = 0.0

    @property
    def listed(self) -> tuple[Listing, ...]:
        return tuple(x for x in self.listings if x.listed)

    @property
    def errors(self) -> tuple[Listing, ...]:
        return tuple(x for x in self.listings if x.state == "error")

    @property
    def clean(self) -> bool:
        """Every zone answered "not listed": only then is an address fit to claim."""
        return all(x.state == "clean" for x in self.listings)

    def why_not(self) -> str:
        """Why the address may not carry mail ("" when it may)."""
        if self.listed:
            return "; ".join(x.describe() for x in self.listed)
        return "; ".join(x.describe() for x in self.errors)


def fcrdns(public_ip: str, ptr_name: str, forward: Iterable[str]) -> str | None:
    """Forward-confirmed reverse DNS: the PTR name's A records include the address
    (Gmail's and Yahoo's sender rules). None when it holds, else why not."""
    if not ptr_name:
        return f"{public_ip} has no reverse DNS name"
    values = set(forward)
    if public_ip in values:
        return None
    shown = ", ".join(sorted(values)) or "no A record"
    return f"{public_ip}'s reverse DNS name {ptr_name} resolves to {shown}"
