"""Ownership (SPEC S4), in the manner of external-dns's TXT registry, on any provider.

Each RRset's ownership record (its marker, see `markers.py`) says who claims it: wholly, or
the listed values of an RRset shared with others. The rules: an RRset is changed only when
this owner claims it; in a shared RRset only the claimed values change, everything else
(values, TTL) stays as found; a marker that cannot be read is someone else's. Every write
carries the marker's change in the same atomic unit (a create or an exact compare-and-swap of
the marker), so ownership is checked by the server at the moment of writing, not only when
the zone was read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from eipkeeper.dns.markers import PREFIX, Claim, is_marker, marker_name, parse_claim
from eipkeeper.dns.provider import ApplyResult, Propagation, Provider, Unit
from eipkeeper.dns.records import Change, Record, Zone, canonical_value, in_zone, normalize_name
from eipkeeper.errors import NotFoundError, OperationError, SafetyRefusal

__all__ = [
    "PREFIX",
    "Claim",
    "OwnedRecord",
    "OwnedZone",
    "Registry",
    "adopt_rrset",
    "is_marker",
    "marker_name",
    "parse_claim",
    "plan_rrset",
]


@dataclass(frozen=True)
class OwnedRecord:
    """An RRset with the claims on it (none: unowned)."""

    record: Record
    claims: tuple[Claim, ...] = ()
    foreign_marker: bool = False
    """The marker holds something that is not a claim: treat the RRset as someone else's."""

    @property
    def owner(self) -> str:
        """The claiming owner ("" when unowned); with several, the first by name."""
        return self.claims[0].owner if self.claims else ""

    @property
    def shared(self) -> bool:
        return any(claim.values is not None for claim in self.claims)

    @property
    def managed(self) -> tuple[str, ...]:
        """The values `owner` manages."""
        return self.managed_by(self.owner) if self.claims else ()

    def managed_by(self, owner: str) -> tuple[str, ...]:
        for claim in self.claims:
            if claim.owner == owner:
                if claim.values is None:
                    return self.record.values
                return tuple(v for v in self.record.values if v in claim.values)
        return ()

    def owner_of(self, value: str) -> str:
        """Who manages VALUE of this RRset ("" for nobody)."""
        for claim in self.claims:
            if claim.values is None or value in claim.values:
                return claim.owner
        return ""


@dataclass(frozen=True)
class OwnedZone:
    """A zone snapshot seen through its ownership records."""

    zone: Zone
    records: tuple[OwnedRecord, ...]
    """Every RRset except the ownership records themselves."""

    @classmethod
    def of(cls, zone: Zone) -> OwnedZone:
        owned = []
        for record in zone.records:
            if is_marker(record):
                continue
            marker = zone.get(marker_name(record.name, record.type), "TXT")
            claims, foreign = _claims(marker)
            owned.append(OwnedRecord(record, claims, foreign))
        return cls(zone=zone, records=tuple(owned))

    @cached_property
    def _index(self) -> dict[tuple[str, str], OwnedRecord]:
        return {owned.record.key: owned for owned in self.records}

    def get(self, name: str, rdtype: str) -> OwnedRecord | None:
        return self._index.get((name, rdtype))

    def marker(self, name: str, rdtype: str) -> Record | None:
        return self.zone.get(marker_name(name, rdtype), "TXT")

    def owned_by(self, owner: str) -> tuple[OwnedRecord, ...]:
        return tuple(o for o in self.records if any(c.owner == owner for c in o.claims))

    @property
    def markers(self) -> tuple[Record, ...]:
        return tuple(r for r in self.zone.records if is_marker(r))


