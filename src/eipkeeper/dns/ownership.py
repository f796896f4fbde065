"""Ownership (SPEC S4), in the manner of external-dns's TXT registry, on any provider.

Each RRset's ownership record (its marker, see `markers.py`) says who claims which values.
Every marker eipkeeper writes lists the values it manages, even on an RRset it created alone,
so a value someone adds later (by hand, by another tool) is theirs. The rules: an RRset is
changed only when this owner claims it; only the listed values change, everything else
(values, and then the TTL) stays as found; a marker that cannot be read is someone else's; an
old claim without a list is read as `legacy_reading` says, and listed at the next write. Every write
carries the marker's change in the same atomic unit (a create or an exact compare-and-swap of
the marker), so ownership is checked by the server at the moment of writing, not only when
the zone was read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from eipkeeper.dns.markers import (
    ANYWHERE,
    PREFIX,
    Place,
    RRsetClaim,
    is_marker,
    marker_name,
    parse_claim,
)
from eipkeeper.dns.provider import ApplyResult, Propagation, Provider, Unit
from eipkeeper.dns.records import Change, Record, Zone, canonical_value, in_zone, normalize_name
from eipkeeper.errors import NotFoundError, OperationError, SafetyRefusal

__all__ = [
    "PREFIX",
    "OwnedRecord",
    "OwnedZone",
    "Place",
    "RRsetClaim",
    "Registry",
    "adopt_rrset",
    "is_marker",
    "marker_name",
    "parse_claim",
    "plan_rrset",
]


@dataclass(frozen=True)
class OwnedRecord:
    """An RRset with the claims on it (none: unowned).

    `claims` are as written in the marker (a claim without a value list is an old marker's:
    see `legacy_reading`); `legacy` holds, for each such claim, the values it is read to cover.
    """

    record: Record
    claims: tuple[RRsetClaim, ...] = ()
    foreign_marker: bool = False
    """The marker holds something that is not a claim: treat the RRset as someone else's."""
    legacy: tuple[RRsetClaim, ...] = ()
    """Old claims without a value list, each with the values it is read to cover."""

    @property
    def owner(self) -> str:
        """The claiming owner ("" when unowned); with several, the first by name."""
        return self.claims[0].who if self.claims else ""

    @property
    def shared(self) -> bool:
        """Values of more than one owner, or of an owner and nobody, are in the RRset."""
        return len({self.owner_of(v) for v in self.record.values}) > 1

    @property
    def managed(self) -> tuple[str, ...]:
        """The values `owner` manages."""
        return self.managed_by(self.owner) if self.claims else ()

    def listed_by(self, owner: str) -> tuple[str, ...] | None:
        """The values OWNER's claim covers (present or not); None when OWNER has no claim."""
        for claim in self.claims:
            if claim.who == owner:
                if claim.values is not None:
                    return claim.values
                read = next((c.values for c in self.legacy if c.who == owner), None)
                return self.record.values if read is None else read
        return None

    def managed_by(self, owner: str) -> tuple[str, ...]:
        listed = self.listed_by(owner)
        if listed is None:
            return ()
        return tuple(v for v in self.record.values if v in listed)

    def owner_of(self, value: str) -> str:
        """Who manages VALUE of this RRset ("" for nobody)."""
        for claim in self.claims:
            if value in (self.listed_by(claim.who) or ()):
                return claim.who
        return ""


