"""`allocate --service S` for a service with `reputation`: never keep a listed address.

A fresh Elastic IP comes from a shared pool and may still be on a blocklist from its last
tenant (FACTS.md, "Mail reputation of an address"). Such an address was never published, so
it is released at once (through the engine, like every release: S2 is checked) and another
is allocated, up to `reputation.max_tries`, each try reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from eipkeeper.cloud.ec2 import Ec2
from eipkeeper.config import ReputationConfig
from eipkeeper.controller.engine import Engine
from eipkeeper.controller.intents import ReleaseAddress
from eipkeeper.dns.dnsbl import Dnsbl
from eipkeeper.errors import OperationError
from eipkeeper.logs import get_logger
from eipkeeper.model import Address
from eipkeeper.reputation import Reputation

log = get_logger(__name__)


@dataclass(frozen=True)
class Try:
    number: int
    public_ip: str
    allocation_id: str
    verdict: str
    """`clean`, `listed` (released) or `unchecked` (a zone gave no verdict: kept, unclaimed)."""
    detail: str

    def line(self, of: int) -> str:
        if self.verdict == "listed":
            return f"try {self.number}/{of}: {self.detail}; released at once (never published)"
        if self.verdict == "unchecked":
            return (
                f"try {self.number}/{of}: {self.detail}; kept, but not claimed for the service "
                "until every zone answers"
            )
        return f"try {self.number}/{of}: {self.public_ip} is on no blocklist ({self.detail})"


def allocate_clean(
    *,
    ec2: Ec2,
    engine: Engine,
    settings: ReputationConfig,
    tags: Mapping[str, str],
    clock: Callable[[], float],
    on_try: Callable[[Try], None] = lambda attempt: None,
    lookup: Dnsbl | None = None,
) -> tuple[Address, list[Try]]:
    """Allocate until an address is on none of the zones, releasing each listed one."""
    lookup = lookup or Dnsbl(settings)
    tries: list[Try] = []
    for number in range(1, settings.max_tries + 1):
        address = ec2.allocate(tags=tags)
        verdict = lookup.check(address.public_ip, now=clock())
        attempt = _try(number, address, verdict, zones=settings.dnsbl)
        tries.append(attempt)
        on_try(attempt)
        if attempt.verdict != "listed":
            return address, tries
        for listing in verdict.listed:
            log.info(
                "address.rejected",
                public_ip=address.public_ip,
                zone=listing.zone,
                code=listing.code,
                reason=listing.reason,
                action="released",
            )
        engine.run(ReleaseAddress(address.allocation_id))
    raise OperationError(
        f"{settings.max_tries} fresh addresses in a row were listed "
        f"({', '.join(t.public_ip for t in tries)}); each was released, none is kept "
        "(reputation.max_tries)"
    )


def _try(number: int, address: Address, verdict: Reputation, *, zones: list[str]) -> Try:
    if verdict.listed:
        state, detail = "listed", verdict.why_not()
    elif verdict.errors:
        state, detail = "unchecked", verdict.why_not()
    else:
        state, detail = "clean", ", ".join(zones)
    return Try(number, address.public_ip, address.allocation_id, state, detail)
