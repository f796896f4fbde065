"""`run` watching its addresses' reputation: the listed gauge, and one line per new listing.

The verdicts come with each round's observation (looked up again after the service's
`recheck`); this only says what changed, so a listing is logged once, not every round.
"""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import Gauge

from eipkeeper.logs import get_logger
from eipkeeper.reputation import Reputation

say = get_logger("eipkeeper.run")


def report_listings(
    gauge: Gauge, verdicts: Mapping[str, Reputation], said: frozenset[tuple[str, str, str]]
) -> frozenset[tuple[str, str, str]]:
    """Set GAUGE per (address, zone) and log `address.rejected` for a listing not in SAID;
    returns the listings now in force (what has been said)."""
    now: set[tuple[str, str, str]] = set()
    for public_ip, verdict in sorted(verdicts.items()):
        for listing in verdict.listings:
            if listing.state == "error":
                continue  # no verdict: the gauge keeps what it last knew
            gauge.labels(public_ip, listing.zone).set(1 if listing.listed else 0)
            if not listing.listed:
                continue
            key = (public_ip, listing.zone, listing.code)
            now.add(key)
            if key not in said:
                say.warning(
                    "address.rejected",
                    public_ip=public_ip,
                    zone=listing.zone,
                    code=listing.code,
                    reason=listing.reason,
                    action="not claimed; audit reports it while it serves",
                )
    return frozenset(now)
