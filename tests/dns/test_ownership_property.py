"""Property: whatever the zone and the wish, the registry never touches what is not ours (S4)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eipkeeper.dns.ownership import (
    OwnedZone,
    RRsetClaim,
    is_marker,
    marker_name,
    parse_claim,
    plan_rrset,
)
from eipkeeper.dns.records import Change, Record, Zone
from eipkeeper.errors import SafetyRefusal

ZONE = "example.test"
ME = "mail-prod"
NAMES = [f"h{i}.{ZONE}" for i in range(4)]
POOL = [f"127.0.9.{i}" for i in range(6)]
STATUSES = ["absent", "unowned", "mine", "theirs", "shared", "shared-two", "orphan", "junk"]


@st.composite
def zones(draw: st.DrawFn) -> Zone:
    records: list[Record] = []
    for name in NAMES:
        status = draw(st.sampled_from(STATUSES))
        values = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True))
        ttl = draw(st.sampled_from([60, 300]))
        claims: list[RRsetClaim] = []
        if status == "mine":
            claims = [RRsetClaim(ME)]
        elif status == "theirs":
            claims = [RRsetClaim("web-team")]
        elif status in ("shared", "shared-two"):
            mine = draw(st.lists(st.sampled_from(values), unique=True))
            claims = [RRsetClaim(ME, tuple(sorted(mine)))]
            if status == "shared-two":
                rest = [v for v in values if v not in mine]
                claims.append(RRsetClaim("web-team", tuple(rest[:1])))
        elif status == "orphan":
            claims = [RRsetClaim(draw(st.sampled_from([ME, "web-team"])))]
        if status not in ("absent", "orphan"):
            records.append(Record(name, "A", ttl, values))
        texts = [c.text() for c in claims] + (['"junk"'] if status == "junk" else [])
        if texts:
            records.append(Record(marker_name(name, "A"), "TXT", ttl, texts))
    return Zone(ZONE, 1, tuple(sorted(records, key=lambda r: r.key)))


def my_claim(zone: Zone, name: str) -> tuple[RRsetClaim | None, list[RRsetClaim], bool]:
    """The oracle's own reading of the marker: (my claim, the others', unreadable?)."""
    marker = zone.get(marker_name(name, "A"), "TXT")
    if marker is None:
        return None, [], False
    parsed = [parse_claim(v) for v in marker.values]
    mine = next((c for c in parsed if c is not None and c.owner == ME), None)
    others = [c for c in parsed if c is not None and c.owner != ME]
    return mine, others, any(c is None for c in parsed)


@settings(max_examples=400, deadline=None)
@given(
    zones(),
    st.sampled_from(NAMES),
    st.lists(st.sampled_from(POOL), max_size=3, unique=True),
    st.sampled_from([60, 300, 900]),
)
def test_the_registry_never_changes_what_this_owner_does_not_own(
    zone: Zone, name: str, wanted: list[str], ttl: int
) -> None:
    owned = OwnedZone.of(zone)
    mine, others, junk = my_claim(zone, name)
    current = zone.get(name, "A")
    try:
        unit = plan_rrset(owned, owner=ME, name=name, rdtype="A", ttl=ttl, values=wanted)
    except SafetyRefusal as refusal:
        assert refusal.rule == "S4" and refusal.objects == (f"A {name}",)
        # Refused only when the RRset is not (only) ours, or an unreadable marker guards it.
        assert junk or (current is not None and mine is None) or others
        return
    for change in unit:
        check_change(zone, name, change, mine=mine, others=others)
    record_changes = [c for c in unit if not is_marker(c.record)]
    if record_changes:
        # Ownership travels with the record: the marker is in the same atomic unit.
        assert any(is_marker(c.record) for c in unit)


def check_change(
    zone: Zone, name: str, change: Change, *, mine: RRsetClaim | None, others: list[RRsetClaim]
) -> None:
    if is_marker(change.record):
        assert change.record.name == marker_name(name, "A")
        assert change.old == zone.get(change.record.name, "TXT")  # exactly what was read
        kept = [parse_claim(v) for v in change.new.values] if change.new else []
        for claim in others:
            assert claim in kept  # another owner's claim is never dropped or edited
        return
    assert change.key == (name, "A")
    assert change.old == zone.get(name, "A")  # compare-and-swap against what was read
    if change.old is None:
        assert not others  # a create never lands on a name another owner marked
        return
    assert mine is not None  # the RRset is ours, wholly or in part
    if mine.values is not None:
        theirs = set(change.old.values) - set(mine.values)
        if theirs:
            assert change.new is not None
            assert theirs <= set(change.new.values)  # the others' values stay
            assert change.new.ttl == change.old.ttl  # and so does their TTL


# -- sequences: foreign values survive every plan, byte for byte --------------------------------

MX_NAME = ZONE
MX_POOL = [f"10 h{i}.{ZONE}." for i in range(3)] + ["20 onprem.mail.example.org."]
HAND_A = ["192.0.2.7", "198.51.100.9", *POOL[:2]]
"""What an operator adds by hand: addresses of their own, or one of ours (then it stays ours
only if our claim already lists it)."""


@st.composite
def sequences(draw: st.DrawFn) -> tuple[Zone, list[tuple[str, str, tuple[str, ...], int]]]:
    """A starting zone (as `zones`, with markers eipkeeper writes today: lists) and steps:
    ("plan", name, wanted values, ttl) or ("hand", name, (value,), 0)."""
    start = draw(zones())
    records = [_listed(r, start) if is_marker(r) else r for r in start.records]
    steps = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        name = draw(st.sampled_from([*NAMES, MX_NAME]))
        pool = MX_POOL if name == MX_NAME else POOL
        if draw(st.booleans()):
            wanted = draw(st.lists(st.sampled_from(pool), max_size=3, unique=True))
            steps.append(("plan", name, tuple(wanted), draw(st.sampled_from([60, 300]))))
        else:
            hand = MX_POOL if name == MX_NAME else HAND_A
            steps.append(("hand", name, (draw(st.sampled_from(hand)),), 0))
    return Zone(ZONE, 1, tuple(records)), steps


def _listed(marker: Record, zone: Zone) -> Record:
    """MARKER with a claim of mine that has no list rewritten as eipkeeper writes it today,
    listing the values present (old claims are read by `legacy_reading`, tested on its own)."""
    name = marker.name.split(".", 2)[2]
    record = zone.get(name, "A")
    texts = []
    for text in marker.values:
        claim = parse_claim(text)
        legacy = claim is not None and claim.owner == ME and claim.values is None
        texts.append(RRsetClaim(ME, record.values if record else ()).text() if legacy else text)
    return Record(marker.name, "TXT", marker.ttl, texts)


def rrtype(name: str) -> str:
    return "MX" if name == MX_NAME else "A"


def apply_strictly(zone: Zone, unit: tuple[Change, ...]) -> Zone:
    """Apply UNIT as a server does with RFC 2136 prerequisites: all of it, or a conflict."""
    index = {r.key: r for r in zone.records}
    for change in unit:
        assert index.get(change.key) == change.old, f"compare-and-swap failed: {change}"
        if change.new is None:
            del index[change.key]
        else:
            index[change.key] = change.new
    return Zone(zone.name, zone.serial + 1, tuple(sorted(index.values(), key=lambda r: r.key)))


def add_by_hand(zone: Zone, name: str, value: str) -> Zone:
    """`nsupdate`: `update add NAME TTL TYPE VALUE`: the RRset's TTL stays, markers untouched."""
    index = {r.key: r for r in zone.records}
    current = index.get((name, rrtype(name)))
    ttl = current.ttl if current else 300
    index[(name, rrtype(name))] = Record(
        name, rrtype(name), ttl, [*(current.values if current else ()), value]
    )
    return Zone(zone.name, zone.serial + 1, tuple(sorted(index.values(), key=lambda r: r.key)))