@dataclass(frozen=True)
class OwnedZone:
    """A zone snapshot seen through its ownership records."""

    zone: Zone
    records: tuple[OwnedRecord, ...]
    """Every RRset except the ownership records themselves."""
    here: Place = ANYWHERE
    """The account and region this read was made from: claims written elsewhere are someone
    else's (S10), and the claims this owner writes name it."""

    @classmethod
    def of(cls, zone: Zone, here: Place = ANYWHERE) -> OwnedZone:
        owned = []
        for record in zone.records:
            if is_marker(record):
                continue
            marker = zone.get(marker_name(record.name, record.type), "TXT")
            claims, foreign = _claims(marker, here)
            legacy = tuple(
                replace(c, values=legacy_reading(zone, record, c.who, here))
                for c in claims
                if c.values is None
            )
            owned.append(OwnedRecord(record, claims, foreign, legacy))
        return cls(zone=zone, records=tuple(owned), here=here)

    @cached_property
    def _index(self) -> dict[tuple[str, str], OwnedRecord]:
        return {owned.record.key: owned for owned in self.records}

    def get(self, name: str, rdtype: str) -> OwnedRecord | None:
        return self._index.get((name, rdtype))

    def marker(self, name: str, rdtype: str) -> Record | None:
        return self.zone.get(marker_name(name, rdtype), "TXT")

    def owned_by(self, owner: str) -> tuple[OwnedRecord, ...]:
        return tuple(o for o in self.records if any(c.who == owner for c in o.claims))

    def elsewhere(self, owner: str) -> tuple[OwnedRecord, ...]:
        """RRsets OWNER claimed from another account or region (S10): not OWNER's from here."""
        return tuple(
            o for o in self.records if any(c.owner == owner and c.elsewhere for c in o.claims)
        )

    def managed_count(self, owner: str) -> int:
        """The RRsets OWNER manages, ownership records not counted: the base of S7."""
        return sum(1 for o in self.owned_by(owner) if not is_marker(o.record))

    @property
    def markers(self) -> tuple[Record, ...]:
        return tuple(r for r in self.zone.records if is_marker(r))


def _claims(marker: Record | None, here: Place) -> tuple[tuple[RRsetClaim, ...], bool]:
    if marker is None:
        return (), False
    parsed = [parse_claim(value) for value in marker.values]
    claims = sorted((c.seen_from(here) for c in parsed if c is not None), key=lambda c: c.who)
    return tuple(claims), any(c is None for c in parsed)


def legacy_reading(
    zone: Zone, record: Record, owner: str, here: Place = ANYWHERE
) -> tuple[str, ...]:
    """The values an old claim (`owner=<id>` and no value list) of OWNER covers.

    Old versions wrote such claims only on RRsets they created, and every value was theirs
    then; a value added since, by hand, cannot be told apart from theirs by the marker alone.
    The two ways to be wrong are not equally bad, so the reading differs by type:

    - A/AAAA (and any other type): every value. An address of ours left behind because it was
      read as someone else's would be a dangling record (S1), the use-after-free eipkeeper
      exists to prevent; its RRsets sit at its own hostnames, where nobody was meant to add
      values by hand.
    - MX: the values whose target has an A/AAAA RRset OWNER claims in this zone, i.e. OWNER's
      own hostnames. An on-premises host added by hand (`20 onprem.mail.example.org.`) is
      kept; an MX value of OWNER's wrongly read as foreign would point at a name, not at an
      address, and is shown by `records` with owner `-`.

    The first write rewrites the claim with the values listed, so the reading is needed once.
    """
    if record.type != "MX":
        return record.values
    return tuple(v for v in record.values if _host_claimed(zone, _mx_host(v), owner, here))


def _mx_host(value: str) -> str:
    return normalize_name(value.split(" ", 1)[-1] or ".")


def _host_claimed(zone: Zone, host: str, owner: str, here: Place) -> bool:
    for rdtype in ("A", "AAAA"):
        if zone.get(host, rdtype) is None:
            continue
        claims, _ = _claims(zone.get(marker_name(host, rdtype), "TXT"), here)
        if any(c.who == owner for c in claims):
            return True
    return False


# -- planning: pure functions -----------------------------------------------------------------


