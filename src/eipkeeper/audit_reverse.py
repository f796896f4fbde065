"""Audit of reverse DNS: mail servers are judged by their PTR record (pure).

For every EIP of a `ptr = true` pool bound to a hostname: `ptr-missing` when EC2 serves no
PTR for it, `ptr-mismatch` when the PTR names another host. Both are warnings: receivers
score or refuse mail from an address whose reverse name does not match its HELO.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from eipkeeper.config import Config
from eipkeeper.controller.observation import Observation


class ReverseFinding(NamedTuple):
    kind: str
    subject: str
    detail: str
    why: str
    fix: str


def reverse_findings(config: Config, seen: Observation) -> Iterator[ReverseFinding]:
    pools = {s.name for s in config.services if s.ptr}
    for address in seen.addresses:
        if address.service not in pools or address.owner != config.owner or not address.hostname:
            continue
        ptr = seen.reverse.get(address.allocation_id, "")
        if ptr == address.hostname:
            continue
        subject = f"{address.public_ip} ({address.allocation_id})"
        fix = "`eipkeeper apply` sets it (ModifyAddressAttribute), once the A record is served"
        if not ptr:
            yield ReverseFinding(
                "ptr-missing",
                subject,
                f"{address.public_ip} has no reverse DNS; it should name {address.hostname}",
                "receivers judge a mail server by its PTR record",
                fix,
            )
        else:
            yield ReverseFinding(
                "ptr-mismatch",
                subject,
                f"the reverse DNS of {address.public_ip} is {ptr}, not {address.hostname}",
                "receivers judge a mail server by its PTR record matching its name",
                fix,
            )
