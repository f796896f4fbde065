"""DNS: zones read and changed through providers (RFC 2136, Route 53), with ownership (S4),
compare-and-swap (S5) and confirmed propagation (S2).

Layers, imports flowing down: `records` (values) <- `wire`, `axfr`, `tsig` (protocol) <-
`provider` (the interface) <- `rfc2136`, `route53`, `propagation` <- `ownership` (the registry)
and `references` (which records point at an address). `dns.factory` picks the provider
a config names (the one place that imports the providers, which do I/O).
The function `references` is imported from its module: re-exported
here, it would hide the module `eipkeeper.dns.references`.
"""

from __future__ import annotations

from eipkeeper.dns.ownership import OwnedRecord, OwnedZone, Registry, RRsetClaim, marker_name
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

__all__ = [
    "ApplyInterrupted",
    "ApplyResult",
    "Change",
    "OwnedRecord",
    "OwnedZone",
    "Propagation",
    "Provider",
    "RRsetClaim",
    "Record",
    "Reference",
    "Registry",
    "ServerCheck",
    "Unit",
    "Zone",
    "marker_name",
]