def plan_rrset(
    zone: OwnedZone,
    *,
    owner: str,
    name: str,
    rdtype: str,
    ttl: int,
    values: Iterable[str],
    reason: str = "",
) -> Unit:
    """The atomic unit that makes OWNER's values of (NAME, RDTYPE) be VALUES (none: remove).

    Values of the RRset that OWNER's claim does not list are someone else's and stay, with the
    TTL they were found with. Raises SafetyRefusal("S4") when the RRset belongs to someone
    else or to nobody. Returns () when nothing needs to change.
    """
    name, rdtype = normalize_name(name), rdtype.upper()
    if not in_zone(name, zone.zone.name):
        raise OperationError(f"{name} is not in zone {zone.zone.name}")
    if not 0 <= ttl <= 0x7FFFFFFF:  # checked here once: the records below are built trusted
        raise ValueError(f"TTL {ttl} out of range")
    wanted = {canonical_value(rdtype, value) for value in values}
    current = zone.get(name, rdtype)
    marker = zone.marker(name, rdtype)
    # The claims of an existing RRset were parsed when the zone was read; reuse them.
    claims, foreign = (
        (current.claims, current.foreign_marker)
        if current is not None
        else _claims(marker, zone.here)
    )
    mine = [c for c in claims if c.who == owner]
    others = [c for c in claims if c.who != owner]
    label = f"{rdtype} {name}"
    if current is None and not wanted:
        # Nothing to remove; a claim of ours left on nothing is tidied away.
        if not mine or foreign:
            return ()
        return _marker_change_at(name, rdtype, marker=marker, claims=others, ttl=ttl, reason=reason)
    if foreign or (current is not None and not mine) or (current is None and others):
        holder = ", ".join(sorted({c.who for c in others})) or (
            "an unreadable marker" if foreign else "nobody"
        )
        raise SafetyRefusal("S4", f"{label} is marked by {holder}, not {owner}", [label])
    if current is None:
        # Values canonicalised above: no second parse (planning 2,000 changes: SPEC 8).
        new = Record.trusted(name, rdtype, ttl, tuple(sorted(wanted)))
        unit = (Change.create(new, reason=reason),)
        claim = RRsetClaim(owner, new.values, place=zone.here)
        return unit + _marker_change_at(
            name, rdtype, marker=marker, claims=[claim], ttl=ttl, reason=reason
        )
    if mine[0].values is None and others:
        # An old whole-set claim beside other claims: whose values are whose is unclear.
        holders = ", ".join(c.who for c in others)
        raise SafetyRefusal("S4", f"{label} is also claimed by {holders}", [label])
    return _rewrite(
        current, marker=marker, owner=owner, here=zone.here, wanted=wanted, ttl=ttl, reason=reason
    )


def _rewrite(
    current: OwnedRecord,
    *,
    marker: Record | None,
    owner: str,
    here: Place,
    wanted: set[str],
    ttl: int,
    reason: str,
) -> Unit:
    """Only OWNER's values move; the others' values (and then the TTL) stay as found."""
    record = current.record
    listed = current.listed_by(owner) or ()
    present = set(record.values)
    theirs = present - set(listed)
    if current.legacy and any(c.who == owner for c in current.legacy):
        # Reading an old claim: a value the config wants now was ours all along.
        theirs -= wanted
    # A wanted value someone else already publishes stays theirs: taking it over would let
    # a later removal of ours delete their record.
    mine = wanted - theirs
    values = theirs | mine
    keep_ttl = record.ttl if theirs else ttl
    claim = RRsetClaim(owner, tuple(sorted(mine)), place=here)
    old_claim = next(c for c in current.claims if c.who == owner)
    # The common no-op, decided without building any text. An old claim (no value list, or
    # no place: S10) is completed at the next change of the RRset, not by a plan of its own:
    # upgrading must not make every `plan` after it report changes.
    unchanged = values == present and keep_ttl == record.ttl
    unplaced = old_claim.values == claim.values and not old_claim.place.account
    if unchanged and (old_claim == claim or old_claim.values is None or unplaced):
        return ()
    new_claims = [c for c in current.claims if c.who != owner]
    if values:
        new_claims.append(claim)
    record_change: tuple[Change, ...] = ()
    if not values:
        record_change = (Change.delete(record, reason=reason),)
    elif values != present or keep_ttl != record.ttl:
        new = Record.trusted(record.name, record.type, keep_ttl, tuple(sorted(values)))
        record_change = (Change.update(record, new, reason=reason),)
    marker_unit = _marker_change_at(
        record.name, record.type, marker=marker, claims=new_claims, ttl=keep_ttl, reason=reason
    )
    return record_change + marker_unit