def foreign_values(zone: Zone) -> dict[tuple[str, str], set[str]]:
    """Every value of the zone this owner does not manage, by RRset."""
    owned = OwnedZone.of(zone)
    return {
        o.record.key: {v for v in o.record.values if o.foreign_marker or o.owner_of(v) != ME}
        for o in owned.records
    }


def others_claims(zone: Zone) -> dict[str, list[str]]:
    """The claim texts of other owners (and unreadable ones), marker by marker."""
    found = {}
    for record in zone.records:
        if is_marker(record):
            texts = [v for v in record.values if (c := parse_claim(v)) is None or c.owner != ME]
            found[record.name] = texts
    return found


@settings(max_examples=300, deadline=None)
@given(sequences())
def test_foreign_values_are_byte_identical_after_any_sequence_of_plans(
    case: tuple[Zone, list[tuple[str, str, tuple[str, ...], int]]],
) -> None:
    zone, steps = case
    for kind, name, values, ttl in steps:
        before = foreign_values(zone)
        claims_before = others_claims(zone)
        if kind == "hand":
            zone = add_by_hand(zone, name, values[0])
            continue
        try:
            unit = plan_rrset(
                OwnedZone.of(zone), owner=ME, name=name, rdtype=rrtype(name), ttl=ttl, values=values
            )
        except SafetyRefusal as refusal:
            assert refusal.rule == "S4"
            continue
        after_zone = apply_strictly(zone, unit)
        after = foreign_values(after_zone)
        for key, theirs in before.items():
            if not theirs:
                continue
            record = after_zone.get(*key)
            assert record is not None, f"{key} with values of others was deleted"
            # Byte-identical: the same canonical text, and the RRset's TTL is theirs too.
            assert theirs <= set(record.values), f"{key} lost {theirs - set(record.values)}"
            assert theirs <= after.get(key, set()), f"{key}: {theirs} became ours"
            assert record.ttl == zone.get(*key).ttl  # type: ignore[union-attr]
        for marker, texts in claims_before.items():
            kept = others_claims(after_zone).get(marker)
            if texts:
                assert kept == texts, f"another owner's claim at {marker} was edited"
        zone = after_zone