def _claims(marker: Record | None) -> tuple[tuple[Claim, ...], bool]:
    if marker is None:
        return (), False
    parsed = [parse_claim(value) for value in marker.values]
    claims = sorted((c for c in parsed if c is not None), key=lambda c: c.owner)
    return tuple(claims), any(c is None for c in parsed)


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

    Raises SafetyRefusal("S4") when the RRset belongs to someone else or to nobody. Returns ()
    when nothing needs to change.
    """
    name, rdtype = normalize_name(name), rdtype.upper()
    if not in_zone(name, zone.zone.name):
        raise OperationError(f"{name} is not in zone {zone.zone.name}")
    wanted = {canonical_value(rdtype, value) for value in values}
    current = zone.get(name, rdtype)
    marker = zone.marker(name, rdtype)
    # The claims of an existing RRset were parsed when the zone was read; reuse them.
    claims, foreign = (
        (current.claims, current.foreign_marker) if current is not None else _claims(marker)
    )
    mine = [c for c in claims if c.owner == owner]
    others = [c for c in claims if c.owner != owner]
    label = f"{rdtype} {name}"
    if current is None and not wanted:
        # Nothing to remove; a claim of ours left on nothing is tidied away.
        if not mine or foreign:
            return ()
        return _marker_change_at(name, rdtype, marker=marker, claims=others, ttl=ttl, reason=reason)
    if foreign or (current is not None and not mine) or (current is None and others):
        holder = ", ".join(sorted({c.owner for c in others})) or (
            "an unreadable marker" if foreign else "nobody"
        )
        raise SafetyRefusal("S4", f"{label} is not owned by {owner} (marked by {holder})", [label])
    if current is None:
        new = Record(name, rdtype, ttl, tuple(wanted))
        unit = (Change.create(new, reason=reason),)
        return unit + _marker_change_at(
            name, rdtype, marker=marker, claims=[Claim(owner)], ttl=ttl, reason=reason
        )
    claim = mine[0]
    if claim.values is None:
        if others:
            holders = ", ".join(c.owner for c in others)
            raise SafetyRefusal("S4", f"{label} is also claimed by {holders}", [label])
        return _whole(
            current.record, marker=marker, claims=claims, wanted=wanted, ttl=ttl, reason=reason
        )
    return _share(
        current.record,
        marker=marker,
        claims=claims,
        owner=owner,
        wanted=wanted,
        ttl=ttl,
        reason=reason,
    )


def _whole(
    current: Record,
    *,
    marker: Record | None,
    claims: tuple[Claim, ...],
    wanted: set[str],
    ttl: int,
    reason: str,
) -> Unit:
    if not wanted:
        return (
            Change.delete(current, reason=reason),
            *_marker_change_at(
                current.name, current.type, marker=marker, claims=[], ttl=ttl, reason=reason
            ),
        )
    new = Record(current.name, current.type, ttl, tuple(wanted))
    if new == current:
        return ()
    marker_unit = _marker_change_at(
        current.name, current.type, marker=marker, claims=list(claims), ttl=ttl, reason=reason
    )
    return (Change.update(current, new, reason=reason), *marker_unit)


def _share(
    current: Record,
    *,
    marker: Record | None,
    claims: tuple[Claim, ...],
    owner: str,
    wanted: set[str],
    ttl: int,
    reason: str,
) -> Unit:
    """A shared RRset: only OWNER's values move; the others' values and the TTL stay."""
    claim = next(c for c in claims if c.owner == owner)
    present = set(current.values)
    theirs = present - set(claim.values or ())
    # A wanted value someone else already publishes stays theirs: taking it over would let
    # a later removal of ours delete their record.
    mine = wanted - theirs
    values = theirs | mine
    keep_ttl = current.ttl if theirs else ttl
    new_claims = [c for c in claims if c.owner != owner]
    if values:
        new_claims.append(Claim(owner, tuple(sorted(mine))))
    record_change: tuple[Change, ...] = ()
    if not values:
        record_change = (Change.delete(current, reason=reason),)
    elif values != present or keep_ttl != current.ttl:
        new = Record(current.name, current.type, keep_ttl, tuple(values))
        record_change = (Change.update(current, new, reason=reason),)
    marker_unit = _marker_change_at(
        current.name, current.type, marker=marker, claims=new_claims, ttl=keep_ttl, reason=reason
    )
    if not record_change and all(c.kind == "update" and c.old == c.new for c in marker_unit):
        return ()
    return record_change + marker_unit


def _marker_change_at(
    name: str,
    rdtype: str,
    *,
    marker: Record | None,
    claims: list[Claim],
    ttl: int,
    reason: str,
) -> Unit:
    """The marker's change to CLAIMS: a create, an exact update (even when unchanged, so that
    the server re-checks ownership as it writes), or a delete when no claim is left."""
    why = f"ownership: {reason}" if reason else "ownership"
    if not claims:
        return (Change.delete(marker, reason=why),) if marker is not None else ()
    texts = [claim.text() for claim in sorted(claims, key=lambda c: c.owner)]
    new = Record(marker_name(name, rdtype), "TXT", ttl, tuple(texts))
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
    """Mark an existing RRset as OWNER's: whole (VALUES None) or a share of the VALUES listed.

    The operator's deliberate act, never the planner's: it writes the ownership record only,
    and refuses (S4) values or RRsets that another owner claims.
    """
    name, rdtype = normalize_name(name), rdtype.upper()
    current = zone.get(name, rdtype)
    if current is None:
        raise NotFoundError(f"no {rdtype} record at {name} to adopt")
    marker = zone.marker(name, rdtype)
    claims, foreign = _claims(marker)
    label = f"{rdtype} {name}"
    if any(c.owner == owner for c in claims):
        return ()
    listed = None if values is None else {canonical_value(rdtype, v) for v in values}
    taken = {v for c in claims for v in (c.values or current.record.values)}
    if foreign or (claims and listed is None) or (listed and listed & taken):
        holders = ", ".join(c.owner for c in claims) or "an unreadable marker"
        raise SafetyRefusal("S4", f"{label} is already claimed by {holders}", [label])
    if listed is not None and not listed <= set(current.record.values):
        missing = ", ".join(sorted(listed - set(current.record.values)))
        raise NotFoundError(f"{label} has no value {missing} to adopt")
    claim = Claim(owner, None if listed is None else tuple(sorted(listed)))
    ttl = current.record.ttl
    return _marker_change_at(
        name, rdtype, marker=marker, claims=[*claims, claim], ttl=ttl, reason=reason
    )


class Registry:
    """A provider seen through ownership records: read with owners, write only what is ours."""

    def __init__(self, provider: Provider[Any], *, owner: str) -> None:
        self.provider = provider
        self.owner = owner

    def read(self) -> OwnedZone:
        return OwnedZone.of(self.provider.read_zone())

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