def _marker_change_at(
    name: str,
    rdtype: str,
    *,
    marker: Record | None,
    claims: list[RRsetClaim],
    ttl: int,
    reason: str,
) -> Unit:
    """The marker's change to CLAIMS: a create, an exact update (even when unchanged, so that
    the server re-checks ownership as it writes), or a delete when no claim is left."""
    why = f"ownership: {reason}" if reason else "ownership"
    if not claims:
        return (Change.delete(marker, reason=why),) if marker is not None else ()
    texts = {claim.text() for claim in claims}
    # Claim.text() writes canonical TXT (txt_text): parsing it again cost most of planning.
    new = Record.trusted(marker_name(name, rdtype), "TXT", ttl, tuple(sorted(texts)))
    if marker is None:
        return (Change.create(new, reason=why),)
    return (Change.update(marker, new, reason=why),)


def adopt_rrset(
    zone: OwnedZone,
    *,
    owner: str,
    name: str,
    rdtype: str,
    values: Iterable[str] | None = None,
    reason: str = "adopted",
) -> Unit:
    """Mark an existing RRset as OWNER's: all its values now (VALUES None) or those listed.

    The operator's deliberate act, never the planner's: it writes the ownership record only,
    and refuses (S4) values or RRsets that another owner claims.
    """
    name, rdtype = normalize_name(name), rdtype.upper()
    current = zone.get(name, rdtype)
    if current is None:
        raise NotFoundError(f"no {rdtype} record at {name} to adopt")
    marker = zone.marker(name, rdtype)
    claims, foreign = current.claims, current.foreign_marker
    label = f"{rdtype} {name}"
    if any(c.who == owner for c in claims):
        return ()
    listed = None if values is None else {canonical_value(rdtype, v) for v in values}
    taken = {v for c in claims for v in (current.listed_by(c.who) or ())}
    if foreign or (claims and listed is None) or (listed and listed & taken):
        holders = ", ".join(c.who for c in claims) or "an unreadable marker"
        raise SafetyRefusal("S4", f"{label} is already claimed by {holders}", [label])
    if listed is not None and not listed <= set(current.record.values):
        missing = ", ".join(sorted(listed - set(current.record.values)))
        raise NotFoundError(f"{label} has no value {missing} to adopt")
    # Adopting the whole RRset lists the values it holds now: one added later is not ours.
    values = current.record.values if listed is None else tuple(sorted(listed))
    claim = RRsetClaim(owner, values, place=zone.here)
    ttl = current.record.ttl
    return _marker_change_at(
        name, rdtype, marker=marker, claims=[*claims, claim], ttl=ttl, reason=reason
    )


class Registry:
    """A provider seen through ownership records: read with owners, write only what is ours."""

    def __init__(
        self, provider: Provider[Any], *, owner: str, here: Callable[[], Place] | None = None
    ) -> None:
        self.provider = provider
        self.owner = owner
        self.here = here
        """Where a read is made from (S10): asked once per read, since credentials decide it."""

    def read(self) -> OwnedZone:
        here = self.here() if self.here is not None else ANYWHERE
        return OwnedZone.of(self.provider.read_zone(), here)

    def change(
        self,
        zone: OwnedZone,
        *,
        name: str,
        rdtype: str,
        ttl: int,
        values: Iterable[str],
        reason: str = "",
    ) -> Unit:
        return plan_rrset(
            zone, owner=self.owner, name=name, rdtype=rdtype, ttl=ttl, values=values, reason=reason
        )

    def remove(self, zone: OwnedZone, *, name: str, rdtype: str, reason: str = "") -> Unit:
        current = zone.get(normalize_name(name), rdtype.upper())
        ttl = current.record.ttl if current else 0
        return plan_rrset(
            zone, owner=self.owner, name=name, rdtype=rdtype, ttl=ttl, values=(), reason=reason
        )

    def adopt(
        self,
        zone: OwnedZone,
        *,
        name: str,
        rdtype: str,
        values: Iterable[str] | None = None,
        reason: str = "adopted",
    ) -> Unit:
        return adopt_rrset(
            zone, owner=self.owner, name=name, rdtype=rdtype, values=values, reason=reason
        )

    def apply(self, units: Iterable[Unit]) -> ApplyResult:
        """Apply the units (empty ones are skipped), each atomically with its ownership record."""
        return self.provider.apply([unit for unit in units if unit])

    def confirm(self, result: ApplyResult, *, timeout: float = 60.0) -> Propagation:
        return self.provider.confirm(result, timeout=timeout)
