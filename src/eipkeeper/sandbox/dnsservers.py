"""A local primary of any kind the tests and `sandbox --dns` start: BIND, Knot DNS or
PowerDNS. Apart from localdns.py, which the Knot and PowerDNS servers build on, so that no
module imports one that imports it back (tools/purecore.py checks)."""

from __future__ import annotations

from collections.abc import Iterable

from eipkeeper.sandbox.bind import LocalBind
from eipkeeper.sandbox.knot import LocalKnot
from eipkeeper.sandbox.localdns import DnsKind, LocalServer
from eipkeeper.sandbox.pdns import LocalPdns


def local_dns(
    kind: DnsKind,
    zone: str = "example.test",
    *,
    records: Iterable[str] = (),
    allow_update: bool = True,
    also_notify: Iterable[int] = (),
) -> LocalServer | LocalBind:
    """A stopped local primary of KIND for ZONE (start it with `with`)."""
    if kind == "bind":
        return LocalBind(zone, records=records, allow_update=allow_update, also_notify=also_notify)
    server: type[LocalServer] = LocalKnot if kind == "knot" else LocalPdns
    return server(zone, records=records, allow_update=allow_update, also_notify=also_notify)
